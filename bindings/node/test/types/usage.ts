// Type-checked with `tsc --noEmit -p test/types` (never run): every export of index.d.ts, the
// Result narrowing users rely on, and misuse that must NOT compile (@ts-expect-error).
import {
  AccessKeyStrategy,
  AuthError,
  AuthFailure,
  AuthStrategy,
  AuthStrategyFn,
  AutoStrategy,
  DeviceCodeResult,
  DeviceSessionStrategy,
  ERROR_CODES,
  InMemoryTokenStore,
  NativeTokenStore,
  OAuthStrategy,
  OidcFederationStrategy,
  Result,
  StaticTokenStrategy,
  TokenResult,
  TokenStore,
  TokenStoreFn,
  beginDeviceCodeFlow,
  beginDeviceCodeFlowWithBaseUrl,
  bindClientDevice,
  bindClientDeviceWithProfileDir,
  libraryInfo,
  openTokenStore,
} from 'stack-auth';

declare const crn: string;
declare const key: string;

async function useToken(s: AuthStrategy): Promise<string | undefined> {
  const r = await s.getToken();
  if (r.failure) {
    const code: string = r.failure.type;
    const err: Error = r.failure.error;
    const help: string | undefined = r.failure.help;
    void code, err, help;
    // @ts-expect-error: no data next to a failure
    r.data.token;
    return undefined;
  }
  const t: TokenResult = r.data;
  const services: Record<string, string> = t.services;
  const exp: number = t.expiresAt;
  void services, exp;
  return t.token;
}

