// Conformance runner for the Node binding (bindings/node, a drop-in for @cipherstash/auth).
//
// Runs every scenario of scenarios.json against ONE emulator, resetting it between scenarios,
// prints `ok <name>` / `FAIL <name>: <why>` per scenario and `N passed, M failed`, writes one
// JSON observation per scenario to $SA_CONFORMANCE_OUT (run.sh compares the languages' files)
// and exits non-zero on any failure.
//
// Environment: SA_EMU_URL, SA_EMU_CRN, SA_EMU_KEY (required), SA_CONFORMANCE_SCENARIOS,
// SA_CONFORMANCE_OUT, SA_CONFORMANCE_ONLY (comma-separated names), STACK_AUTH_NODE (the
// package to load; default: bindings/node of this checkout).

import { createRequire } from 'node:module';
import { readFileSync, writeFileSync, appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import util from 'node:util';

const LANG = 'node';
const CS_VARS = ['CS_CLIENT_ACCESS_KEY', 'CS_WORKSPACE_CRN', 'CS_CTS_HOST', 'CS_CONFIG_PATH', 'CS_TOKEN_STORE'];
const SETTLE_MS = 5000; // see settleRequests()
const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const sa = require(process.env.STACK_AUTH_NODE || path.resolve(here, '../../bindings/node'));

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- the emulator's control API -------------------------------------------------------------

class Emulator {
  constructor(url) {
    this.base = url.replace(/\/$/, '');
  }

  async call(method, p, body) {
    const res = await fetch(this.base + p, {
      method,
      headers: { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10000),
    });
    const text = await res.text();
    let doc = null;
    try {
      doc = text.trim() ? JSON.parse(text) : null;
    } catch {
      doc = text;
    }
    return [res.status, doc];
  }

  async must(method, p, body) {
    const [status, doc] = await this.call(method, p, body);
    if (Math.floor(status / 100) !== 2) throw new Error(`${method} ${p}: HTTP ${status}: ${JSON.stringify(doc)}`);
    return doc;
  }

  async requestCounts() {
    const counts = {};
    for (const r of (await this.must('GET', '/_emulator/requests')).requests) counts[r.path] = (counts[r.path] || 0) + 1;
    return counts;
  }
}

// ---- placeholders -----------------------------------------------------------------------------

function mapStrings(value, fn) {
  if (typeof value === 'string') return fn(value);
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, fn));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, fn)]));
  }
  return value;
}

// $NAME placeholders in input strings (longest name first: $KEY_ID before $KEY).
function substitute(value, ph) {
  const names = Object.keys(ph).sort((a, b) => b.length - a.length);
  return mapStrings(value, (s) => names.reduce((v, n) => v.split('$' + n).join(ph[n]), s));
}

// Observed strings back to placeholders (longest value first).
function normalise(value, ph) {
  const names = Object.keys(ph).sort((a, b) => ph[b].length - ph[a].length);
  return mapStrings(value, (s) => names.reduce((v, n) => (ph[n] ? v.split(ph[n]).join('$' + n) : v), s));
}

const normaliseMessage = (msg, ph) => normalise(msg, ph).replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:PORT');

// Deep equality of JSON values (object key order ignored).
function equal(a, b) {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === b.length && a.every((x, i) => equal(x, b[i]));
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && equal(a[k], b[k]));
}

function sortKeys(v) {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]));
  return v;
}

// ---- one scenario -------------------------------------------------------------------------------

const FIXED = new Set(['type', 'code', 'error', 'help', 'url', 'message', 'retryable']);

function errorObs(failure) {
  const payload = {};
  for (const [k, v] of Object.entries(failure)) if (!FIXED.has(k)) payload[k] = v;
  // failure.code is the precise code; failure.type is upstream 0.42's type it maps onto.
  return {
    code: failure.code,
    help: typeof failure.help === 'string' && failure.help.length > 0,
    url: failure.url ?? null,
    retryable: failure.retryable === true,
    payload,
    message: failure.error instanceof Error ? failure.error.message : String(failure.error),
  };
}

function tokenObs(data) {
  const expiresIn = data.expiresAt - Date.now() / 1000;
  return {
    workspaceId: data.workspaceId,
    subject: data.subject,
    issuer: data.issuer,
    services: { ...data.services },
    expiresInMin: Math.floor(expiresIn / 60 + 0.5) + 0, // + 0: never -0
  };
}

