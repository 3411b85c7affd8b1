'use strict';
// Where upstream 0.43 is right (issue 13) and echoed secrets (issue 12 item 9), from Node:
// failures say whether retrying may help, an OIDC provider's empty JWT is sent like any
// other, and no secret a server echoes reaches a failure.

const test = require('node:test');
const assert = require('node:assert/strict');
const util = require('node:util');
const sa = require('..');
const { useEmulator } = require('./helpers');

const emu = useEmulator(sa);

const JWT = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJub2RlLWVjaG8ifQ.Tk9ERS1FQ0hP';

test('a failure says whether retrying may help (failure.retryable, error.retryable)', async () => {
  await emu.fault({ path: '/api/authorise', status: 503, count: 1 });
  const s = sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, { baseUrl: emu.url }).data;
  const r = await s.getToken();
  assert.equal(r.failure.type, 'SERVER_ERROR');
  assert.equal(r.failure.retryable, true);
  assert.equal(r.failure.error.retryable, true);
  s.close();

  const bad = sa.AccessKeyStrategy.create(`crn:ap-northeast-1.aws:${emu.workspaceId}`, emu.accessKey, { baseUrl: emu.url });
  assert.equal(bad.failure.type, 'INVALID_CRN');
  assert.equal(bad.failure.retryable, false);
  assert.match(bad.failure.help, /ca-central-1\.aws/);
});

test("an OIDC provider's empty JWT is sent, and the server's answer is the failure", async () => {
  const s = sa.OidcFederationStrategy.create(emu.workspaceCrn, () => '', emu.url).data;
  const r = await s.getToken();
  assert.equal(r.failure.type, 'SERVER_ERROR', r.failure.error.message);
  s.close();
});

test('a server that echoes the access key or the provider JWT: no failure carries it', async () => {
  const secretPart = emu.accessKey.slice(emu.accessKey.indexOf('.') + 1);
  const bodies = (secret) => [
    [402, JSON.stringify({ error: 'access_denied', error_description: `got ${secret}\nline two` })],
    [400, JSON.stringify({ error: 'invalid_request', error_description: `got ${secret}\nline two` })],
    [500, JSON.stringify({ error: 'server_error', error_description: `got ${secret}\nline two` })],
  ];
  for (const oidc of [false, true]) {
    for (const [status, body] of bodies(oidc ? JWT : emu.accessKey)) {
      await emu.fault({ path: '/api/authorise', status, body, count: 1 });
      const s = oidc
        ? sa.OidcFederationStrategy.create(emu.workspaceCrn, () => JWT, emu.url).data
        : sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, { baseUrl: emu.url }).data;
      const { failure } = await s.getToken();
      s.close();
      assert.ok(failure, `status ${status}`);
      const seen = [failure.error.message, JSON.stringify(failure), util.inspect(failure, { depth: 5 }), String(failure.error.stack)];
      for (const text of seen) {
        for (const secret of [emu.accessKey, secretPart, JWT]) {
          // Name the place only: the test's own output must not carry the secret either.
          assert.ok(!text.includes(secret), `a secret reached the failure (status ${status})`);
        }
      }
      assert.ok(!/[\r\n]/.test(failure.error.message), 'one line');
      assert.match(failure.error.message, /\*\*\*/, 'the text is kept, masked');
    }
  }
});
