'use strict';
// Every export of the package, against a real emulator: shapes, Results, token data.

const test = require('node:test');
const assert = require('node:assert/strict');
const util = require('node:util');
const sa = require('..');
const { useEmulator, clearCsEnv, tmpDir, fakeJwt, deferred, sameSecret, differentSecret } = require('./helpers');

const emu = useEmulator(sa);

function assertToken(data, workspaceId) {
  assert.equal(typeof data.token, 'string');
  assert.equal(data.token.split('.').length, 3, 'a JWT');
  assert.equal(typeof data.subject, 'string');
  assert.equal(data.workspaceId, workspaceId);
  assert.equal(data.issuer, emu.url);
  assert.deepEqual({ ...data.services }, { zerokms: emu.zerokmsUrl });
  assert.equal(typeof data.expiresAt, 'number');
  assert.ok(data.expiresAt > Date.now() / 1000, 'expires in the future');
  assert.deepEqual(Object.keys(data).sort(), ['expiresAt', 'issuer', 'services', 'subject', 'token', 'workspaceId']);
}

test('exports: upstream 0.42 names plus the additions', () => {
  for (const name of [
    'AutoStrategy',
    'AccessKeyStrategy',
    'DeviceSessionStrategy',
    'OAuthStrategy',
    'OidcFederationStrategy',
    'DeviceCodeResult',
    'beginDeviceCodeFlow',
    'bindClientDevice',
    'beginDeviceCodeFlowWithBaseUrl',
    'bindClientDeviceWithProfileDir',
    'AuthStrategyFn',
    'TokenStoreFn',
    'InMemoryTokenStore',
    'StaticTokenStrategy',
    'openTokenStore',
    'NativeTokenStore',
    'AuthError',
  ]) {
    assert.equal(typeof sa[name], 'function', name);
  }
  assert.equal(sa.OAuthStrategy, sa.DeviceSessionStrategy, 'deprecated alias');
  assert.equal(typeof sa.AutoStrategy.detect, 'function');
  assert.equal(typeof sa.AccessKeyStrategy.create, 'function');
  assert.equal(typeof sa.DeviceSessionStrategy.fromProfile, 'function');
  assert.equal(typeof sa.OidcFederationStrategy.create, 'function');
  assert.equal(typeof sa.OidcFederationStrategy.createWithStore, 'function');
  assert.throws(() => new sa.AccessKeyStrategy(), TypeError, 'factories only');
});

test('libraryInfo: the loaded library, ABI 1', () => {
  const info = sa.libraryInfo();
  assert.equal(info.abi, 1);
  assert.match(info.version, /^\d+\.\d+\.\d+$/);
  assert.match(info.build, /^stack-auth /);
});

test('AccessKeyStrategy.create is sync and returns { data }; getToken resolves { data: token }', async () => {
  const created = sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, { baseUrl: emu.url });
  assert.ok(!(created instanceof Promise));
  assert.equal(created.failure, undefined);
  assert.ok(created.data instanceof sa.AccessKeyStrategy);
  const p = created.data.getToken();
  assert.ok(p instanceof Promise);
  const r = await p;
  assert.equal(r.failure, undefined);
  assertToken(r.data, emu.workspaceId);
  assert.match(r.data.subject, /^CS\|CSAK/);
  created.data.close();
});

test('a cached token: same token, fresh objects, one upstream request', async () => {
  const s = sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, { baseUrl: emu.url }).data;
  const a = await s.getToken();
  const b = await s.getToken();
  const c = await s.getToken();
  sameSecret(a.data.token, b.data.token, 'tokens differ');
  sameSecret(b.data.token, c.data.token, 'tokens differ');
  assert.notEqual(a.data, b.data, 'each call gets its own object');
  b.data.services.zerokms = 'mutated';
  b.data.subject = 'mutated';
  const d = await s.getToken();
  assert.equal(d.data.services.zerokms, emu.zerokmsUrl, 'a caller mutating its result does not affect others');
  assert.notEqual(d.data.subject, 'mutated');
  assert.equal((await emu.requests('/api/authorise')).length, 1);
  s.close();
});

test('AutoStrategy.detect: options beat the environment; env access key; store option', async () => {
  const r = sa.AutoStrategy.detect({ accessKey: emu.accessKey, workspaceCrn: emu.workspaceCrn, baseUrl: emu.url });
  assert.ok(r.data instanceof sa.AutoStrategy);
  assertToken((await r.data.getToken()).data, emu.workspaceId);
  r.data.close();

  await emu.clearRequests();
  process.env.CS_CLIENT_ACCESS_KEY = emu.accessKey;
  process.env.CS_WORKSPACE_CRN = emu.workspaceCrn;
  process.env.CS_CTS_HOST = emu.url;
  try {
    const store = new sa.InMemoryTokenStore();
    const a = sa.AutoStrategy.detect({ store }).data;
    const b = sa.AutoStrategy.detect({ store }).data;
    const ta = await a.getToken();
    const tb = await b.getToken();
    sameSecret(ta.data.token, tb.data.token, 'the second strategy loads the stored token');
    assert.equal((await emu.requests('/api/authorise')).length, 1);
    const none = sa.AutoStrategy.detect();
    assert.ok(none.data, 'no options: the environment');
    assertToken((await none.data.getToken()).data, emu.workspaceId);
    a.close();
    b.close();
    none.data.close();
  } finally {
    clearCsEnv();
  }
});

