'use strict';
// Drop-in details of @cipherstash/auth 0.42 (issue 16 item 8): unknown option keys, the
// failure `type` union, free(), dispose symbols, the ./cookies entry, failing OIDC providers.

const test = require('node:test');
const assert = require('node:assert/strict');
const sa = require('..');
const { cookieStore } = require('../cookies');
const { useEmulator } = require('./helpers');

const emu = useEmulator(sa);

const UPSTREAM_TYPES = new Set([
  'REQUEST_ERROR', 'ACCESS_DENIED', 'EXPIRED_TOKEN', 'INVALID_GRANT', 'INVALID_CLIENT', 'INVALID_URL',
  'INVALID_REGION', 'INVALID_TOKEN', 'SERVER_ERROR', 'NOT_AUTHENTICATED', 'MISSING_WORKSPACE_CRN',
  'INVALID_ACCESS_KEY', 'INVALID_CRN', 'WORKSPACE_MISMATCH', 'INVALID_WORKSPACE_ID', 'ALREADY_CONSUMED',
  'INTERNAL_ERROR', 'CUSTOM', 'STORE_ERROR',
]);

function warningsDuring(fn) {
  const seen = [];
  const on = (w) => seen.push(w);
  process.on('warning', on);
  return Promise.resolve(fn()).then(
    // 'warning' events are emitted on the next tick
    () => new Promise((resolve) => setImmediate(() => { process.off('warning', on); resolve(seen); })),
  );
}

test('unknown option keys are ignored, as upstream does, with one warning per key', async () => {
  const seen = await warningsDuring(async () => {
    for (let i = 0; i < 3; i++) {
      const r = sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, { baseUrl: emu.url, retries: 3, fooBar: true });
      assert.ok(r.data, r.failure && r.failure.error.message);
      assert.ok((await r.data.getToken()).data);
      r.data.close();
    }
  });
  const ours = seen.filter((w) => /stack-auth/.test(w.message));
  assert.equal(ours.length, 1, `one warning, got: ${ours.map((w) => w.message).join(' | ')}`);
  assert.match(ours[0].message, /retries/);
  assert.match(ours[0].message, /fooBar/);
  // A key the library knows still gets its value checked.
  const bad = sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, { timeoutMs: -5 });
  assert.equal(bad.failure.error.code, 'INVALID_ARGUMENT');
});

test('failure.type stays within upstream 0.42 union; failure.code keeps the precise code', async () => {
  await emu.usageLimit(emu.workspaceId, 'USAGE_LIMIT_EXCEEDED');
  const s = sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, { baseUrl: emu.url }).data;
  const usage = (await s.getToken()).failure;
  assert.equal(usage.type, 'SERVER_ERROR');
  assert.equal(usage.code, 'USAGE_LIMIT_EXCEEDED');
  assert.equal(usage.error.code, 'USAGE_LIMIT_EXCEEDED');
  s.close();
  const closed = (await s.getToken()).failure;
  assert.equal(closed.code, 'INVALID_HANDLE');
  assert.equal(closed.type, 'INTERNAL_ERROR');
  const badArg = sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, { timeoutMs: 0.5 }).failure;
  assert.equal(badArg.code, 'INVALID_ARGUMENT');
  assert.equal(badArg.type, 'INTERNAL_ERROR');
  for (const code of sa.ERROR_CODES) {
    assert.ok(UPSTREAM_TYPES.has(sa.upstreamType(code)), `${code} maps to ${sa.upstreamType(code)}`);
  }
  assert.equal(sa.upstreamType('TIMEOUT'), 'REQUEST_ERROR');
  assert.equal(sa.upstreamType('WORKSPACE_MISMATCH'), 'WORKSPACE_MISMATCH');
});

test('free() is close(); Symbol.dispose and Symbol.asyncDispose close too', async () => {
  const a = sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, { baseUrl: emu.url }).data;
  assert.ok((await a.getToken()).data);
  a.free();
  assert.equal((await a.getToken()).failure.code, 'INVALID_HANDLE');
  const b = sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, { baseUrl: emu.url }).data;
  b[Symbol.dispose]();
  assert.equal((await b.getToken()).failure.code, 'INVALID_HANDLE');
  const c = sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, { baseUrl: emu.url }).data;
  assert.equal(await c[Symbol.asyncDispose](), undefined);
  assert.equal((await c.getToken()).failure.code, 'INVALID_HANDLE');
  const store = new sa.InMemoryTokenStore();
  store.free();
});

