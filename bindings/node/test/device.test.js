'use strict';
// Device-code login: beginDeviceCodeFlow -> DeviceCodeResult -> pollForToken (consuming),
// openInBrowser, the saved session (DeviceSessionStrategy), bindClientDevice.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const util = require('node:util');
const sa = require('..');
const { useEmulator, clearCsEnv, tmpDir, runNode, cleanEnv } = require('./helpers');

const emu = useEmulator(sa, {
  ready: (e) => e.config({ pollIntervalSecs: 1 }),
  afterEach: async (e) => {
    clearCsEnv();
    await e.config({ deviceCodeTtlSecs: 900, pollIntervalSecs: 1 });
  },
});

function findFile(dir, name) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      const f = findFile(p, name);
      if (f) return f;
    } else if (e.name === name) return p;
  }
  return null;
}

async function begin(profileDir, clientId = 'cli') {
  const r = await sa.beginDeviceCodeFlow(emu.region, clientId, { baseUrl: emu.url, profileDir });
  assert.ok(r.data, r.failure && r.failure.error.message);
  return r.data;
}

test('the full login: begin, approve, poll (consuming), session strategy, bind', async () => {
  const profileDir = tmpDir();
  const p = sa.beginDeviceCodeFlow(emu.region, 'cli', { baseUrl: emu.url, profileDir });
  assert.ok(p instanceof Promise, 'beginDeviceCodeFlow is async (as upstream)');
  const flow = (await p).data;
  assert.ok(flow instanceof sa.DeviceCodeResult);
  assert.match(flow.userCode, /^[A-Z0-9]{4}-[A-Z0-9]{4}$/);
  assert.ok(flow.verificationUri.startsWith(emu.url));
  assert.ok(flow.verificationUriComplete.includes(flow.userCode));
  assert.equal(typeof flow.expiresIn, 'number');
  assert.ok(flow.expiresIn > 0);
  assert.match(util.inspect(flow), /userCode/);

  await emu.approve(flow.userCode);
  const polled = await flow.pollForToken();
  assert.ok(polled.data, polled.failure && polled.failure.error.message);
  assert.deepEqual(Object.keys(polled.data).sort(), ['expiresAt', 'expiresIn'], 'the token is never exposed');
  assert.ok(polled.data.expiresAt > Date.now() / 1000);
  assert.ok(polled.data.expiresIn > 0 && polled.data.expiresIn <= 900);

  const again = await flow.pollForToken();
  assert.equal(again.failure.type, 'ALREADY_CONSUMED');
  assert.ok(again.failure.error instanceof Error);

  assert.ok(findFile(profileDir, 'auth.json'), 'the session was saved');

  const session = sa.DeviceSessionStrategy.fromProfile({ profileDir, baseUrl: emu.url });
  assert.ok(session.data instanceof sa.DeviceSessionStrategy, session.failure && session.failure.error.message);
  const t = await session.data.getToken();
  assert.equal(t.data.subject, 'CS|emulator|developer');
  assert.equal(t.data.workspaceId, emu.workspaceId);
  session.data.close();

  const auto = sa.AutoStrategy.detect({ profileDir, baseUrl: emu.url }).data;
  assert.equal((await auto.getToken()).data.subject, 'CS|emulator|developer', 'AutoStrategy falls back to the session');
  auto.close();

  const bound = await sa.bindClientDevice({ profileDir });
  assert.deepEqual(bound, { data: undefined });
  const sk = findFile(profileDir, 'secretkey.json');
  assert.ok(sk, 'secretkey.json saved');
  assert.equal(fs.statSync(sk).mode & 0o777, 0o600);
  assert.deepEqual(await sa.bindClientDevice({ profileDir }), { data: undefined }, 'already bound: no-op');
});

test('upstream signatures: environment only (CS_CTS_HOST, CS_CONFIG_PATH), no options', async () => {
  const profileDir = tmpDir();
  process.env.CS_CTS_HOST = emu.url;
  process.env.CS_CONFIG_PATH = profileDir;
  await emu.config({ autoApprove: true });
  const r = await sa.beginDeviceCodeFlow(emu.region, 'cli');
  assert.ok(r.data, r.failure && r.failure.error.message);
  const polled = await r.data.pollForToken();
  assert.ok(polled.data, polled.failure && polled.failure.error.message);
  const s = sa.OAuthStrategy.fromProfile();
  assert.ok(s.data, s.failure && s.failure.error.message);
  assert.equal((await s.data.getToken()).data.subject, 'CS|emulator|developer');
  s.data.close();
  await emu.clearRequests();
  assert.deepEqual(await sa.bindClientDevice(), { data: undefined });
  // This host's device name is already bound to the workspace (first test): 409, a no-op.
  const created = await emu.requests('/zerokms/create-client');
  assert.equal(created.length, 1, 'bindClientDevice() found the session through CS_CONFIG_PATH');
  assert.ok([200, 201, 409].includes(created[0].status), `status ${created[0].status}`);
});