function build(sc, inputs, options, store) {
  const opts = {};
  if (options.timeoutMs !== undefined) opts.timeoutMs = options.timeoutMs;
  if (store) opts.store = store;
  switch (sc.strategy) {
    case 'access_key':
      if (inputs.baseUrl !== undefined) opts.baseUrl = inputs.baseUrl;
      return sa.AccessKeyStrategy.create(inputs.workspaceCrn, inputs.accessKey, opts);
    case 'auto':
      for (const k of ['accessKey', 'workspaceCrn', 'baseUrl', 'profileDir']) if (inputs[k] !== undefined) opts[k] = inputs[k];
      return sa.AutoStrategy.detect(opts);
    case 'device_session':
      for (const k of ['baseUrl', 'profileDir']) if (inputs[k] !== undefined) opts[k] = inputs[k];
      return sa.DeviceSessionStrategy.fromProfile(opts);
    case 'static':
      return sa.StaticTokenStrategy.create(inputs.token);
    default:
      throw new Error(`unknown strategy ${sc.strategy}`);
  }
}

const opt = (sc, defaults, key, fallback) => sc[key] ?? defaults[key] ?? fallback;

class Runner {
  constructor(emu, ph, defaults, baseConfig) {
    Object.assign(this, { emu, ph, defaults, baseConfig });
  }

  async reset() {
    await this.emu.must('DELETE', '/_emulator/faults');
    await this.emu.must('DELETE', '/_emulator/requests');
    for (const ws of [this.ph.WS, this.ph.OTHER_WS]) {
      await this.emu.must('POST', '/_emulator/usage-limit', { workspaceId: ws, code: '' });
    }
    await this.emu.must('POST', '/_emulator/config', this.baseConfig);
  }

  async setup(setup, ph) {
    if (setup.config) await this.emu.must('POST', '/_emulator/config', setup.config);
    if (setup.usageLimit) await this.emu.must('POST', '/_emulator/usage-limit', substitute(setup.usageLimit, ph));
    for (const f of setup.faults || []) await this.emu.must('POST', '/_emulator/faults', f);
    if (setup.mintToken) {
      ph.TOKEN = (await this.emu.must('POST', '/_emulator/tokens', substitute(setup.mintToken, ph))).accessToken;
    }
  }

  // A device-code login with the binding; the emulator approves it in between. Returns the
  // failure of the first step that failed, or null.
  async login(login) {
    const begun = await sa.beginDeviceCodeFlow(login.region, null, {
      baseUrl: login.baseUrl, profileDir: login.profileDir, timeoutMs: 10000,
    });
    if (begun.failure) return begun.failure;
    const flow = begun.data;
    try {
      await this.emu.must('POST', '/_emulator/approve', { userCode: flow.userCode });
      const polled = await flow.pollForToken({ timeoutMs: 10000 });
      return polled.failure || null;
    } finally {
      flow.close();
    }
  }

  // The emulator logs a request when its handler returns, which for a connection reset or a
  // request the client abandoned is after the client saw the failure. So when the log has
  // fewer entries than expected, read it again (bounded); more never shrinks.
  async settleRequests(expected) {
    const deadline = Date.now() + SETTLE_MS;
    for (;;) {
      const counts = await this.emu.requestCounts();
      if (expected === undefined || equal(counts, expected) || Date.now() > deadline) return counts;
      if (Object.entries(counts).some(([p, n]) => n > (expected[p] || 0))) return counts;
      await sleep(20);
    }
  }

