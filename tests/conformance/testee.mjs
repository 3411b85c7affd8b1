// Conformance testee for the Node binding: performs conformance.py's JSON requests (one a line
// on stdin) with the package and answers one JSON line each on stdout. No checks here.
import { createRequire } from 'node:module';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import util from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const sa = createRequire(import.meta.url)(process.env.STACK_AUTH_NODE || path.resolve(here, '../../bindings/node'));

let strategies = [];
let tokens = [];
let store = null;
let flow = null;

function error(failure) {
  const fields = { ...failure };
  delete fields.error;
  return {
    error: {
      code: failure.code,
      fields,
      message: failure.error instanceof Error ? failure.error.message : String(failure.error),
      node: {
        isError: failure.error instanceof Error,
        errorCode: failure.error?.code ?? null,
        type: failure.type,
        upstreamType: sa.upstreamType(failure.code),
      },
      strings: [
        ['inspect(failure)', util.inspect(failure, { depth: 10 })],
        ['String(failure.error)', String(failure.error)],
        ['failure.error.stack', String(failure.error?.stack)],
      ],
    },
  };
}

function token(data) {
  tokens.push(data.token);
  return {
    token: {
      value: data.token, workspaceId: data.workspaceId, subject: data.subject, issuer: data.issuer,
      services: { ...data.services }, expiresAt: data.expiresAt, ref: tokens.length - 1,
      strings: [['inspect(token)', util.inspect(data, { depth: 10 })], ['String(token)', String(data)]],
    },
  };
}

// A Result: exactly one of data / failure.
function result(r, onData) {
  if (r && r.failure && r.data === undefined) return error(r.failure);
  if (r && r.data !== undefined && !r.failure) return onData(r.data);
  return { notAResult: util.inspect(r) };
}

function build(kind, args, options, withStore) {
  const opts = withStore ? { ...options, store } : { ...options };
  switch (kind) {
    case 'access_key':
      return sa.AccessKeyStrategy.create(args.workspaceCrn, args.accessKey, opts);
    case 'auto':
      return sa.AutoStrategy.detect(opts);
    case 'device_session':
      return sa.DeviceSessionStrategy.fromProfile(opts);
    case 'static':
      return sa.StaticTokenStrategy.create(args.token);
    default:
      throw new Error(`unknown strategy ${kind}`);
  }
}

async function handle(req) {
  switch (req.op) {
    case 'hello':
      return { lang: 'node', info: sa.libraryInfo() };
    case 'live':
      return {};
    case 'env':
      for (const k of req.unset) delete process.env[k];
      Object.assign(process.env, req.set);
      return {};
    case 'login_begin': {
      const begun = await sa.beginDeviceCodeFlow(req.region, null, req.options);
      return result(begun, (f) => { flow = f; return { userCode: f.userCode }; });
    }
    case 'login_poll':
      return result(await flow.pollForToken({ timeoutMs: req.timeoutMs }), () => ({ ok: true }));
    case 'store':
      if (req.url === 'memory') {
        store = new sa.InMemoryTokenStore();
        return {};
      }
      return result(sa.openTokenStore(req.url), (s) => { store = s; return {}; });
    case 'create': {
      let r;
      try {
        r = build(req.strategy, req.args, req.options, req.store);
      } catch (e) { // not a Result but a throw
        return { host: e?.name, message: String(e?.message), strings: [['String(exception)', String(e)]] };
      }
      return result(r, (s) => {
        strategies.push(s);
        return { id: strategies.length - 1, strings: [['inspect(strategy)', util.inspect(s, { depth: 10 })]] };
      });
    }
    case 'get_token': {
      const s = strategies[req.id];
      const r = await (req.timeoutMs == null ? s.getToken() : s.getToken({ timeoutMs: req.timeoutMs }));
      return result(r, token);
    }
    case 'concurrent': {
      // Every call starts in this tick, before any can complete (getToken is Node's only API).
      const s = strategies[req.id];
      const rs = await Promise.all(Array.from({ length: req.n }, () => s.getToken()));
      return { results: rs.map((r) => result(r, token)) };
    }
    case 'invalidate':
      return result(strategies[req.id].invalidate(tokens[req.ref]), (value) => ({ value }));
    case 'close':
      for (const s of strategies) s.close();
      if (store) store.close();
      if (flow) flow.close();
      strategies = [];
      tokens = [];
      store = flow = null;
      for (const k of req.unset) delete process.env[k];
      return {};
    default:
      throw new Error(`unknown op ${req.op}`);
  }
}

for await (const line of readline.createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  process.stdout.write(`${JSON.stringify(await handle(JSON.parse(line)))}\n`);
}