async function main(): Promise<void> {
  // Factories are synchronous and return Results.
  const created = AccessKeyStrategy.create(crn, key);
  if (created.failure) {
    if (created.failure.type === 'WORKSPACE_MISMATCH') {
      const e: string = created.failure.expected;
      const a: string = created.failure.actual;
      void e, a;
    }
    // @ts-expect-error: expected/actual only after narrowing to WORKSPACE_MISMATCH
    created.failure.expected;
    return;
  }
  const strategy: AccessKeyStrategy = created.data;
  await useToken(strategy);
  const bounded = await strategy.getToken({ timeoutMs: 500 });
  if (bounded.data) {
    const inv: Result<boolean, AuthFailure> = strategy.invalidate(bounded.data.token);
    void inv;
  }
  // @ts-expect-error: invalidate takes the bearer string
  strategy.invalidate(bounded);
  strategy.close();

  // @ts-expect-error: create is not async
  await AccessKeyStrategy.create(crn, key).then;
  // @ts-expect-error: factories only
  new AccessKeyStrategy();
  // @ts-expect-error: a CRN is a string
  AccessKeyStrategy.create(42, key);

  // Stores: plain objects (sync or async), TokenStoreFn, InMemoryTokenStore, openTokenStore.
  const redisLike: TokenStore = {
    async load() {
      return null;
    },
    async save(json: string) {
      void json;
    },
  };
  const syncStore: TokenStore = { load: () => undefined, save: () => {} };
  const mem = new InMemoryTokenStore();
  const fnStore = TokenStoreFn.create({ load: () => null }, { timeoutMs: 500 });
  const file = openTokenStore('file:///tmp/tokens');
  const stores: Array<TokenStore | NativeTokenStore> = [redisLike, syncStore, mem];
  if (fnStore.data) stores.push(fnStore.data);
  if (file.data) stores.push(file.data);
  for (const store of stores) {
    const s = AccessKeyStrategy.create(crn, key, { store, baseUrl: 'http://127.0.0.1:1/', timeoutMs: 1000, leewaySecs: 30 });
    if (s.data) await useToken(s.data);
  }
  // @ts-expect-error: a store needs load/save
  AccessKeyStrategy.create(crn, key, { store: 'memory:' });
  // @ts-expect-error: unknown option
  AccessKeyStrategy.create(crn, key, { baseURL: 'x' });

  const auto: Result<AutoStrategy, AuthFailure> = AutoStrategy.detect();
  AutoStrategy.detect(null);
  AutoStrategy.detect({ accessKey: key, workspaceCrn: crn, store: mem, profileDir: '/tmp/p' });
  if (auto.data) await useToken(auto.data);

  const session = DeviceSessionStrategy.fromProfile();
  const alias: typeof DeviceSessionStrategy = OAuthStrategy;
  alias.fromProfile({ profileDir: '/tmp/p' });
  if (session.data) await useToken(session.data);

  OidcFederationStrategy.create(crn, async () => 'jwt');
  OidcFederationStrategy.create(crn, () => 'jwt', 'https://cts.example');
  OidcFederationStrategy.create(crn, () => 'jwt', { baseUrl: 'https://cts.example', store: redisLike, cacheCapacity: 8 });
  OidcFederationStrategy.createWithStore(
    crn,
    () => 'jwt',
    async () => null,
    async (json) => void json,
    null,
  );
  // @ts-expect-error: getJwt must produce a string
  OidcFederationStrategy.create(crn, () => 42);

  const fn = AuthStrategyFn.create(async () => 'token', { timeoutMs: 100 });
  AuthStrategyFn.create(() => 'token');
  // @ts-expect-error: the function must produce a string
  AuthStrategyFn.create(async () => 1);
  if (fn.data) await useToken(fn.data);
  StaticTokenStrategy.create('a.b.c');

  // Device-code flow.
  const begun = await beginDeviceCodeFlow('ap-southeast-2.aws', 'cli');
  await beginDeviceCodeFlow('ap-southeast-2.aws', undefined, { baseUrl: 'http://x/', profileDir: '/tmp/p' });
  await beginDeviceCodeFlowWithBaseUrl('ap-southeast-2.aws', 'cli', 'http://x/');
  if (begun.failure) return;
  const flow: DeviceCodeResult = begun.data;
  const shown: [string, string, string, number] = [flow.userCode, flow.verificationUri, flow.verificationUriComplete, flow.expiresIn];
  void shown;
  const opened: Result<boolean, AuthFailure> = flow.openInBrowser();
  void opened;
  const polled = await flow.pollForToken();
  if (polled.data) {
    const n: number = polled.data.expiresIn + polled.data.expiresAt;
    void n;
    // @ts-expect-error: the token is never exposed by the device flow
    polled.data.token;
  }
  await flow.pollForToken({ timeoutMs: 1000 });
  flow.close();
  const bound: Result<void, AuthFailure> = await bindClientDevice();
  await bindClientDevice({ profileDir: '/tmp/p' });
  await bindClientDeviceWithProfileDir('/tmp/p');
  void bound;

  const codes: readonly string[] = ERROR_CODES;
  const info: { version: string; abi: number; build: string } = libraryInfo();
  const isErr: boolean = new Error() instanceof AuthError;
  void codes, info, isErr;
}

void main;

// getToken({ jwt }) on an OIDC strategy; getJwt may be null.
async function oidcWithJwt(crn: string) {
  const r = OidcFederationStrategy.create(crn, null, 'http://127.0.0.1:1');
  if (r.data) {
    const t = await r.data.getToken({ jwt: 'a.b.c', timeoutMs: 1000 });
    if (t.data) t.data.token.toUpperCase();
  }
}
void oidcWithJwt;

// Issue 16 item 8: free(), the dispose symbols, failure.code, ./cookies.
export async function dropin(strategy: import('stack-auth').AccessKeyStrategy, request: Request): Promise<void> {
  strategy.free();
  const sync: { [Symbol.dispose](): void } = strategy;
  const async_: { [Symbol.asyncDispose](): Promise<void> } = strategy;
  void sync, async_;
  const r = await strategy.getToken();
  if (r.failure) {
    const code: import('stack-auth').StackAuthErrorCode = r.failure.code;
    const t: import('stack-auth').AuthErrorCode = (await import('stack-auth')).upstreamType(code);
    void t;
  }
  const { cookieStore } = await import('stack-auth/cookies');
  const responseHeaders = new Headers();
  const store = cookieStore({ request, responseHeaders, name: 'tok', sameSite: 'Strict', expirySafetyMarginSeconds: 10 });
  (await import('stack-auth')).AccessKeyStrategy.create('crn', 'key', { store });
}
