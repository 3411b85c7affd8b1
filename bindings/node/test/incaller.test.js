'use strict';
// User functions run in the caller's JS context (docs/architecture.md D4): an OIDC getJwt and an
// AuthStrategyFn are called on getToken's own thread and async context, a cached OIDC token
// never leaves the JS thread, a JWT passed by the caller never calls getJwt, and a callback's
// error is the failure's cause.

const test = require('node:test');
const assert = require('node:assert/strict');
const { AsyncLocalStorage } = require('node:async_hooks');
const sa = require('..');
const { useEmulator, fakeJwt, sameSecret, differentSecret } = require('./helpers');

const emu = useEmulator(sa);

test('OIDC: a cached token is answered on the JS thread (no library wait is started)', async () => {
  let calls = 0;
  const s = sa.OidcFederationStrategy.create(emu.workspaceCrn, () => (calls++, fakeJwt('cached-user')), emu.url).data;
  const first = s.getToken();
  assert.equal(sa._debug.counters().pending, 1, 'the first call waits for the exchange');
  const a = await first;
  const again = s.getToken();
  assert.equal(sa._debug.counters().pending, 0, 'a cached token starts no library wait');
  sameSecret((await again).data.token, a.data.token, 'tokens differ');
  assert.equal(calls, 2, 'getJwt is asked on every call');
  assert.equal((await emu.requests('/api/authorise')).length, 1);
  s.close();
});

test('OIDC getToken({ jwt }): the caller\'s JWT, getJwt never called; one exchange per JWT', async () => {
  let calls = 0;
  const s = sa.OidcFederationStrategy.create(emu.workspaceCrn, () => (calls++, fakeJwt('provider')), emu.url).data;
  const [a1, b1] = await Promise.all([s.getToken({ jwt: fakeJwt('tenant-a') }), s.getToken({ jwt: fakeJwt('tenant-b') })]);
  const a2 = s.getToken({ jwt: fakeJwt('tenant-a') });
  assert.equal(sa._debug.counters().pending, 0, 'cached: no library wait');
  sameSecret((await a2).data.token, a1.data.token, 'same JWT, same token');
  differentSecret(b1.data.token, a1.data.token, 'tenants share a token');
  assert.equal(calls, 0);
  assert.equal((await emu.requests('/api/authorise')).length, 2);
  // Without getJwt, only passed JWTs work.
  const t = sa.OidcFederationStrategy.create(emu.workspaceCrn, null, emu.url).data;
  assert.ok((await t.getToken({ jwt: fakeJwt('tenant-c') })).data);
  assert.equal((await t.getToken()).failure.code, 'INVALID_ARGUMENT');
  await assert.rejects(t.getToken({ jwt: 42 }), TypeError);
  // An empty JWT is sent, as a getJwt's empty answer is (upstream): the server's answer.
  assert.equal((await t.getToken({ jwt: '' })).failure.type, 'SERVER_ERROR');
  s.close();
  t.close();
});

test('getJwt and AuthStrategyFn see the caller\'s AsyncLocalStorage context', async () => {
  const als = new AsyncLocalStorage();
  const seen = [];
  const s = sa.OidcFederationStrategy.create(
    emu.workspaceCrn,
    async () => {
      await null;
      seen.push(als.getStore());
      return fakeJwt(`als-${als.getStore()}`);
    },
    emu.url,
  ).data;
  const f = sa.AuthStrategyFn.create(() => {
    seen.push(als.getStore());
    return fakeJwt('fn');
  }).data;
  const g = sa.AuthStrategyFn.create(async () => {
    seen.push(als.getStore());
    return fakeJwt('fn-async');
  }).data;
  await Promise.all([
    als.run('req-1', () => s.getToken()),
    als.run('req-2', () => s.getToken()),
    als.run('req-3', () => f.getToken()),
    als.run('req-4', () => g.getToken()),
  ]);
  assert.deepEqual(seen.sort(), ['req-1', 'req-2', 'req-3', 'req-4']);
  s.close();
  f.close();
  g.close();
});

test('a failing callback is the failure\'s cause', async () => {
  const boom = new RangeError('vault sealed');
  const f = sa.AuthStrategyFn.create(() => {
    throw boom;
  }).data;
  const r = await f.getToken();
  assert.equal(r.failure.type, 'CUSTOM');
  assert.equal(r.failure.error.cause, boom);
  const late = new Error('late boom');
  const g = sa.AuthStrategyFn.create(async () => {
    throw late;
  }).data;
  const rg = await g.getToken();
  assert.equal(rg.failure.type, 'CUSTOM');
  assert.equal(rg.failure.error.cause, late);
  const o = sa.OidcFederationStrategy.create(emu.workspaceCrn, async () => {
    throw late;
  }, emu.url).data;
  const ro = await o.getToken();
  assert.equal(ro.failure.error.cause, late);
  f.close();
  g.close();
  o.close();
});

test('onEvent: the engine\'s events on the JS thread, never a secret; a throwing handler is a warning', async () => {
  const events = [];
  let wake = null;
  const s = sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, {
    baseUrl: emu.url,
    onEvent: (e) => {
      events.push(e);
      if (wake) wake();
    },
  }).data;
  const next = (n) => new Promise((res) => {
    wake = () => events.length >= n && res();
    wake();
  });
  const r = await s.getToken();
  await next(2);
  assert.deepEqual(events.slice(0, 2).map((e) => e.kind), ['refresh_started', 'refresh_succeeded']);
  assert.equal(s.invalidate(r.data.token).data, true);
  await next(3);
  assert.equal(events[2].kind, 'token_invalidated');
  for (const e of events) assert.ok(!JSON.stringify(e).includes(r.data.token));
  s.close();

  const warned = new Promise((res) => process.once('warning', res));
  const t = sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, {
    baseUrl: emu.url,
    onEvent: () => {
      throw new RangeError('handler bug');
    },
  }).data;
  await t.getToken();
  const w = await warned;
  assert.equal(w.name, 'StackAuthWarning');
  assert.ok(w.cause instanceof RangeError);
  t.close();
  assert.throws(() => sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, { onEvent: 42 }), TypeError);
});