test('AutoStrategy.detect with nothing configured: NOT_AUTHENTICATED', () => {
  const r = sa.AutoStrategy.detect({ profileDir: tmpDir() });
  assert.equal(r.data, undefined);
  assert.equal(r.failure.type, 'NOT_AUTHENTICATED');
  assert.ok(r.failure.error instanceof Error);
  assert.equal(r.failure.error.code, 'NOT_AUTHENTICATED');
  assert.match(r.failure.help, /CS_CLIENT_ACCESS_KEY/);
});

test('DeviceSessionStrategy.fromProfile / OAuthStrategy.fromProfile on an empty profile: STORE_ERROR', () => {
  process.env.CS_CONFIG_PATH = tmpDir();
  try {
    for (const Cls of [sa.DeviceSessionStrategy, sa.OAuthStrategy]) {
      const r = Cls.fromProfile();
      assert.equal(r.data, undefined);
      assert.equal(r.failure.type, 'STORE_ERROR');
      assert.match(r.failure.error.message, /No current workspace/);
      assert.ok(r.failure.error instanceof Error);
    }
  } finally {
    clearCsEnv();
  }
});

test('OidcFederationStrategy.create(crn, getJwt, baseUrl): sync or async getJwt', async () => {
  for (const getJwt of [() => fakeJwt('sync-user'), async () => fakeJwt('async-user')]) {
    const r = sa.OidcFederationStrategy.create(emu.workspaceCrn, getJwt, emu.url);
    assert.ok(r.data instanceof sa.OidcFederationStrategy);
    const t = await r.data.getToken();
    assert.equal(t.failure, undefined, t.failure && t.failure.error.message);
    assertToken(t.data, emu.workspaceId);
    r.data.close();
  }
});

test('OidcFederationStrategy.createWithStore: loadToken/saveToken persist the token', async () => {
  let saved = null;
  let saves = 0;
  let loads = 0;
  let jwts = 0;
  const getJwt = () => {
    jwts++;
    return fakeJwt('store-user');
  };
  const load = async () => {
    loads++;
    return saved;
  };
  const save = (json) => {
    saves++;
    saved = json;
  };
  const a = sa.OidcFederationStrategy.createWithStore(emu.workspaceCrn, getJwt, load, save, emu.url).data;
  const ta = await a.getToken();
  assertToken(ta.data, emu.workspaceId);
  assert.equal(await sa.flush(), true); // the save follows the token (docs/architecture.md D3)
  assert.equal(saves, 1);
  assert.equal(typeof saved, 'string');
  assert.ok(JSON.parse(saved), 'the saved value is JSON');
  a.close();
  const before = (await emu.requests('/api/authorise')).length;
  const b = sa.OidcFederationStrategy.createWithStore(emu.workspaceCrn, getJwt, load, save, emu.url).data;
  const tb = await b.getToken();
  sameSecret(tb.data.token, ta.data.token, 'a new strategy reuses the stored token');
  assert.equal((await emu.requests('/api/authorise')).length, before, 'without a new exchange');
  assert.ok(loads >= 2);
  assert.ok(jwts >= 1);
  b.close();
});

test('OidcFederationStrategy.create with an options object (upstream wasm shape: { store, baseUrl })', async () => {
  const store = new sa.InMemoryTokenStore();
  const r = sa.OidcFederationStrategy.create(emu.workspaceCrn, async () => fakeJwt('opts-user'), { baseUrl: emu.url, store });
  assertToken((await r.data.getToken()).data, emu.workspaceId);
  r.data.close();
});

test('AuthStrategyFn.create: sync and async functions; no caching', async () => {
  const jwt = (await emu.mintToken({ subject: 'CS|fn-user' })).accessToken;
  let calls = 0;
  const sync = sa.AuthStrategyFn.create(() => {
    calls++;
    return jwt;
  }).data;
  const asyncFn = sa.AuthStrategyFn.create(async () => {
    calls++;
    await new Promise((r) => setImmediate(r));
    return jwt;
  }).data;
  assert.ok(sync instanceof sa.AuthStrategyFn);
  for (const s of [sync, asyncFn]) {
    const t = await s.getToken();
    sameSecret(t.data.token, jwt, 'tokens differ');
    assert.equal(t.data.subject, 'CS|fn-user');
    assert.equal(t.data.workspaceId, emu.workspaceId);
    await s.getToken();
  }
  assert.equal(calls, 4, 'asked on every getToken');
  sync.close();
  asyncFn.close();
});