  async run(sc) {
    const ph = { ...this.ph };
    const emptyDir = mkdtempSync(path.join(tmpdir(), 'sa-conformance-'));
    ph.EMPTY_DIR = emptyDir;
    await this.reset();
    await this.setup(sc.setup || {}, ph);
    const d = this.defaults;
    const inputs = substitute(sc.inputs || {}, ph);
    const options = sc.options || {};
    const env = substitute(sc.env || {}, ph);
    const calls = opt(sc, d, 'calls', 1);
    const concurrent = opt(sc, d, 'concurrent', 0);
    const nStrategies = opt(sc, d, 'strategies', 1);
    const callTimeout = sc.callTimeoutMs;
    const waitBefore = opt(sc, d, 'waitBeforeMs', 0);
    const waitMs = opt(sc, d, 'waitBetweenMs', 0);
    const invalidate = new Map((sc.invalidate || []).map((i) => [i.afterCall, i.tokenOfCall]));

    let obs = {
      lang: LANG, name: sc.name, login: null, create: null, concurrent: null, calls: [],
      invalidated: invalidate.size ? [] : null, token: null, error: null, distinctTokens: 0, requests: {}, leaks: [],
    };
    const secrets = [ph.KEY.split('.').slice(1).join('.'), ph.OTHER_KEY.split('.').slice(1).join('.'), ph.TOKEN].filter(Boolean);
    const tokens = new Set();
    const surfaces = [];
    const problems = [];

    const noteFailure = (where, failure) => {
      surfaces.push([`${where} inspect(failure)`, util.inspect(failure, { depth: 10 })]);
      surfaces.push([`${where} String(failure.error)`, String(failure.error)]);
      surfaces.push([`${where} failure.error.stack`, String(failure.error?.stack)]);
      if (!(failure.error instanceof Error)) problems.push(`${where}: failure.error is not an Error`);
      else if (failure.error.code !== failure.code) {
        problems.push(`${where}: failure.error.code ${failure.error.code} != failure.code ${failure.code}`);
      } else if (failure.type !== sa.upstreamType(failure.code)) {
        problems.push(`${where}: failure.type ${failure.type} is not upstream's type of ${failure.code}`);
      }
      if (!obs.error) obs.error = errorObs(failure);
    };
    const noteToken = (where, data) => {
      tokens.add(data.token);
      surfaces.push([`${where} inspect(token)`, util.inspect(data, { depth: 10 })]);
      surfaces.push([`${where} String(token)`, String(data)]);
      if (!obs.token) obs.token = tokenObs(data);
    };
    // A Result: exactly one of data / failure. Returns "ok", the failure's type, or NOT_A_RESULT.
    const outcome = (where, result) => {
      if (result && result.failure && result.data === undefined) {
        noteFailure(where, result.failure);
        return result.failure.code;
      }
      if (result && result.data !== undefined && !result.failure) {
        if (where !== 'create') noteToken(where, result.data);
        return 'ok';
      }
      problems.push(`${where}: not a Result: ${util.inspect(result)}`);
      return 'NOT_A_RESULT';
    };

    for (const k of CS_VARS) delete process.env[k];
    Object.assign(process.env, env); // after the library was loaded: the live-environment rule
    const strategies = [];
    let store = null;
    try {
      if (sc.login) {
        const failure = await this.login(substitute(sc.login, ph));
        obs.login = failure ? failure.code : 'ok';
        if (failure) noteFailure('login', failure);
      }
      if (sc.store) {
        const url = substitute(sc.store, ph);
        if (url === 'memory') store = new sa.InMemoryTokenStore();
        else {
          const r = sa.openTokenStore(url);
          if (r.failure) throw new Error(`openTokenStore: ${r.failure.code}`);
          store = r.data;
        }
      }
      for (let i = 0; i < nStrategies; i++) {
        let r;
        try {
          r = build(sc, inputs, options, store);
        } catch (e) {
          // not a Result but a throw: recorded as HOST:<class>
          obs.create = `HOST:${e?.name}`;
          surfaces.push(['create String(exception)', String(e)]);
          obs.error = obs.error || { code: obs.create, help: false, url: null, retryable: false, payload: {}, message: String(e?.message) };
          break;
        }
        obs.create = outcome('create', r);
        if (obs.create !== 'ok') break;
        strategies.push(r.data);
      }
      if (obs.create === 'ok') surfaces.push(['inspect(strategy)', util.inspect(strategies[0], { depth: 10 })]);
      if (obs.create === 'ok') {
        const first = strategies[0];
        if (concurrent > 0) {
          // Every call starts in this tick, before any can complete (getToken is Node's only API).
          const results = await Promise.all(Array.from({ length: concurrent }, () => first.getToken()));
          const counts = {};
          for (const r of results) {
            const k = outcome('concurrent', r);
            counts[k] = (counts[k] || 0) + 1;
          }
          obs.concurrent = counts;
        }
        if (waitBefore) await sleep(waitBefore); // real time for a token to expire
        const results = [];
        for (const strategy of strategies) {
          for (let i = 0; i < calls; i++) {
            if (i && waitMs) await sleep(waitMs); // real time for a token to expire
            const r = await (callTimeout === undefined ? strategy.getToken() : strategy.getToken({ timeoutMs: callTimeout }));
            results.push(r);
            obs.calls.push(outcome('call', r));
            const idx = results.length - 1;
            if (invalidate.has(idx)) {
              const tok = results[invalidate.get(idx)].data.token;
              const inv = strategy.invalidate(tok);
              if (inv.failure) problems.push(`invalidate: ${inv.failure.code}`);
              obs.invalidated.push(inv.failure ? inv.failure.code : inv.data);
            }
          }
        }
      }
    } finally {
      for (const s of strategies) s.close();
      if (store) store.close();
      for (const k of CS_VARS) delete process.env[k];
      rmSync(emptyDir, { recursive: true, force: true });
    }

    obs.distinctTokens = tokens.size;
    const allSecrets = [...secrets, ...tokens];
    for (const [where, text] of surfaces) if (allSecrets.some((s) => text.includes(s))) obs.leaks.push(where);
    obs.requests = await this.settleRequests((sc.expect || {}).requests);
    const msg = obs.error ? obs.error.message : null;
    obs = normalise(obs, ph);
    if (msg !== null) obs.error.message = normaliseMessage(msg, ph);
    if (problems.length) obs.crashed = problems.join('; ');
    return obs;
  }
}

