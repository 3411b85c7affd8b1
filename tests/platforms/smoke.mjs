// smoke.mjs — smoke.c's checks through the Node addon, for targets where the conformance
// testee cannot run: under Wine, Node's own sockets fail (libuv's connect answers UNKNOWN),
// and Node runs only with stdout redirected to a file and stdin closed. Every request here goes
// through the library's own HTTP client. Environment as smoke.c, plus STACK_AUTH_NODE (the
// package directory). Prints `ok`/`FAIL` lines and `N passed, M failed`.
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const sa = require(process.env.STACK_AUTH_NODE);
const { SA_EMU_URL: url, SA_EMU_CRN: crn, SA_EMU_KEY: key, SA_SMOKE_DIR: dir } = process.env;
const region = crn.split(':')[1];
let passed = 0;
let failed = 0;
const check = (name, cond, detail) => {
  if (cond) passed++;
  else failed++;
  console.log(`${cond ? 'ok  ' : 'FAIL'} ${name}${cond || detail === undefined ? '' : ` (${JSON.stringify(detail)})`}`);
};
const tokenOf = async (s) => {
  const r = await s.getToken();
  return r.data && /^[^.\r\n]+\.[^.\r\n]+\.[^.\r\n]+$/.test(r.data.token) ? r.data.token : undefined;
};

console.log(`# ${sa.libraryInfo().build}`);

// Access key over a memory store, and a second strategy served from it.
const mem = new sa.InMemoryTokenStore();
let s = sa.AccessKeyStrategy.create(crn, key, { baseUrl: url, store: mem }).data;
const t1 = await tokenOf(s);
check('access key token', t1);
s.close();
s = sa.AccessKeyStrategy.create(crn, key, { baseUrl: url, store: mem }).data;
check('memory store serves the saved token', (await tokenOf(s)) === t1);
s.close();
mem.close();

// The file store at a path of this platform (file:///C:/... on Windows).
const fileUrl = `file://${dir.startsWith('/') ? '' : '/'}${path.join(dir, 'store').replaceAll('\\', '/')}`;
const fst = sa.openTokenStore(fileUrl);
check('file store opens', fst.data, fst.failure);
s = sa.AccessKeyStrategy.create(crn, key, { baseUrl: url, store: fst.data }).data;
const f1 = await tokenOf(s);
s.close();
s = sa.AccessKeyStrategy.create(crn, key, { baseUrl: url, store: fst.data }).data;
check('file store serves the saved token', f1 && (await tokenOf(s)) === f1);
s.close();

// A store in JS.
let saved = null;
let loads = 0;
const hst = sa.TokenStoreFn.create({ load: () => (loads++, saved), save: (j) => { saved = j; } }).data;
s = sa.AccessKeyStrategy.create(crn, key, { baseUrl: url, store: hst }).data;
check('store hook token', await tokenOf(s));
check('store hook save flushed', await sa.flush()); // the save follows the token
s.close();
check('store hook loaded and saved', loads >= 1 && saved && saved.includes('token'));

// Static, AuthStrategyFn (answering and throwing), OIDC, Auto.
s = sa.StaticTokenStrategy.create('a.b.c').data;
check('static token', (await s.getToken()).data?.token === 'a.b.c');
s.close();
let calls = 0;
s = sa.AuthStrategyFn.create(() => (calls++, t1)).data;
check('fn strategy token', (await tokenOf(s)) === t1 && calls === 1);
s.close();
s = sa.AuthStrategyFn.create(() => { throw new Error('the host said no'); }).data;
const rej = await s.getToken();
check('throwing fn gives a CUSTOM failure', rej.failure?.type === 'CUSTOM' && rej.failure.error.message.includes('the host said no'), rej.failure?.type);
s.close();
const jwt = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJwbGF0Zm9ybXMifQ.c2ln';
s = sa.OidcFederationStrategy.create(crn, async () => jwt, { baseUrl: url }).data;
const ot = await tokenOf(s);
check('oidc token', ot && ot !== jwt);
s.close();
s = sa.AutoStrategy.detect({ baseUrl: url, accessKey: key, workspaceCrn: crn }).data;
check('auto token', await tokenOf(s));
s.close();

// Device-code login into a profile directory, the device session, a refresh, binding.
const profileDir = path.join(dir, 'profile');
const flow = await sa.beginDeviceCodeFlow(region, null, { baseUrl: url, profileDir });
check('device code begin', flow.data, flow.failure);
const login = await flow.data.pollForToken({ timeoutMs: 20000 });
check('device code poll', login.data && login.data.expiresIn > 0, login.failure);
s = sa.DeviceSessionStrategy.fromProfile({ baseUrl: url, profileDir }).data;
const d1 = await tokenOf(s);
check('device session token', d1);
check('device session invalidate', s.invalidate(d1).data === true);
const d2 = await tokenOf(s);
check('device session refreshed token', d2 && d2 !== d1);
s.close();
const bound = await sa.bindClientDevice({ profileDir });
check('bind client device', !bound.failure, bound.failure);

// Errors.
const bad = sa.AccessKeyStrategy.create('not-a-crn', key, { baseUrl: url });
check('bad CRN is INVALID_CRN', bad.failure?.type === 'INVALID_CRN', bad.failure);
const refused = sa.AccessKeyStrategy.create(crn, key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A'), { baseUrl: url }).data;
const rr = await refused.getToken();
check('refused key fails', rr.failure && !JSON.stringify(rr.failure).includes(key.split('.')[1].slice(8)), rr.failure?.type);
refused.close();

console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
