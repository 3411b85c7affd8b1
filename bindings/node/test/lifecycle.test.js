'use strict';
// Process and object lifetime: the process exits by itself (docs/c-abi.md P3), process.exit with pending
// requests, worker threads terminated mid-refresh (docs/c-abi.md P4), GC before callbacks fire (docs/c-abi.md P6), hooks
// destroyed exactly once, environment changes after load (docs/c-abi.md P27), no leaked handles.

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const sa = require('..');
const { useEmulator, runNode, cleanEnv, tmpDir, until, deferred, sameSecret } = require('./helpers');

const FIX = path.join(__dirname, 'fixtures');

// node --test is run with --expose-gc by test.sh; fall back for a plain `node --test`.
function getGc() {
  if (typeof global.gc === 'function') return global.gc;
  require('node:v8').setFlagsFromString('--expose-gc');
  return require('node:vm').runInNewContext('gc');
}
const gc = getGc();

async function collect() {
  // Finalizers of wrapped objects run after a GC, from the event loop.
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
}

let emuEnv;
const emu = useEmulator(null, {
  ready: (e) => {
    emuEnv = { SA_EMU: JSON.stringify({ url: e.url, workspaceCrn: e.workspaceCrn, accessKey: e.accessKey }) };
  },
});

test('P3: a child process exits by itself, code 0, within 5 s, after one getToken()', async () => {
  for (const mode of ['access-key', 'hooks']) {
    const r = await runNode([path.join(FIX, 'one-token.js'), mode], { env: cleanEnv(emuEnv), timeoutMs: 15000 });
    assert.equal(r.signal, null, `${mode}: killed (${r.stderr})`);
    assert.equal(r.code, 0, `${mode}: ${r.stderr}`);
    assert.ok(r.ms < 5000, `${mode}: took ${r.ms} ms`);
    assert.match(r.stdout, /^subject CS\|CSAK/);
  }
});

test('a pending request keeps the process alive until it completes (tsfn referenced meanwhile)', async () => {
  await emu.fault({ path: '/api/authorise', delayMs: 1500, count: 1 });
  const r = await runNode([path.join(FIX, 'one-token.js')], { env: cleanEnv(emuEnv), timeoutMs: 15000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^subject /, 'the result was delivered before exit');
  assert.ok(r.ms >= 1400, `exited after ${r.ms} ms, before the slow answer`);
});

test('process.exit() with requests pending: the requested exit code, no crash', async () => {
  await emu.fault({ path: '/api/authorise', delayMs: 2000, count: 1 });
  const r = await runNode([path.join(FIX, 'exit-pending.js')], { env: cleanEnv(emuEnv), timeoutMs: 15000 });
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.code, 7, r.stderr);
});

test('P27: CS_* set after the library is loaded are honoured by AutoStrategy.detect()', async () => {
  const r = await runNode([path.join(FIX, 'p27.js')], {
    env: cleanEnv({ ...emuEnv, SA_EMPTY_DIR: tmpDir() }),
    timeoutMs: 15000,
  });
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.abi, 1);
  assert.equal(out.before, 'NOT_AUTHENTICATED', 'nothing configured before');
  assert.equal(out.failure, undefined);
  assert.equal(out.workspaceId, emu.workspaceId);
  assert.equal(out.issuer, emu.url, 'CS_CTS_HOST set after load was used');
});

test('P4: worker threads: a worker gets a token; 4 workers terminated mid-refresh; no crash, no leak', async () => {
  // Every token request is slow: the terminated workers have theirs in flight.
  await emu.fault({ path: '/api/authorise', delayMs: 1500, count: 0 });
  const r = await runNode([path.join(FIX, 'workers.js')], { env: cleanEnv(emuEnv), timeoutMs: 30000 });
  assert.equal(r.signal, null, `crashed: ${r.stderr}`);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.match(out.worker.subject, /^CS\|CSAK/, 'a worker got its own token');
  assert.equal(out.terminated, 4);
  assert.match(out.main, /^CS\|CSAK/, 'the main thread still works');
  assert.equal(out.live, 0, 'every library handle was released');
});