// Every key of expect must equal the observation's; "token" and "error" are compared key by
// key (a subset); leaks must always be empty.
function check(expect, obs) {
  const why = [];
  for (const [k, want] of Object.entries(expect)) {
    const got = obs[k];
    if ((k === 'token' || k === 'error') && want && typeof want === 'object' && got && typeof got === 'object') {
      for (const [kk, w] of Object.entries(want)) {
        if (!equal(got[kk], w)) why.push(`${k}.${kk}: want ${JSON.stringify(w)}, got ${JSON.stringify(got[kk])}`);
      }
    } else if (!equal(got, want)) {
      why.push(`${k}: want ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
    }
  }
  if (obs.leaks.length) why.push(`secret visible in: ${obs.leaks.join(', ')}`);
  if (obs.crashed) why.push(obs.crashed);
  return why;
}

async function main() {
  const { SA_EMU_URL: url, SA_EMU_CRN: crn, SA_EMU_KEY: key } = process.env;
  if (!url || !crn || !key) {
    console.error('runner.mjs: set SA_EMU_URL, SA_EMU_CRN and SA_EMU_KEY');
    return 2;
  }
  const doc = JSON.parse(readFileSync(process.env.SA_CONFORMANCE_SCENARIOS || path.join(here, 'scenarios.json'), 'utf8'));
  const only = new Set((process.env.SA_CONFORMANCE_ONLY || '').split(',').filter(Boolean));
  const outPath = process.env.SA_CONFORMANCE_OUT || '';

  // Load the library first, so that every CS_* variable below is set after it was loaded.
  const info = sa.libraryInfo();
  if (info.abi !== 1) throw new Error(`ABI ${info.abi}`);
  console.error(`# ${LANG}: ${info.build}`);
  const emu = new Emulator(url);
  const state = await emu.must('GET', '/_emulator/state');
  const other = await emu.must('POST', '/_emulator/workspaces', {});
  const ph = {
    URL: url,
    ZEROKMS_URL: state.zerokmsUrl,
    CRN: crn,
    WS: crn.split(':').pop(),
    KEY: key,
    KEY_ID: key.split('.')[0],
    OTHER_CRN: other.workspaceCrn,
    OTHER_WS: other.workspaceId,
    OTHER_KEY: other.accessKey,
    OTHER_KEY_ID: other.accessKey.split('.')[0],
    REGION: crn.split(':')[1],
  };
  const runner = new Runner(emu, ph, doc.defaults || {}, await emu.must('GET', '/_emulator/config'));

  let passed = 0;
  let failed = 0;
  if (outPath) writeFileSync(outPath, '');
  try {
    for (const sc of doc.scenarios) {
      if (only.size && !only.has(sc.name)) continue;
      let obs;
      let why;
      try {
        obs = await runner.run(sc);
        why = check(sc.expect || {}, obs);
      } catch (e) {
        // a runner, binding or emulator problem: the scenario fails
        obs = { lang: LANG, name: sc.name, crashed: `${e?.name}: ${e?.message}` };
        why = [obs.crashed];
      }
      if (outPath) appendFileSync(outPath, JSON.stringify(sortKeys(obs)) + '\n');
      if (why.length) {
        failed++;
        console.log(`FAIL ${sc.name}: ${why.join('; ')}`);
      } else {
        passed++;
        console.log(`ok ${sc.name}`);
      }
    }
  } finally {
    await runner.reset();
  }
  console.log(`${passed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error('runner.mjs:', e);
    process.exit(2);
  },
);
