'use strict';
// Demo: gets a token with AutoStrategy and prints one line (never the token itself).
// Needs CS_CLIENT_ACCESS_KEY, CS_WORKSPACE_CRN and CS_CTS_HOST in the environment (make demo
// sets them from a local emulator):
//
//     node bindings/node/demo.js
const { AutoStrategy } = require('.');

async function main() {
  const created = AutoStrategy.detect();
  if (created.failure) throw created.failure;
  const result = await created.data.getToken({ timeoutMs: 10000 });
  if (result.failure) throw result.failure;
  console.log(`  Node token: subject ${result.data.subject}, workspace ${result.data.workspaceId}`);
}

main().catch((failure) => {
  console.error(`  Node: error[${failure.type}]: ${failure.error ? failure.error.message : failure}`);
  process.exitCode = 1;
});
