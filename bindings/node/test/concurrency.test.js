'use strict';
// Concurrency and the event loop: single flight across 10,000 callers, 10,000 queued hook
// requests while the JS thread is busy (docs/c-abi.md P2), no blocking of the event loop, and every API with
// slow callbacks from the main thread (docs/c-abi.md P1).

const test = require('node:test');
const assert = require('node:assert/strict');
const sa = require('..');
const { useEmulator, fakeJwt, sameSecret, differentSecret } = require('./helpers');

const emu = useEmulator(sa);

const N = 10000;

function busy(ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // keep the JS thread busy: nothing else can run on it
  }
}

test(`${N} concurrent getToken() on an expired token: exactly one upstream request`, async (t) => {
  await emu.config({ tokenTtlSecs: 2 });
  const s = sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, { baseUrl: emu.url }).data;
  t.after(() => s.close());
  const first = await s.getToken();
  assert.ok(first.data);
  // Let the token expire for real (short emulator TTL).
  const waitMs = first.data.expiresAt * 1000 - Date.now() + 150;
  await new Promise((r) => setTimeout(r, Math.max(0, waitMs)));
  assert.ok(Date.now() / 1000 >= first.data.expiresAt, 'the token has expired');
  // The replacement lives long, so no caller below finds it stale (that would start a second,
  // legitimate background refresh).
  await emu.config({ tokenTtlSecs: 900 });
  await emu.clearRequests();

  const ps = new Array(N);
  for (let i = 0; i < N; i++) ps[i] = s.getToken();
  const rs = await Promise.all(ps);
  const tokens = new Set();
  for (const r of rs) {
    assert.ok(r.data, r.failure && r.failure.error.message);
    tokens.add(r.data.token);
  }
  assert.equal(tokens.size, 1, 'every caller got the same new token');
  assert.ok(!tokens.has(first.data.token), 'not the expired one');
  const reqs = await emu.requests('/api/authorise');
  assert.equal(reqs.length, 1, `upstream requests: ${reqs.length}`);
  s.close();
});

test(`${N} concurrent getToken() on a cold strategy: exactly one upstream request`, async (t) => {
  const s = sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, { baseUrl: emu.url }).data;
  t.after(() => s.close());
  const rs = await Promise.all(Array.from({ length: N }, () => s.getToken()));
  assert.equal(new Set(rs.map((r) => r.data.token)).size, 1);
  assert.equal((await emu.requests('/api/authorise')).length, 1);
  s.close();
});

test(`P2: ${N} hook requests queued while the JS thread is busy for 1 s: none lost, no deadlock`, async () => {
  const jwt = (await emu.mintToken({ subject: 'CS|p2' })).accessToken;
  let calls = 0;
  const strategies = [];
  for (let i = 0; i < N; i++) {
    strategies.push(
      sa.AuthStrategyFn.create(
        () => {
          calls++;
          return i % 2 ? jwt : Promise.resolve(jwt);
        },
        { timeoutMs: 60000 },
      ).data,
    );
  }
  const ps = strategies.map((s) => s.getToken());
  busy(1000); // every hook request now waits in the tsfn queue
  const rs = await Promise.all(ps);
  assert.equal(calls, N, 'every hook request reached JS');
  for (const r of rs) sameSecret(r.data && r.data.token, jwt, 'tokens differ');
  for (const s of strategies) s.close();
});

test('the event loop keeps turning while getToken() waits on a slow token service', async (t) => {
  await emu.fault({ path: '/api/authorise', delayMs: 1200, count: 1 });
  const s = sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, { baseUrl: emu.url }).data;
  t.after(() => s.close());
  let ticks = 0;
  let maxGap = 0;
  let last = Date.now();
  const iv = setInterval(() => {
    const now = Date.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
    ticks++;
  }, 10);
  const t0 = Date.now();
  const r = await s.getToken();
  clearInterval(iv);
  assert.ok(r.data);
  assert.ok(Date.now() - t0 >= 1100, 'it did wait for the slow service');
  assert.ok(ticks >= 40, `timers ran while waiting (${ticks} ticks)`);
  assert.ok(maxGap < 300, `no long stall of the event loop (max gap ${maxGap} ms)`);
  s.close();
});

test('P1: every API with callbacks that answer after 200 ms, from the main thread, within 5 s', async () => {
  const jwt = (await emu.mintToken({ subject: 'CS|p1' })).accessToken;
  const later = (v) => new Promise((r) => setTimeout(() => r(v), 200));
  const saved = new Map();
  const slowStore = (key) => ({
    load: () => later(saved.get(key) ?? null),
    save: (json) => later(undefined).then(() => saved.set(key, json)),
  });
  const strategies = [
    sa.AuthStrategyFn.create(() => later(jwt)).data,
    sa.OidcFederationStrategy.create(emu.workspaceCrn, () => later(fakeJwt('p1')), emu.url).data,
    sa.OidcFederationStrategy.createWithStore(
      emu.workspaceCrn,
      () => later(fakeJwt('p1-store')),
      () => later(saved.get('oidc') ?? null),
      (json) => later(undefined).then(() => saved.set('oidc', json)),
      emu.url,
    ).data,
    sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, { baseUrl: emu.url, store: slowStore('ak') }).data,
    sa.AutoStrategy.detect({
      accessKey: emu.accessKey,
      workspaceCrn: emu.workspaceCrn,
      baseUrl: emu.url,
      store: sa.TokenStoreFn.create(slowStore('auto')).data,
    }).data,
  ];
  const t0 = Date.now();
  const timeout = new Promise((_, rej) => setTimeout(() => rej(new Error('P1: not done within 5 s')), 5000).unref());
  const rs = await Promise.race([Promise.all(strategies.map((s) => s.getToken())), timeout]);
  for (const r of rs) assert.ok(r.data, r.failure && r.failure.error.message);
  assert.ok(Date.now() - t0 >= 200, 'the callbacks really were slow');
  for (const s of strategies) s.close();
});

test('a stale token is served at once while one background refresh runs', async (t) => {
  await emu.config({ tokenTtlSecs: 4 });
  const s = sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, { baseUrl: emu.url }).data;
  t.after(() => s.close());
  const first = (await s.getToken()).data;
  // Inside the refresh window (half of a 4 s lifetime) but not expired.
  await new Promise((r) => setTimeout(r, Math.max(0, (first.expiresAt - 1.5) * 1000 - Date.now())));
  assert.ok(Date.now() / 1000 < first.expiresAt);
  await emu.clearRequests();
  await emu.fault({ path: '/api/authorise', delayMs: 3000, count: 1 });
  const t0 = Date.now();
  const rs = await Promise.all(Array.from({ length: 100 }, () => s.getToken()));
  assert.ok(Date.now() - t0 < 2500, 'nobody waited for the 3 s refresh');
  for (const r of rs) sameSecret(r.data.token, first.token, 'tokens differ');
  // The one background refresh lands: the next call has the new token.
  let next;
  const until = Date.now() + 8000;
  do {
    await new Promise((r) => setTimeout(r, 50));
    next = (await s.getToken()).data;
  } while (next.token === first.token && Date.now() < until);
  differentSecret(next.token, first.token, 'tokens are the same');
  assert.equal((await emu.requests('/api/authorise')).length, 1);
  s.close();
});