test('./cookies: cookieStore({ request, responseHeaders }) carries the token between requests', async () => {
  // Request 1: no cookie. The token is fetched and saved as a Set-Cookie on the response.
  const h1 = new Headers();
  const s1 = sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, {
    baseUrl: emu.url,
    store: cookieStore({ request: new Request('https://app.example/'), responseHeaders: h1 }),
  }).data;
  const t1 = (await s1.getToken()).data;
  assert.equal(await sa.flush(), true); // the save follows the token (docs/architecture.md D3)
  s1.close();
  const setCookie = h1.get('set-cookie');
  assert.ok(setCookie, 'a Set-Cookie was appended');
  assert.match(setCookie, /^cs_token=[A-Za-z0-9_-]+; Path=\/; Max-Age=\d+; HttpOnly; Secure; SameSite=Lax$/);
  assert.ok(!setCookie.includes(t1.token), 'the cookie value is encoded, not the raw token JSON');
  const maxAge = Number(/Max-Age=(\d+)/.exec(setCookie)[1]);
  assert.ok(maxAge > 0 && maxAge <= t1.expiresAt - Math.floor(Date.now() / 1000) - 30 + 1, `Max-Age ${maxAge}`);

  // Request 2 sends the cookie back: the token comes from it, with no new request.
  const cookie = setCookie.split(';')[0];
  const h2 = new Headers();
  const s2 = sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, {
    baseUrl: emu.url,
    store: cookieStore({ request: new Request('https://app.example/', { headers: { cookie: `a=b; ${cookie}` } }), responseHeaders: h2 }),
  }).data;
  const t2 = (await s2.getToken()).data;
  s2.close();
  assert.ok(t2.token === t1.token, 'the token from the cookie');
  assert.equal((await emu.requests('/api/authorise')).length, 1);

  // Options: name, domain, path, flags; SameSite=None needs Secure.
  const h3 = new Headers();
  await cookieStore({ request: new Request('http://localhost/'), responseHeaders: h3, name: 'tok', domain: 'example.com', path: '/api', secure: false, httpOnly: false, sameSite: 'Strict' })
    .save(JSON.stringify({ expires_at: Math.floor(Date.now() / 1000) + 100 }));
  assert.match(h3.get('set-cookie'), /^tok=[A-Za-z0-9_-]+; Domain=example\.com; Path=\/api; Max-Age=(6\d|70); SameSite=Strict$/);
  assert.throws(() => cookieStore({ request: new Request('http://x/'), responseHeaders: new Headers(), sameSite: 'None', secure: false }), /SameSite/);
  // A cookie that is not ours decodes to a miss, never an error.
  const junk = cookieStore({ request: new Request('http://x/', { headers: { cookie: 'cs_token=%%%' } }), responseHeaders: new Headers() });
  assert.equal(await junk.load(), null);
});

test('an OIDC provider that throws, rejects or returns a non-string: SERVER_ERROR with the cause', async () => {
  const cases = [
    [() => { throw new TypeError('sync boom'); }, /getJwt callback rejected: sync boom/, TypeError],
    [async () => { throw new RangeError('async boom'); }, /getJwt callback rejected: async boom/, RangeError],
    [() => 42, /getJwt callback did not return a string/, null],
    [async () => undefined, /getJwt callback did not return a string/, null],
  ];
  for (const [getJwt, re, causeClass] of cases) {
    const s = sa.OidcFederationStrategy.create(emu.workspaceCrn, getJwt, { baseUrl: emu.url }).data;
    const f = (await s.getToken()).failure;
    s.close();
    assert.ok(f, 'a failure');
    assert.equal(f.type, 'SERVER_ERROR', f.error.message);
    assert.match(f.error.message, re);
    if (causeClass) {
      assert.ok(f.error.cause instanceof causeClass, `cause: ${f.error.cause}`);
    }
  }
  assert.equal((await emu.requests('/api/authorise')).length, 0);
});

test('a missing CRN names the Node API in its help', () => {
  const f = sa.AutoStrategy.detect({ accessKey: emu.accessKey }).failure;
  assert.equal(f.type, 'MISSING_WORKSPACE_CRN');
  assert.match(f.help, /AutoStrategy\.detect\(\{ workspaceCrn/);
  assert.doesNotMatch(`${f.error.message} ${f.help}`, /AutoStrategyBuilder/);
});

test('transport: a host HTTP client carries every request, with the user-agent set', async () => {
  const seen = [];
  const transport = async ({ method, url, headers, body }) => {
    seen.push({ method, url, headers });
    const res = await fetch(url, { method, headers, body });
    return { status: res.status, headers: res.headers, body: await res.text() };
  };
  const s = sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, { baseUrl: emu.url, transport }).data;
  const r = await s.getToken();
  assert.ok(r.data, r.failure && r.failure.error.message);
  assert.equal(r.data.workspaceId, emu.workspaceId);
  assert.equal(seen.length, 1);
  assert.equal(seen[0].method, 'POST');
  assert.equal(seen[0].url, `${emu.url.replace(/\/$/, '')}/api/authorise`);
  const ua = seen[0].headers.find(([k]) => k === 'user-agent');
  assert.ok(ua && ua[1].startsWith('stack-auth/'), `user-agent ${ua}`);
  assert.equal((await emu.requests('/api/authorise')).length, 1);
  s.close();

  // No answer from the host's client: REQUEST_ERROR, nothing sent around it.
  await emu.clearRequests();
  const bad = sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, {
    baseUrl: emu.url,
    transport: () => { throw new Error('proxy down'); },
  }).data;
  const f = (await bad.getToken()).failure;
  assert.equal(f.type, 'REQUEST_ERROR', f.error.message);
  assert.match(f.error.message, /proxy down/);
  bad.close();
  // A 503 page from the host's client is the server's answer.
  const html = sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, {
    baseUrl: emu.url,
    transport: () => ({ status: 503, headers: { 'content-type': 'text/html' }, body: '<html><title>503 Service Unavailable</title></html>' }),
  }).data;
  const g = (await html.getToken()).failure;
  assert.equal(g.type, 'SERVER_ERROR');
  assert.match(g.error.message, /503 Service Unavailable/);
  html.close();
  assert.equal((await emu.requests('/api/authorise')).length, 0);
});
