'use strict';
// Static checks: the TypeScript declarations type-check (tsc --noEmit on usage files), the
// addon never uses the blocking tsfn mode, and the package has no FFI dependency (docs/c-abi.md P2, P15).

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { PKG, runNode } = require('./helpers');

function filesUnder(dir, exts) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p, exts));
    else if (exts.some((x) => e.name.endsWith(x))) out.push(p);
  }
  return out;
}

test('index.d.ts type-checks the usage files with tsc --noEmit (strict)', async () => {
  const tsc = path.join(PKG, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = await runNode([tsc, '-p', path.join(PKG, 'test', 'types', 'tsconfig.json')], { timeoutMs: 120000 });
  assert.equal(r.code, 0, r.stdout + r.stderr);
});

test('tsc rejects misuse (the declarations are not `any`)', async () => {
  const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'sa-tsc-'));
  fs.writeFileSync(
    path.join(dir, 'bad.ts'),
    "import { AccessKeyStrategy } from 'stack-auth';\nconst r = AccessKeyStrategy.create('c', 'k');\nconst t: string = r.data.token;\n",
  );
  fs.writeFileSync(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, types: [], baseUrl: '.', paths: { 'stack-auth': [path.join(PKG, 'index.d.ts')] } },
      files: ['bad.ts'],
    }),
  );
  const tsc = path.join(PKG, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = await runNode([tsc, '-p', dir], { timeoutMs: 120000 });
  assert.notEqual(r.code, 0);
  assert.match(r.stdout, /bad\.ts/);
});

test('the addon never uses the blocking tsfn mode, and only calls tsfns non-blocking', () => {
  const sources = filesUnder(path.join(PKG, 'src'), ['.c', '.cc', '.cpp', '.h', '.hpp']);
  assert.ok(sources.length > 0);
  let calls = 0;
  for (const f of sources) {
    const text = fs.readFileSync(f, 'utf8');
    assert.ok(!/napi_tsfn_blocking/.test(text), `${f} mentions napi_tsfn_blocking`);
    assert.ok(!/BlockingCall\s*\(/.test(text), `${f} uses node-addon-api's BlockingCall`);
    for (const m of text.matchAll(/napi_call_threadsafe_function\(([^;]*)\)/g)) {
      calls++;
      assert.match(m[1], /napi_tsfn_nonblocking/, `${f}: ${m[0]}`);
    }
    // The queue is unbounded (max_queue_size 0).
    for (const m of text.matchAll(/napi_create_threadsafe_function\(([^;]*)\)/gs)) {
      assert.match(m[1], /\b0\s*,/, 'max_queue_size must be 0 (unbounded)');
    }
  }
  assert.ok(calls >= 1, 'the tsfn is called somewhere');
});

test('no koffi / ffi-napi / other FFI dependency; the addon links libstack_auth through $ORIGIN', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(PKG, 'package.json'), 'utf8'));
  const banned = /^(koffi|ffi-napi|@2060\.io\/ffi-napi|ffi|node-ffi|ref-napi|ref-struct-napi|ref-array-napi|ffi-rs)$/;
  for (const field of ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies']) {
    for (const name of Object.keys(pkg[field] || {})) assert.ok(!banned.test(name), `${field}: ${name}`);
  }
  const lock = path.join(PKG, 'package-lock.json');
  if (fs.existsSync(lock)) {
    const text = fs.readFileSync(lock, 'utf8');
    assert.ok(!/node_modules\/(koffi|ffi-napi|ref-napi)"/.test(text), 'lockfile has an FFI package');
  }
  for (const f of [path.join(PKG, 'index.js')]) {
    assert.ok(!/require\(['"](koffi|ffi-napi|ref-napi)['"]\)/.test(fs.readFileSync(f, 'utf8')));
  }
  const addon = path.join(PKG, 'build', 'Release', 'stack_auth.node');
  const dyn = execFileSync('readelf', ['-d', addon], { encoding: 'utf8' });
  assert.match(dyn, /NEEDED.*libstack_auth\.so\.1/);
  assert.match(dyn, /R(UN)?PATH.*\$ORIGIN/);
  assert.ok(fs.existsSync(path.join(PKG, 'build', 'Release', 'libstack_auth.so.1')), 'the library sits next to the addon');
});
