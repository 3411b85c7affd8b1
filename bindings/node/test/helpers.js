'use strict';
// Test helpers: a real emulator (`stack-auth serve`) per test file, and its control API.
// Every emulator listens on 127.0.0.1 and is stopped by the test file that started it.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');

const ROOT = path.resolve(__dirname, '../../..');
const PKG = path.resolve(__dirname, '..');
const BIN = process.env.STACK_AUTH_BIN || path.join(ROOT, 'build/out/bin/stack-auth');

// Starts `stack-auth serve --addr 127.0.0.1:0 [args]` and resolves with its ready line plus
// control helpers. test.sh kills leftovers through SA_NODE_TEST_PIDS if a test process dies.
async function startEmulator(args = []) {
  // The emulator's log goes to a file, never to a pipe this process must drain (a test that
  // keeps the JS thread busy would otherwise stall the emulator on a full pipe).
  const logPath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sa-emu-')), 'emulator.log');
  const logFd = fs.openSync(logPath, 'w');
  const proc = spawn(BIN, ['serve', '--addr', '127.0.0.1:0', ...args], { stdio: ['ignore', 'pipe', logFd] });
  fs.closeSync(logFd);
  if (process.env.SA_NODE_TEST_PIDS) {
    fs.writeFileSync(path.join(process.env.SA_NODE_TEST_PIDS, String(proc.pid)), '');
  }
  const stderrText = () => {
    try {
      return fs.readFileSync(logPath, 'utf8').slice(-4000);
    } catch {
      return '';
    }
  };
  const line = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`emulator did not start in 10 s: ${stderrText()}`)), 10000);
    const rl = readline.createInterface({ input: proc.stdout });
    rl.once('line', (l) => {
      clearTimeout(timer);
      rl.close();
      resolve(l);
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`emulator exited (${code}): ${stderrText()}`));
    });
  });
  const ready = JSON.parse(line);
  const [, region, workspaceId] = ready.workspaceCrn.split(':');
  const base = ready.url.replace(/\/$/, '');

  async function call(method, p, body) {
    const res = await fetch(base + p, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10000),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }

  const emu = {
    ...ready,
    logPath,
    region,
    workspaceId,
    proc,
    call,
    requests: async (p) => {
      const all = (await call('GET', '/_emulator/requests')).requests;
      return p ? all.filter((r) => r.path === p) : all;
    },
    clearRequests: () => call('DELETE', '/_emulator/requests'),
    fault: (f) => call('POST', '/_emulator/faults', f),
    clearFaults: () => call('DELETE', '/_emulator/faults'),
    config: (c) => call('POST', '/_emulator/config', c),
    usageLimit: (ws, code) => call('POST', '/_emulator/usage-limit', { workspaceId: ws, code }),
    newWorkspace: () => call('POST', '/_emulator/workspaces', {}),
    mintToken: (t = {}) => call('POST', '/_emulator/tokens', t),
    approve: (userCode) => call('POST', '/_emulator/approve', { userCode }),
    // Resets what a test may have changed on the shared default workspace.
    reset: async () => {
      await call('DELETE', '/_emulator/faults');
      await call('POST', '/_emulator/config', { tokenTtlSecs: 900, autoApprove: false });
      await call('POST', '/_emulator/usage-limit', { workspaceId, code: '' });
      await call('DELETE', '/_emulator/requests');
    },
    stop: () =>
      new Promise((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
        proc.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        proc.kill('SIGTERM');
      }),
  };
  return emu;
}

// One emulator for the calling test file: started before its tests (with CS_* cleared), reset
// after each, stopped after all of them, once `sa` (when given) holds no handle any more. The
// returned object is filled in when the file's tests begin. `ready` runs once it is up,
// `afterEach` after each reset.
function useEmulator(sa, { ready, afterEach } = {}) {
  const test = require('node:test');
  const emu = {};
  test.before(async () => {
    clearCsEnv();
    Object.assign(emu, await startEmulator());
    if (ready) await ready(emu);
  });
  test.after(async () => {
    if (sa) await expectNoLeaks(sa);
    await emu.stop();
  });
  test.afterEach(async () => {
    await emu.reset();
    if (afterEach) await afterEach(emu);
  });
  return emu;
}

// Runs `node [nodeArgs] -e script` (or a file) with a hard timeout; resolves
// { code, signal, stdout, stderr, ms }.
function runNode(args, { env = {}, timeoutMs = 20000, cwd = PKG } = {}) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

function tmpDir(prefix = 'sa-node-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

// Environment without any CS_* variable (so AutoStrategy sees only what a test sets).
function cleanEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CS_')) env[k] = v;
  return { ...env, ...extra };
}

function clearCsEnv() {
  for (const k of Object.keys(process.env)) if (k.startsWith('CS_')) delete process.env[k];
}

// A JWT-shaped string (the emulator's OIDC check: three base64url segments).
function fakeJwt(sub = 'user-1') {
  const b = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b({ alg: 'none', typ: 'JWT' })}.${b({ sub, iss: 'https://idp.example' })}.c2ln`;
}

// Resolves when pred() is true, polling after each macrotask; rejects after timeoutMs.
async function until(pred, timeoutMs = 10000, what = 'condition') {
  const t0 = Date.now();
  for (;;) {
    if (await pred()) return;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

// A promise with its resolve/reject exposed.
function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

// Leak check (docs/c-abi.md P19): once every object of a test file is closed or unreachable, the library
// holds no handle or string (sa_debug_live_objects() == 0) and nothing is pending.
async function expectNoLeaks(sa, timeoutMs = 10000) {
  const gc = typeof global.gc === 'function' ? global.gc : null;
  const t0 = Date.now();
  for (;;) {
    if (gc) gc();
    await new Promise((r) => setImmediate(r));
    if (sa._debug.liveObjects() === 0 && sa._debug.counters().pending === 0) return;
    if (Date.now() - t0 > timeoutMs) {
      throw new Error(`leak: ${sa._debug.liveObjects()} live library objects, ${JSON.stringify(sa._debug.counters())}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

// Compare secrets (tokens, keys) without printing them when the assertion fails.
const assert = require('node:assert/strict');
function sameSecret(a, b, message = 'tokens differ') {
  assert.ok(typeof a === 'string' && a === b, message);
}
function differentSecret(a, b, message = 'tokens are the same') {
  assert.ok(typeof a === 'string' && typeof b === 'string' && a !== b, message);
}

module.exports = { sameSecret, differentSecret, ROOT, PKG, BIN, startEmulator, useEmulator, runNode, tmpDir, cleanEnv, clearCsEnv, fakeJwt, until, deferred, expectNoLeaks };
