'use strict';
// Every failure the emulator can produce, as `{ failure: { type, error, help?, url?, ...payload } }`.

const test = require('node:test');
const assert = require('node:assert/strict');
const sa = require('..');
const { useEmulator, clearCsEnv, tmpDir } = require('./helpers');

const emu = useEmulator(sa);

function strategy(opts = {}) {
  return sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, { baseUrl: emu.url, ...opts }).data;
}

function assertFailure(r, type) {
  assert.equal(r.data, undefined, 'no data next to a failure');
  assert.ok(r.failure, `expected a ${type} failure`);
  assert.equal(r.failure.code, type, r.failure.error && r.failure.error.message);
  assert.equal(r.failure.type, sa.upstreamType(type), 'type is upstream 0.42\'s');
  assert.ok(r.failure.error instanceof Error, 'error is a real Error');
  assert.ok(r.failure.error instanceof sa.AuthError);
  assert.equal(r.failure.error.code, type);
  assert.equal(typeof r.failure.error.message, 'string');
  assert.ok(r.failure.error.message.length > 0);
  assert.equal(typeof r.failure.error.stack, 'string');
  return r.failure;
}

async function withFault(fault, fn) {
  await emu.fault({ path: '/api/authorise', count: 0, ...fault });
  try {
    return await fn();
  } finally {
    await emu.clearFaults();
  }
}

test('401 from the token service: SERVER_ERROR with the status in the message', async () => {
  const f = await withFault({ status: 401 }, () => strategy().getToken());
  assertFailure(f, 'SERVER_ERROR');
  assert.match(f.failure.error.message, /401/);
});

test('a real 401 (an access key the service does not know)', async () => {
  const s = sa.AccessKeyStrategy.create(emu.workspaceCrn, 'CSAKAAAAAAAAAAAAAAAA.bm90LWEtcmVhbC1rZXktYXQtYWxsLW5vcGU', {
    baseUrl: emu.url,
  }).data;
  const f = assertFailure(await s.getToken(), 'SERVER_ERROR');
  assert.match(f.error.message, /401/);
  assert.ok(!f.error.message.includes('bm90LWEtcmVhbC1rZXktYXQtYWxsLW5vcGU'), 'no secret in the message');
  s.close();
});

test('402 with cs_code USAGE_LIMIT_EXCEEDED (emulator usage limit): help and url', async () => {
  await emu.usageLimit(emu.workspaceId, 'USAGE_LIMIT_EXCEEDED');
  const f = assertFailure(await strategy().getToken(), 'USAGE_LIMIT_EXCEEDED');
  assert.match(f.help, /allowance/);
  assert.equal(f.url, 'https://dashboard.cipherstash.com/billing');
  assert.equal(f.error.help, f.help, 'help mirrored on the Error (as upstream)');
  assert.equal(f.error.url, f.url);
});

test('402 with cs_code ORG_NOT_PROVISIONED', async () => {
  await emu.usageLimit(emu.workspaceId, 'ORG_NOT_PROVISIONED');
  const f = assertFailure(await strategy().getToken(), 'ORG_NOT_PROVISIONED');
  assert.equal(f.url, 'https://cipherstash.com/support');
});

test('402 without cs_code: USAGE_LIMIT_EXCEEDED with the server description', async () => {
  const body = JSON.stringify({ error: 'access_denied', error_description: 'payment required here' });
  const f = await withFault({ status: 402, body, contentType: 'application/json' }, () => strategy().getToken());
  assertFailure(f, 'USAGE_LIMIT_EXCEEDED');
  assert.equal(f.failure.error.message, 'payment required here');
});

test('500: SERVER_ERROR', async () => {
  const f = await withFault({ status: 500 }, () => strategy().getToken());
  assertFailure(f, 'SERVER_ERROR');
  assert.match(f.failure.error.message, /500/);
});

test('connection reset: REQUEST_ERROR', async () => {
  const f = await withFault({ reset: true }, () => strategy().getToken());
  assertFailure(f, 'REQUEST_ERROR');
});

