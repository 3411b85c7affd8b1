'use strict';
// JS callbacks (AuthStrategyFn, OIDC getJwt, store load/save): sync, async, throwing,
// rejecting, late, never settling. A failure is always a typed failure, never a token (docs/c-abi.md P5).

const test = require('node:test');
const assert = require('node:assert/strict');
const sa = require('..');
const { useEmulator, fakeJwt, deferred, sameSecret, differentSecret } = require('./helpers');

let jwt;
const emu = useEmulator(sa, {
  ready: async (e) => {
    jwt = (await e.mintToken({ subject: 'CS|cb-user' })).accessToken;
  },
});

function fnStrategy(fn, opts) {
  const r = sa.AuthStrategyFn.create(fn, opts);
  assert.ok(r.data, r.failure && r.failure.error.message);
  return r.data;
}

function assertCallbackFailure(r, type, re) {
  assert.equal(r.data, undefined, 'never a token');
  assert.ok(r.failure, 'a failure');
  assert.equal(r.failure.code, type);
  assert.equal(r.failure.type, sa.upstreamType(type));
  assert.ok(r.failure.error instanceof Error);
  assert.equal(r.failure.error.code, type);
  if (re) assert.match(r.failure.error.message, re);
}

test('AuthStrategyFn that throws synchronously: CUSTOM failure with the class name and message', async () => {
  const s = fnStrategy(() => {
    throw new TypeError('sync boom');
  });
  assertCallbackFailure(await s.getToken(), 'CUSTOM', /TypeError: sync boom/);
  s.close();
});

test('AuthStrategyFn whose promise rejects: CUSTOM failure', async () => {
  const s = fnStrategy(async () => {
    await new Promise((r) => setImmediate(r));
    throw new RangeError('async boom');
  });
  assertCallbackFailure(await s.getToken(), 'CUSTOM', /RangeError: async boom/);
  s.close();
});

test('a thrown error with a stack-auth code keeps its code', async () => {
  const s = fnStrategy(() => {
    const e = new Error('log in first');
    e.code = 'NOT_AUTHENTICATED';
    throw e;
  });
  // NOT_AUTHENTICATED has a fixed message in the engine (core FromErrorCode): the code is kept.
  assertCallbackFailure(await s.getToken(), 'NOT_AUTHENTICATED', /Not authenticated/);
  s.close();
  const t = fnStrategy(async () => {
    const e = new Error('the store is down');
    e.code = 'STORE_ERROR';
    throw e;
  });
  assertCallbackFailure(await t.getToken(), 'STORE_ERROR', /the store is down/);
  t.close();
});

test('throwing non-Errors, rejecting with undefined, a throwing then-getter', async () => {
  const cases = [
    () => {
      throw 'a string'; // eslint-disable-line no-throw-literal
    },
    () => Promise.reject(undefined),
    () => ({
      get then() {
        throw new Error('then getter');
      },
    }),
    () => ({ then: (_ok, bad) => bad(new Error('thenable rejects')) }),
  ];
  for (const fn of cases) {
    const s = fnStrategy(fn);
    assertCallbackFailure(await s.getToken(), 'CUSTOM');
    s.close();
  }
});

test('AuthStrategyFn returning a non-string or an empty string: a failure, never a token', async () => {
  for (const value of [42, null, undefined, { token: 'x' }, '']) {
    const s = fnStrategy(async () => value);
    const r = await s.getToken();
    assert.equal(r.data, undefined, `value ${String(value)}`);
    assert.equal(r.failure.type, 'CUSTOM');
    s.close();
  }
});

test('AuthStrategyFn returning a value over the library limit (16 MiB): a failure at once, not a timeout', async () => {
  const huge = 'x'.repeat((16 << 20) + 1);
  const s = fnStrategy(() => huge, { timeoutMs: 20000 });
  const t0 = Date.now();
  assertCallbackFailure(await s.getToken(), 'CUSTOM', /too long/);
  assert.ok(Date.now() - t0 < 5000);
  s.close();
});

test('AuthStrategyFn resolving late (after 200 ms) still gives the token; a thenable works', async () => {
  const s = fnStrategy(() => new Promise((r) => setTimeout(() => r(jwt), 200)));
  const t0 = Date.now();
  const r = await s.getToken();
  sameSecret(r.data.token, jwt, 'tokens differ');
  assert.ok(Date.now() - t0 >= 150);
  s.close();
  const t = fnStrategy(() => ({ then: (ok) => ok(jwt) }));
  sameSecret((await t.getToken()).data.token, jwt, 'tokens differ');
  t.close();
});

test('AuthStrategyFn resolving after timeoutMs: TIMEOUT; its late answer is ignored', async () => {
  const late = deferred();
  const s = fnStrategy(() => late.promise, { timeoutMs: 200 });
  const r = await s.getToken();
  assertCallbackFailure(r, 'TIMEOUT');
  late.resolve(jwt); // completes a request that already timed out: ignored, no crash
  await new Promise((res) => setImmediate(res));
  s.close();
});

test('AuthStrategyFn that never settles: TIMEOUT within the hook timeout', async () => {
  const s = fnStrategy(() => new Promise(() => {}), { timeoutMs: 250 });
  const t0 = Date.now();
  assertCallbackFailure(await s.getToken(), 'TIMEOUT');
  assert.ok(Date.now() - t0 < 5000);
  s.close();
});

