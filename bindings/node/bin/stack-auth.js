#!/usr/bin/env node
'use strict';
// `npx stack-auth ...`: runs the Go CLI from this platform's stack-auth-cli-<target> package.
const { spawnSync } = require('node:child_process');
const { target } = require('../native.js');

const pkg = `stack-auth-cli-${target()}`;
let exe;
try {
  exe = require.resolve(`${pkg}/stack-auth${process.platform === 'win32' ? '.exe' : ''}`);
} catch {
  console.error(`stack-auth: the CLI for ${target()} (${pkg}) is not installed; it is an optional ` +
    'dependency of stack-auth (reinstall without --omit=optional), or download the CLI archive for your platform.');
  process.exit(1);
}
const r = spawnSync(exe, process.argv.slice(2), { stdio: 'inherit' });
if (r.error) {
  console.error(`stack-auth: ${r.error.message}`);
  process.exit(1);
}
process.exit(r.status === null ? 1 : r.status);