test('workspace mismatch: WORKSPACE_MISMATCH carries expected and actual', async () => {
  const other = await emu.newWorkspace();
  const s = sa.AccessKeyStrategy.create(emu.workspaceCrn, other.accessKey, { baseUrl: emu.url }).data;
  const f = assertFailure(await s.getToken(), 'WORKSPACE_MISMATCH');
  assert.equal(f.expected, emu.workspaceId);
  assert.equal(f.actual, other.workspaceId);
  assert.match(f.help, /workspace/);
  s.close();
});

test('invalid access key: INVALID_ACCESS_KEY from create (sync Result)', () => {
  const r = sa.AccessKeyStrategy.create(emu.workspaceCrn, 'not-a-key');
  assert.ok(!(r instanceof Promise));
  const f = assertFailure(r, 'INVALID_ACCESS_KEY');
  assert.match(f.help, /CSAK/);
});

test('invalid CRN: INVALID_CRN from create, AutoStrategy.detect and OidcFederationStrategy.create', () => {
  assertFailure(sa.AccessKeyStrategy.create('crn:nope', emu.accessKey), 'INVALID_CRN');
  assertFailure(sa.AutoStrategy.detect({ accessKey: emu.accessKey, workspaceCrn: 'not-a-crn' }), 'INVALID_CRN');
  assertFailure(sa.OidcFederationStrategy.create('not-a-crn', () => 'x'), 'INVALID_CRN');
});

test('not authenticated: NOT_AUTHENTICATED from AutoStrategy.detect', () => {
  const f = assertFailure(sa.AutoStrategy.detect({ profileDir: tmpDir() }), 'NOT_AUTHENTICATED');
  assert.match(f.help, /login/);
});

test('access key without a CRN: MISSING_WORKSPACE_CRN', () => {
  assertFailure(sa.AutoStrategy.detect({ accessKey: emu.accessKey, profileDir: tmpDir() }), 'MISSING_WORKSPACE_CRN');
});

test('a bad CS_CTS_HOST: INVALID_URL', () => {
  process.env.CS_CTS_HOST = '::not a url';
  try {
    assertFailure(sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey), 'INVALID_URL');
  } finally {
    clearCsEnv();
  }
});

test('option values of the wrong type or range: INVALID_ARGUMENT (unknown keys: dropin.test.js)', () => {
  const f = assertFailure(sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, { baseUrl: 7 }), 'INVALID_ARGUMENT');
  assert.match(f.error.message, /baseUrl/);
  assertFailure(sa.AuthStrategyFn.create(() => 'x', { timeoutMs: -5 }), 'INVALID_ARGUMENT');
});

test('a slow token service beyond timeoutMs: TIMEOUT', async () => {
  const f = await withFault({ delayMs: 3000, count: 1 }, () => strategy({ timeoutMs: 300 }).getToken());
  assertFailure(f, 'TIMEOUT');
});

test('close() while getToken() waits: CANCELLED', async () => {
  await emu.fault({ path: '/api/authorise', delayMs: 3000, count: 1 });
  const s = strategy();
  const p = s.getToken();
  s.close();
  assertFailure(await p, 'CANCELLED');
});

test('a remembered account refusal is served without a new request (engine policy surfaces as-is)', async () => {
  await emu.usageLimit(emu.workspaceId, 'USAGE_LIMIT_EXCEEDED');
  const s = strategy();
  assertFailure(await s.getToken(), 'USAGE_LIMIT_EXCEEDED');
  await emu.clearRequests();
  assertFailure(await s.getToken(), 'USAGE_LIMIT_EXCEEDED');
  assert.equal((await emu.requests('/api/authorise')).length, 0);
  s.close();
});

test('failures never reject the promise and never carry data', async () => {
  const s = strategy();
  s.close();
  const outcomes = await Promise.allSettled([s.getToken(), s.getToken()]);
  for (const o of outcomes) {
    assert.equal(o.status, 'fulfilled');
    assertFailure(o.value, 'INVALID_HANDLE');
  }
});
