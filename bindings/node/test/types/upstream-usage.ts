// The TypeScript examples of @cipherstash/auth 0.42's README and index.d.ts, unchanged but
// for the module name: they must type-check against this package.
import { AccessKeyStrategy, OidcFederationStrategy, beginDeviceCodeFlow } from 'stack-auth';

declare const workspaceCrn: string;
declare const accessKey: string;
declare function use(token: string): void;
declare function getClerkSessionToken(): Promise<string>;
declare const redis: { get(k: string): Promise<string | null>; set(k: string, v: string): Promise<void> };

export async function errorHandling(): Promise<void> {
  // README "Error handling"
  const created = AccessKeyStrategy.create(workspaceCrn, accessKey);
  if (created.failure) {
    if (created.failure.type === 'WORKSPACE_MISMATCH') {
      console.error(`expected ${created.failure.expected}, got ${created.failure.actual}`);
    }
    return;
  }
  const strategy = created.data;

  const result = await strategy.getToken();
  if (result.failure) {
    console.error(result.failure.type); // e.g. "EXPIRED_TOKEN"
    console.error(result.failure.error.message); // human-readable description
    console.error(result.failure.help); // actionable hint, when available
  } else {
    use(result.data.token); // result.data: TokenResult
  }
}

export async function tokensDirectly(strategy: AccessKeyStrategy): Promise<void> {
  // README "Working with tokens directly"
  const result = await strategy.getToken();
  if (result.failure) {
    console.error(result.failure.type);
    return;
  }
  const { token, workspaceId, services } = result.data;
  void token, workspaceId, services.zerokms;
}

export function rollYourOwnStore() {
  // README "Rolling your own store"
  const strategy = AccessKeyStrategy.create(workspaceCrn, accessKey, {
    store: {
      async load() {
        return await redis.get('cs:token'); /* string | null */
      },
      async save(json: string) {
        await redis.set('cs:token', json);
      },
    },
  });
  return strategy;
}

export function oidc() {
  // README "Federating a third-party OIDC JWT" and index.d.ts
  const a = OidcFederationStrategy.create(workspaceCrn, () => getClerkSessionToken());
  const b = OidcFederationStrategy.create(workspaceCrn, async () => 'jwt', 'https://cts.example');
  const c = OidcFederationStrategy.createWithStore(
    workspaceCrn,
    () => getClerkSessionToken(),
    async () => null,
    async (json: string) => void json,
  );
  return [a, b, c];
}

export async function deviceCode(region: string, clientId: string): Promise<void> {
  // index.d.ts: beginDeviceCodeFlow -> Promise<Result<DeviceCodeResult>>
  const begun = await beginDeviceCodeFlow(region, clientId);
  if (begun.failure) return;
  const result = begun.data;
  console.log(`Go to ${result.verificationUri} and enter code: ${result.userCode}`);
  result.openInBrowser();
  const auth = await result.pollForToken();
  if (auth.data) console.log(`Token expires in ${auth.data.expiresIn} seconds`);
}

// An exhaustive switch over upstream 0.42's failure types, as an application writes it:
// it must still compile (no type beyond upstream's reaches `never`).
export function describeFailure(f: import('stack-auth').AuthFailure): string {
  switch (f.type) {
    case 'REQUEST_ERROR':
    case 'ACCESS_DENIED':
    case 'EXPIRED_TOKEN':
    case 'INVALID_GRANT':
    case 'INVALID_CLIENT':
    case 'INVALID_URL':
    case 'INVALID_REGION':
    case 'INVALID_TOKEN':
    case 'SERVER_ERROR':
    case 'NOT_AUTHENTICATED':
    case 'MISSING_WORKSPACE_CRN':
    case 'INVALID_ACCESS_KEY':
    case 'INVALID_CRN':
    case 'INVALID_WORKSPACE_ID':
    case 'ALREADY_CONSUMED':
    case 'INTERNAL_ERROR':
    case 'CUSTOM':
    case 'STORE_ERROR':
      return f.error.message;
    case 'WORKSPACE_MISMATCH':
      return `${f.expected} != ${f.actual}`;
    default: {
      const unreachable: never = f;
      return unreachable;
    }
  }
}