test('StaticTokenStrategy.create: always the same token', async () => {
  const jwt = (await emu.mintToken({})).accessToken;
  const s = sa.StaticTokenStrategy.create(jwt).data;
  sameSecret((await s.getToken()).data.token, jwt, 'tokens differ');
  sameSecret((await s.getToken()).data.token, jwt, 'tokens differ');
  s.close();
});

test('TokenStoreFn.create({ load, save }) and a plain { load, save } object as store', async () => {
  const mem = new Map();
  const saved = deferred();
  const asyncStore = {
    async load() {
      return mem.get('t') ?? null;
    },
    async save(json) {
      mem.set('t', json);
      saved.resolve();
    },
  };
  const created = sa.TokenStoreFn.create(asyncStore);
  assert.ok(created.data instanceof sa.TokenStoreFn);
  const a = sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, { baseUrl: emu.url, store: created.data }).data;
  const ta = await a.getToken();
  await saved.promise; // the save follows the token (docs/architecture.md D3)
  assert.ok(mem.has('t'), 'saved');
  a.close();
  // A sync plain object sharing the same map: loads what the async one saved.
  const syncStore = { load: () => mem.get('t'), save: (json) => mem.set('t', json) };
  const b = sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, { baseUrl: emu.url, store: syncStore }).data;
  const tb = await b.getToken();
  sameSecret(tb.data.token, ta.data.token, 'tokens differ');
  assert.equal((await emu.requests('/api/authorise')).length, 1);
  b.close();
});

test('a store gets the scope of each call: load(scope) / save(json, scope) keep one token per credential', async () => {
  const slots = new Map();
  const scopes = [];
  const store = {
    load(scope) {
      scopes.push(scope);
      return slots.get(scope) ?? null;
    },
    async save(json, scope) {
      slots.set(scope, json);
    },
  };
  const oneSlot = new Map(); // upstream-shaped: ignores the scope
  const blind = { load: () => oneSlot.get('t'), save: (json) => oneSlot.set('t', json) };
  for (const [st, want] of [[store, 2], [blind, 4]]) {
    await emu.clearRequests();
    const got = [];
    for (const audience of ['aud-a', 'aud-b', 'aud-a', 'aud-b']) {
      const s = sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, { baseUrl: emu.url, store: st, audience }).data;
      got.push((await s.getToken()).data.token);
      s.close();
    }
    assert.equal((await emu.requests('/api/authorise')).length, want, 'a token saved for another audience is never served');
    differentSecret(got[0], got[1]);
    if (want === 2) {
      sameSecret(got[0], got[2]);
      sameSecret(got[1], got[3]);
    }
  }
  assert.equal(new Set(scopes).size, 2);
  for (const scope of scopes) assert.ok(scope.startsWith(`access-key/${emu.workspaceId}/`), 'a scope names the credential');
});

test('openTokenStore("file:///...") is shared across strategies; bad URLs fail', async () => {
  const dir = tmpDir();
  const st = sa.openTokenStore(`file://${dir}/tokens`);
  assert.ok(st.data instanceof sa.NativeTokenStore, st.failure && st.failure.error.message);
  const a = sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, { baseUrl: emu.url, store: st.data }).data;
  const t = await a.getToken();
  const st2 = sa.openTokenStore(`file://${dir}/tokens`).data;
  const b = sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, { baseUrl: emu.url, store: st2 }).data;
  sameSecret((await b.getToken()).data.token, t.data.token, 'tokens differ');
  assert.equal((await emu.requests('/api/authorise')).length, 1);
  a.close();
  b.close();
  st.data.close();
  st2.close();
  const bad = sa.openTokenStore('gopher://nope');
  assert.equal(typeof bad.failure.type, 'string');
  assert.ok(bad.failure.error instanceof Error);
});

test('close(): later getToken() fails with INVALID_HANDLE, close is idempotent', async () => {
  const s = sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, { baseUrl: emu.url }).data;
  await s.getToken();
  s.close();
  s.close();
  const r = await s.getToken();
  assert.equal(r.failure.code, 'INVALID_HANDLE');
});