test('beginDeviceCodeFlowWithBaseUrl and bindClientDeviceWithProfileDir (upstream optional exports)', async () => {
  const profileDir = tmpDir();
  process.env.CS_CONFIG_PATH = profileDir;
  await emu.config({ autoApprove: true });
  const r = await sa.beginDeviceCodeFlowWithBaseUrl(emu.region, 'cli', emu.url);
  assert.ok(r.data, r.failure && r.failure.error.message);
  assert.ok((await r.data.pollForToken()).data);
  delete process.env.CS_CONFIG_PATH;
  await emu.clearRequests();
  assert.deepEqual(await sa.bindClientDeviceWithProfileDir(profileDir), { data: undefined });
  assert.equal((await emu.requests('/zerokms/create-client')).length, 1);
  const none = await sa.bindClientDeviceWithProfileDir(tmpDir());
  assert.ok(none.failure, 'an empty profile directory fails');
});

test('denied: ACCESS_DENIED; expired code: EXPIRED_TOKEN', async () => {
  const denied = await begin(tmpDir());
  await emu.call('POST', '/_emulator/deny', { userCode: denied.userCode });
  const d = await denied.pollForToken();
  assert.equal(d.failure.type, 'ACCESS_DENIED');

  await emu.config({ deviceCodeTtlSecs: 1 });
  const expired = await begin(tmpDir());
  await new Promise((r) => setTimeout(r, 1100)); // let the code expire (real time)
  const e = await expired.pollForToken();
  assert.equal(e.failure.type, 'EXPIRED_TOKEN', e.failure.error.message);
});

test('pollForToken({ timeoutMs }) without approval: TIMEOUT, the event loop turning meanwhile; close() during a poll: CANCELLED', async () => {
  const a = await begin(tmpDir());
  let ticks = 0;
  const iv = setInterval(() => ticks++, 10);
  const t0 = Date.now();
  const r = await a.pollForToken({ timeoutMs: 600 });
  clearInterval(iv);
  assert.equal(r.failure.code, 'TIMEOUT');
  assert.ok(Date.now() - t0 >= 550 && Date.now() - t0 < 5000);
  assert.ok(ticks >= 25, `timers ran during the poll (${ticks} ticks)`);

  const b = await begin(tmpDir());
  const p = b.pollForToken();
  setTimeout(() => b.close(), 100);
  const c = await p;
  assert.equal(c.failure.code, 'CANCELLED');
});

test('bad input: invalid region, wrong types', async () => {
  const r = await sa.beginDeviceCodeFlow('mars-1.aws', 'cli', { profileDir: tmpDir() });
  assert.equal(r.failure.type, 'INVALID_REGION');
  await assert.rejects(sa.beginDeviceCodeFlow(42, 'cli'), TypeError, 'a non-string region rejects (as upstream)');
  const bad = await sa.bindClientDevice({ profileDir: 42 });
  assert.equal(bad.failure.code, 'INVALID_ARGUMENT');
});

test('bindClientDevice without a session: a failure, not a throw', async () => {
  const r = await sa.bindClientDevice({ profileDir: tmpDir() });
  assert.ok(r.failure);
  assert.ok(r.failure.error instanceof Error);
});

