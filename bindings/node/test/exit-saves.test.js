'use strict';
// docs/architecture.md D1: a refresh the server already performed is saved whatever the program does next.
// The server rotates the refresh token at once and answers 700 ms later; a child process gives
// up after 300 ms, drops the strategy (close() or the GC) and ends by itself. The binding keeps
// the event loop alive until the answer is saved, so the next run is not refused.

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const sa = require('..');
const { startEmulator, runNode, cleanEnv, clearCsEnv, tmpDir } = require('./helpers');

const FIX = path.join(__dirname, 'fixtures');
// Refresh tokens are compared by digest: a failing assertion never prints one.
const digest = (s) => crypto.createHash('sha256').update(String(s)).digest('hex').slice(0, 12);

let emu;
test.before(async () => {
  clearCsEnv();
  emu = await startEmulator(['--auto-approve']);
});
test.after(async () => {
  await emu.stop();
});

for (const drop of ['close', 'gc']) {
  test(`exit after ${drop} mid-refresh: the rotated refresh token is saved`, async () => {
    await emu.reset();
    await emu.config({ autoApprove: true });
    const profileDir = tmpDir();
    const flow = (await sa.beginDeviceCodeFlow(emu.region, 'cli', { baseUrl: emu.url, profileDir })).data;
    assert.ok((await flow.pollForToken()).data, 'logged in');
    const auth = path.join(profileDir, 'workspaces', emu.workspaceId, 'auth.json');
    const session = JSON.parse(fs.readFileSync(auth, 'utf8'));
    const spent = digest(session.refresh_token);
    session.expires_at = Math.floor(Date.now() / 1000) - 60;
    fs.writeFileSync(auth, JSON.stringify(session), { mode: 0o600 });
    await emu.clearRequests();
    await emu.fault({ path: '/oauth/token', delayAfterMs: 700, count: 1 });

    const r = await runNode(['--expose-gc', path.join(FIX, 'exit-mid-refresh.js'), profileDir, emu.url, drop], {
      env: cleanEnv(),
      timeoutMs: 15000,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'gave up TIMEOUT');
    const saved = digest(JSON.parse(fs.readFileSync(auth, 'utf8')).refresh_token);
    assert.notEqual(saved, spent, 'the rotated refresh token was saved');
    assert.equal((await emu.requests('/oauth/token')).length, 1);

    const next = sa.DeviceSessionStrategy.fromProfile({ profileDir, baseUrl: emu.url }).data;
    const t = await next.getToken({ timeoutMs: 10000 });
    assert.ok(t.data, t.failure && t.failure.type); // no INVALID_GRANT: the next run starts from it
    next.close();
  });
}