test('concurrent getToken on an AuthStrategyFn share one call of fn', async () => {
  let calls = 0;
  const gate = deferred();
  const s = fnStrategy(() => {
    calls++;
    return gate.promise;
  });
  const ps = Array.from({ length: 50 }, () => s.getToken());
  await new Promise((r) => setTimeout(r, 50)); // let the first hook call reach JS
  gate.resolve(jwt);
  const rs = await Promise.all(ps);
  for (const r of rs) sameSecret(r.data.token, jwt, 'tokens differ');
  assert.equal(calls, 1);
  s.close();
});

test('OIDC getJwt that throws or rejects: SERVER_ERROR as upstream, no exchange', async () => {
  for (const getJwt of [
    () => {
      throw new Error('no session');
    },
    async () => {
      throw new Error('no session (async)');
    },
  ]) {
    await emu.clearRequests();
    const s = sa.OidcFederationStrategy.create(emu.workspaceCrn, getJwt, emu.url).data;
    assertCallbackFailure(await s.getToken(), 'SERVER_ERROR', /getJwt callback rejected: no session/);
    assert.equal((await emu.requests('/api/authorise')).length, 0);
    s.close();
  }
});

test('OIDC: each distinct JWT is exchanged once and cached', async () => {
  let n = 0;
  const s = sa.OidcFederationStrategy.create(emu.workspaceCrn, () => fakeJwt(`u${n}`), emu.url).data;
  const a = await s.getToken();
  const b = await s.getToken();
  sameSecret(a.data.token, b.data.token, 'tokens differ');
  n = 1;
  const c = await s.getToken();
  differentSecret(c.data.token, a.data.token, 'tokens are the same');
  assert.equal((await emu.requests('/api/authorise')).length, 2);
  s.close();
});

test('store load that throws or rejects: a cache miss; save that rejects: ignored; the library logs both, in its words', async (t) => {
  const warnings = [];
  t.mock.method(console, 'warn', (msg) => warnings.push(String(msg)));
  const store = {
    load() {
      throw new Error('load exploded');
    },
    async save() {
      throw new Error('save exploded');
    },
  };
  const s = sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, { baseUrl: emu.url, store }).data;
  const r = await s.getToken();
  assert.ok(r.data, 'the store failing does not fail getToken');
  assert.equal((await emu.requests('/api/authorise')).length, 1);
  assert.equal(await sa.flush(), true); // the save has failed by now; its log line is on its way
  const t0 = Date.now();
  while (warnings.length < 2 && Date.now() - t0 < 5000) await new Promise((res) => setTimeout(res, 10));
  assert.deepEqual(warnings, [
    'stack-auth: token store load failed error=Error: load exploded',
    'stack-auth: token store save failed error=Error: save exploded',
  ]);
  for (const w of warnings) assert.ok(!w.includes(r.data.token), 'no token in logs');
  s.close();
});

test('setLogHandler(fn): the library\'s lines go to fn with their level; null restores console.warn', async (t) => {
  const warnings = [];
  t.mock.method(console, 'warn', (msg) => warnings.push(String(msg)));
  const lines = [];
  sa.setLogHandler((level, message) => lines.push([level, message]));
  try {
    const store = { load: () => Promise.reject(new Error('disk gone')), save: () => {} };
    const s = sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, { baseUrl: emu.url, store }).data;
    assert.ok((await s.getToken()).data);
    const t0 = Date.now();
    while (lines.length < 1 && Date.now() - t0 < 5000) await new Promise((res) => setTimeout(res, 10));
    assert.deepEqual(lines, [['warn', 'token store load failed error=Error: disk gone']]);
    assert.deepEqual(warnings, []);
    s.close();
  } finally {
    sa.setLogHandler(null);
  }
  assert.throws(() => sa.setLogHandler('x'), TypeError);
});

test('store load returning garbage is a miss; a store with only load works', async (t) => {
  t.mock.method(console, 'warn', () => {});
  for (const load of [() => 'not json', () => 42, async () => '{"nope":1}']) {
    await emu.clearRequests();
    const s = sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, { baseUrl: emu.url, store: { load } }).data;
    assert.ok((await s.getToken()).data);
    assert.equal((await emu.requests('/api/authorise')).length, 1);
    s.close();
  }
});

test('store callbacks receive the token JSON and are called with the store as this', async () => {
  const seen = [];
  const store = {
    saved: null,
    load() {
      seen.push(['load', this === store]);
      return this.saved;
    },
    save(json) {
      seen.push(['save', this === store]);
      this.saved = json;
    },
  };
  const s = sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, { baseUrl: emu.url, store }).data;
  const r = await s.getToken();
  assert.equal(await sa.flush(), true); // the save follows the token (docs/architecture.md D3)
  const saved = JSON.parse(store.saved);
  assert.equal(typeof saved, 'object');
  assert.ok(JSON.stringify(saved).includes(r.data.token), 'the saved JSON holds the token');
  assert.deepEqual(seen, [
    ['load', true],
    ['save', true],
  ]);
  s.close();
});

test('a store hook that never settles times out (timeoutMs) and the strategy still gets a token', async () => {
  const store = sa.TokenStoreFn.create({ load: () => new Promise(() => {}), save: () => {} }, { timeoutMs: 200 }).data;
  const s = sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, { baseUrl: emu.url, store }).data;
  const r = await s.getToken();
  assert.ok(r.data, r.failure && r.failure.error.message);
  s.close();
});