test('openInBrowser(): true when a launcher starts (it gets verificationUriComplete), false without one', async () => {
  const bin = tmpDir();
  const seen = path.join(bin, 'seen.txt');
  fs.writeFileSync(path.join(bin, 'xdg-open'), `#!/bin/sh\nprintf '%s' "$1" > '${seen}'\n`, { mode: 0o755 });
  const script = `
    const sa = require(${JSON.stringify(path.resolve(__dirname, '..'))});
    sa.beginDeviceCodeFlow(${JSON.stringify(emu.region)}, 'cli', { baseUrl: ${JSON.stringify(emu.url)}, profileDir: ${JSON.stringify(tmpDir())} })
      .then((r) => { const o = r.data.openInBrowser(); console.log(JSON.stringify({ o, uri: r.data.verificationUriComplete })); r.data.close(); });
  `;
  const withLauncher = await runNode(['-e', script], { env: cleanEnv({ PATH: `${bin}:${process.env.PATH}` }) });
  assert.equal(withLauncher.code, 0, withLauncher.stderr);
  const out = JSON.parse(withLauncher.stdout);
  assert.deepEqual(out.o, { data: true });
  const t0 = Date.now();
  while (!fs.existsSync(seen) && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
  assert.equal(fs.readFileSync(seen, 'utf8'), out.uri);

  const empty = tmpDir();
  const without = await runNode(['-e', script], { env: cleanEnv({ PATH: empty }) });
  assert.equal(without.code, 0, without.stderr);
  assert.deepEqual(JSON.parse(without.stdout).o, { data: false });
});

test('a replayed (spent) refresh token: INVALID_GRANT', async () => {
  const a = tmpDir();
  await emu.config({ autoApprove: true, tokenTtlSecs: 2 });
  const flow = await begin(a);
  assert.ok((await flow.pollForToken()).data);
  const b = tmpDir();
  fs.cpSync(a, b, { recursive: true }); // a second copy of the same session (same refresh token)
  await emu.config({ tokenTtlSecs: 900 });
  await new Promise((r) => setTimeout(r, 2200)); // the access token expires (real time)
  const sa1 = sa.DeviceSessionStrategy.fromProfile({ profileDir: a, baseUrl: emu.url }).data;
  const first = await sa1.getToken();
  assert.ok(first.data, first.failure && first.failure.error.message); // refreshed: the refresh token rotated
  const sb = sa.DeviceSessionStrategy.fromProfile({ profileDir: b, baseUrl: emu.url }).data;
  const replay = await sb.getToken();
  assert.equal(replay.failure && replay.failure.type, 'INVALID_GRANT');
  assert.ok(replay.failure.error instanceof Error);
  sa1.close();
  sb.close();
});

test('transport: the device-code flow, the saved session and bindClientDevice go through the host client', async () => {
  const profileDir = tmpDir();
  await emu.config({ autoApprove: true });
  const seen = [];
  const transport = async ({ method, url, headers, body }) => {
    seen.push(new URL(url).pathname);
    const res = await fetch(url, { method, headers, body });
    return { status: res.status, headers: res.headers, body: await res.text() };
  };
  const logged = async () => (await emu.requests()).map((r) => r.path).filter((p) => !p.startsWith('/_emulator'));

  await emu.clearRequests();
  const r = await sa.beginDeviceCodeFlow(emu.region, 'cli', { baseUrl: emu.url, profileDir, transport });
  assert.ok(r.data, r.failure && r.failure.error.message);
  const polled = await r.data.pollForToken();
  assert.ok(polled.data, polled.failure && polled.failure.error.message);
  assert.ok(seen.length >= 2, `begin and poll went through the transport: ${seen}`);
  assert.deepEqual(seen, await logged(), 'every request the emulator saw came through the transport');

  // The saved access token has expired: each session refreshes on its first getToken.
  const auth = findFile(profileDir, 'auth.json');
  const expire = () => {
    const session = JSON.parse(fs.readFileSync(auth, 'utf8'));
    session.expires_at = Math.floor(Date.now() / 1000) - 60;
    fs.writeFileSync(auth, JSON.stringify(session));
  };
  expire();
  await emu.clearRequests();
  seen.length = 0;
  const s = sa.DeviceSessionStrategy.fromProfile({ profileDir, baseUrl: emu.url, transport }).data;
  assert.equal((await s.getToken()).data.subject, 'CS|emulator|developer');
  s.close();
  expire();
  const a = sa.AutoStrategy.detect({ profileDir, baseUrl: emu.url, transport }).data;
  assert.equal((await a.getToken()).data.subject, 'CS|emulator|developer');
  a.close();
  assert.deepEqual(await sa.bindClientDevice({ profileDir, transport }), { data: undefined });
  assert.ok(seen.includes('/zerokms/create-client'), `bindClientDevice went through the transport: ${seen}`);
  assert.ok(seen.length >= 3, `both sessions refreshed through the transport: ${seen}`);
  assert.deepEqual(seen, await logged(), 'every request the emulator saw came through the transport');
});
