'use strict';
// Drop-in compatibility: a script written against @cipherstash/auth 0.42's documented API runs
// unchanged (but for the module name) against this package, resolved as `stack-auth` from
// node_modules like any installed package.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startEmulator, runNode, cleanEnv, tmpDir, fakeJwt, PKG } = require('./helpers');

test('the upstream usage script runs unchanged against stack-auth', async (t) => {
  const emu = await startEmulator();
  t.after(() => emu.stop());
  await emu.config({ autoApprove: true, pollIntervalSecs: 1 });
  const other = await emu.newWorkspace();

  const app = tmpDir('sa-compat-');
  fs.mkdirSync(path.join(app, 'node_modules'));
  fs.symlinkSync(PKG, path.join(app, 'node_modules', 'stack-auth'), 'dir');
  const script = path.join(app, 'app.js');
  fs.copyFileSync(path.join(__dirname, 'compat', 'upstream-usage.js'), script);
  const source = fs.readFileSync(script, 'utf8');
  assert.ok(!source.includes('@cipherstash/auth\''), 'the script names only stack-auth');

  const r = await runNode([script], {
    cwd: app,
    timeoutMs: 30000,
    env: cleanEnv({
      CS_CTS_HOST: emu.url,
      CS_CLIENT_ACCESS_KEY: emu.accessKey,
      CS_WORKSPACE_CRN: emu.workspaceCrn,
      CS_CONFIG_PATH: tmpDir(),
      OTHER_ACCESS_KEY: other.accessKey,
      OTHER_WS: other.workspaceId,
      EXPECTED_WS: emu.workspaceId,
      OIDC_JWT: fakeJwt('compat'),
      REGION: emu.region,
    }),
  });
  assert.equal(r.code, 0, r.stderr);
  const ws = emu.workspaceId;
  assert.equal(
    r.stdout,
    [
      `access key: workspace ${ws}, zerokms yes, bearer jwt`,
      'same token again: true',
      'mismatch: expected true, actual true',
      'error is Error with code: true',
      'bad crn: INVALID_CRN',
      `auto: workspace ${ws}, zerokms yes, bearer jwt`,
      `auto with options: workspace ${ws}, zerokms yes, bearer jwt`,
      `oidc: workspace ${ws}, zerokms yes, bearer jwt`,
      `oidc with store: workspace ${ws}, zerokms yes, bearer jwt`,
      'oidc saved: true',
      'device code: true, uri true',
      'Token expires in some seconds',
      'poll again: ALREADY_CONSUMED',
      `device session: workspace ${ws}, zerokms yes, bearer jwt`,
      'OAuthStrategy alias: true',
      'bind: ok',
      '',
    ].join('\n'),
  );
});