test('no secret in inspect / toString / String / JSON of strategies, stores, results or failures', async () => {
  const s = sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, { baseUrl: emu.url }).data;
  const t = await s.getToken();
  const secret = emu.accessKey.split('.')[1];
  const shown = [
    util.inspect(s, { showHidden: true, depth: 5 }),
    String(s),
    `${s}`,
    util.inspect(t, { depth: 5 }),
    util.inspect(t.data, { showHidden: true, depth: 5 }),
    String(t.data),
    util.format('%s %o', t.data, t.data),
    util.inspect(new sa.InMemoryTokenStore()),
    JSON.stringify(s),
  ];
  for (const out of shown) {
    assert.ok(!out.includes(t.data.token), 'token leaked in an inspect/toString output');
    assert.ok(!out.includes(secret), 'access key leaked');
    assert.ok(!out.includes(emu.accessKey), 'access key leaked');
  }
  assert.match(util.inspect(t.data), /\*\*\*/);
  const bad = sa.AccessKeyStrategy.create(emu.workspaceCrn, `CSAKAAAAAAAAAAAAAAAA.${secret}`, { baseUrl: emu.url }).data;
  const f = await bad.getToken();
  assert.ok(f.failure);
  const dump = util.inspect(f, { depth: 5, showHidden: true }) + f.failure.error.stack + JSON.stringify(f.failure);
  assert.ok(!dump.includes(secret), 'access key secret leaked in a failure');
  s.close();
  bad.close();
});

test('wrong argument types throw TypeError synchronously (as upstream napi coercion)', () => {
  assert.throws(() => sa.AccessKeyStrategy.create(42, 'x'), TypeError);
  assert.throws(() => sa.AccessKeyStrategy.create(emu.workspaceCrn, undefined), TypeError);
  assert.throws(() => sa.AuthStrategyFn.create('not a function'), TypeError);
  assert.throws(() => sa.OidcFederationStrategy.create(emu.workspaceCrn, 'nope'), TypeError);
  assert.throws(() => sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, 'opts'), TypeError);
});

test('invalidate(token) after a 401: refreshes only the current token', async () => {
  const s = sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, { baseUrl: emu.url }).data;
  const first = (await s.getToken()).data;
  const r = s.invalidate(first.token);
  assert.deepEqual(r, { data: true }, 'a refresh started');
  let next;
  const until = Date.now() + 5000;
  do {
    next = (await s.getToken()).data;
  } while (next.token === first.token && Date.now() < until);
  differentSecret(next.token, first.token, 'a new token replaced the invalidated one');
  assert.deepEqual(s.invalidate(first.token), { data: false }, 'a late 401 with the old token changes nothing');
  sameSecret((await s.getToken()).data.token, next.token, 'tokens differ');
  assert.equal((await emu.requests('/api/authorise')).length, 2);
  s.close();
  assert.equal(s.invalidate(next.token).failure.code, 'INVALID_HANDLE');
});

test('getToken({ timeoutMs }) bounds one call; a cached token ignores it', async () => {
  await emu.fault({ path: '/api/authorise', delayMs: 3000, count: 1 });
  const s = sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, { baseUrl: emu.url }).data;
  const t0 = Date.now();
  const r = await s.getToken({ timeoutMs: 200 });
  assert.equal(r.failure && r.failure.code, 'TIMEOUT');
  assert.ok(Date.now() - t0 < 2500);
  const ok = await s.getToken(); // the strategy's own timeout: the slow refresh completes
  assert.ok(ok.data, ok.failure && ok.failure.error.message);
  assert.ok((await s.getToken({ timeoutMs: 1 })).data, 'cached: no wait');
  await assert.rejects(s.getToken({ timeoutMs: '1' }), TypeError, 'a non-number rejects (never a sync throw)');
  s.close();
});

test('getToken({ timeoutMs }) out of range: INVALID_ARGUMENT in the library\'s words, before any request', async () => {
  await emu.clearRequests();
  const s = sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, { baseUrl: emu.url }).data;
  for (const bad of [-1, 86400001, 2 ** 40]) {
    const r = await s.getToken({ timeoutMs: bad });
    assert.equal(r.failure && r.failure.code, 'INVALID_ARGUMENT', String(bad));
    assert.match(r.failure.error.message, /^the call's timeout must be 0 \(the default\) or 1 to 86400000 ms \(a day\), not -?\d+ ms$/);
    assert.match(r.failure.error.help, /\{ timeoutMs \}/, 'help names the Node API');
  }
  assert.equal((await emu.requests('/api/authorise')).length, 0);
  assert.ok((await s.getToken({ timeoutMs: 86400000 })).data);
  // The same answer with a token cached (the fast path takes no timeout).
  const r = await s.getToken({ timeoutMs: -1 });
  assert.equal(r.failure && r.failure.code, 'INVALID_ARGUMENT', 'cached token, bad timeout');
  s.close();
});

test('a panic inside the library is an INTERNAL_ERROR failure, never a crash (P7)', () => {
  const f = sa._debug.panic();
  assert.equal(f.failure.type, 'INTERNAL_ERROR');
  assert.ok(f.failure.error instanceof Error);
});
