'use strict';
// A script written against @cipherstash/auth 0.42's documented API (its README and
// index.d.ts), configured only through the environment as an upstream user would be
// (CS_CTS_HOST, CS_CLIENT_ACCESS_KEY, CS_WORKSPACE_CRN, CS_CONFIG_PATH). The only change for
// this package is the module name in the require below.
const {
  AccessKeyStrategy,
  AutoStrategy,
  DeviceSessionStrategy,
  OAuthStrategy,
  OidcFederationStrategy,
  beginDeviceCodeFlow,
  bindClientDevice,
} = require('stack-auth');

const workspaceCrn = process.env.CS_WORKSPACE_CRN;
const accessKey = process.env.CS_CLIENT_ACCESS_KEY;

async function show(label, strategy) {
  // README "Working with tokens directly"
  const result = await strategy.getToken();
  if (result.failure) {
    console.log(`${label}: failure ${result.failure.type}`);
    return;
  }
  const { token, workspaceId, services } = result.data;
  console.log(`${label}: workspace ${workspaceId}, zerokms ${services.zerokms ? 'yes' : 'no'}, bearer ${token.split('.').length === 3 ? 'jwt' : '?'}`);
}

async function main() {
  // README "Error handling": factories return a Result.
  const created = AccessKeyStrategy.create(workspaceCrn, accessKey);
  if (created.failure) {
    console.log(`create: failure ${created.failure.type}`);
    return;
  }
  const strategy = created.data;
  await show('access key', strategy);

  const result = await strategy.getToken();
  if (result.failure) {
    console.error(result.failure.type);
    console.error(result.failure.error.message);
    console.error(result.failure.help);
  } else {
    console.log(`same token again: ${typeof result.data.token === 'string'}`);
  }

  // A key of another workspace: WORKSPACE_MISMATCH with expected/actual.
  const other = AccessKeyStrategy.create(workspaceCrn, process.env.OTHER_ACCESS_KEY).data;
  const mismatch = await other.getToken();
  if (mismatch.failure && mismatch.failure.type === 'WORKSPACE_MISMATCH') {
    console.log(`mismatch: expected ${mismatch.failure.expected === process.env.EXPECTED_WS}, actual ${mismatch.failure.actual === process.env.OTHER_WS}`);
    console.log(`error is Error with code: ${mismatch.failure.error instanceof Error && mismatch.failure.error.code === 'WORKSPACE_MISMATCH'}`);
  }

  const bad = AccessKeyStrategy.create('crn:nope', accessKey);
  console.log(`bad crn: ${bad.failure ? bad.failure.type : 'ok'}`);

  const auto = AutoStrategy.detect();
  if (auto.failure) console.log(`auto: failure ${auto.failure.type}`);
  else await show('auto', auto.data);

  const explicit = AutoStrategy.detect({ accessKey, workspaceCrn });
  await show('auto with options', explicit.data);

  // README "Federating a third-party OIDC JWT": the same API on the Node entry.
  const oidc = OidcFederationStrategy.create(workspaceCrn, async () => process.env.OIDC_JWT);
  await show('oidc', oidc.data);
  let saved = null;
  let savedNow;
  const savedOnce = new Promise((resolve) => (savedNow = resolve));
  const oidcStored = OidcFederationStrategy.createWithStore(
    workspaceCrn,
    () => process.env.OIDC_JWT,
    async () => saved,
    async (json) => {
      saved = json;
      savedNow();
    },
    process.env.CS_CTS_HOST,
  );
  await show('oidc with store', oidcStored.data);
  await savedOnce; // here the save may follow the token (stack-auth wakes callers first)
  console.log(`oidc saved: ${typeof saved === 'string'}`);

  // index.d.ts: beginDeviceCodeFlow resolves a Result of DeviceCodeResult.
  const begun = await beginDeviceCodeFlow(process.env.REGION, 'cli');
  if (begun.failure) {
    console.log(`device: failure ${begun.failure.type}`);
    return;
  }
  const flow = begun.data;
  console.log(`device code: ${/^[A-Z0-9]{4}-[A-Z0-9]{4}$/.test(flow.userCode)}, uri ${flow.verificationUri.startsWith('http')}`);
  const auth = await flow.pollForToken();
  if (auth.failure) console.log(`poll: failure ${auth.failure.type}`);
  else console.log(`Token expires in ${auth.data.expiresIn > 0 ? 'some' : 'no'} seconds`);
  const again = await flow.pollForToken();
  console.log(`poll again: ${again.failure ? again.failure.type : 'ok'}`);

  const session = DeviceSessionStrategy.fromProfile();
  await show('device session', session.data);
  console.log(`OAuthStrategy alias: ${OAuthStrategy === DeviceSessionStrategy}`);

  const bound = await bindClientDevice();
  console.log(`bind: ${bound.failure ? bound.failure.type : 'ok'}`);
}

main();