test('P4: a worker calling process.exit() with a request pending ends only itself', async () => {
  await emu.fault({ path: '/api/authorise', delayMs: 1000, count: 1 });
  const r = await runNode([path.join(FIX, 'worker-exit.js')], { env: cleanEnv(emuEnv), timeoutMs: 15000 });
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /worker exit 3/);
});

test('P6: store and hook objects dropped and GC forced before the callbacks fire', async () => {
  let loads = 0;
  let saves = 0;
  // Nothing but the library holds the store object and its functions.
  let s = sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, {
    baseUrl: emu.url,
    store: {
      load: async () => {
        loads++;
        return null;
      },
      save: (json) => {
        saves += json.length > 0 ? 1 : 0;
      },
    },
  }).data;
  await collect();
  const r = await s.getToken();
  assert.ok(r.data);
  assert.equal(loads, 1);
  await until(() => saves === 1, 5000, 'save');

  // A strategy dropped while its getToken() is pending, GC forced before the hook runs.
  const jwt = (await emu.mintToken({})).accessToken;
  const gate = deferred();
  let called = 0;
  let p = sa.AuthStrategyFn.create(() => {
    called++;
    return gate.promise;
  }).data.getToken();
  await collect();
  gate.resolve(jwt);
  const t = await p;
  sameSecret(t.data && t.data.token, jwt, 'the dropped strategy still answered');
  assert.equal(called, 1);

  // A strategy dropped while the token service is slow.
  await emu.fault({ path: '/api/authorise', delayMs: 500, count: 1 });
  p = sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, { baseUrl: emu.url }).data.getToken();
  await collect();
  assert.ok((await p).data, 'kept alive while pending');
  s = null;
});

test('P6: a hook is destroyed exactly once: on close(), or on GC of a dropped strategy', async () => {
  // The counters are process-wide: first let every hook of earlier tests be collected.
  await until(
    async () => {
      await collect();
      const c = sa._debug.counters();
      return c.hooksCreated === c.hooksDestroyed;
    },
    10000,
    'earlier hooks destroyed',
  );
  const c0 = sa._debug.counters();
  const s = sa.AuthStrategyFn.create(() => 'a.b.c').data;
  assert.equal(sa._debug.counters().hooksCreated, c0.hooksCreated + 1);
  s.close();
  await until(() => sa._debug.counters().hooksDestroyed === c0.hooksDestroyed + 1, 5000, 'destroy after close');
  s.close();
  await collect();
  assert.equal(sa._debug.counters().hooksDestroyed, c0.hooksDestroyed + 1, 'not destroyed twice');

  const c1 = sa._debug.counters();
  (() => {
    sa.AuthStrategyFn.create(() => 'x.y.z'); // an OIDC getJwt runs in JS: no library hook
    sa.TokenStoreFn.create({ load: () => null, save: () => {} });
  })();
  assert.equal(sa._debug.counters().hooksCreated, c1.hooksCreated + 2);
  await until(
    async () => {
      await collect();
      return sa._debug.counters().hooksDestroyed === c1.hooksDestroyed + 2;
    },
    10000,
    'destroy after GC',
  );
  await collect();
  assert.equal(sa._debug.counters().hooksDestroyed, c1.hooksDestroyed + 2);
});

test('a store shared by two strategies lives as long as either uses it', async () => {
  let loads = 0;
  const mem = { v: null };
  const store = sa.TokenStoreFn.create({
    load: () => {
      loads++;
      return mem.v;
    },
    save: (j) => {
      mem.v = j;
    },
  }).data;
  const a = sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, { baseUrl: emu.url, store }).data;
  const b = sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, { baseUrl: emu.url, store }).data;
  store.close(); // the handle only: the strategies keep the store
  a.close();
  await collect();
  assert.ok((await b.getToken()).data);
  assert.ok(loads >= 1, 'b still reaches the store callbacks');
  b.close();
});

test('no leaks: every library handle is released once objects are closed or collected', async () => {
  await collect();
  await until(
    async () => {
      await collect();
      return sa._debug.liveObjects() === 0;
    },
    10000,
    'sa_debug_live_objects() == 0',
  );
  assert.equal(sa._debug.counters().pending, 0);
});
