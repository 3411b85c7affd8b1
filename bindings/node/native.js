'use strict';
// Finds the prebuilt N-API addon for this platform. Published, the addon lives in one
// per-platform package (stack-auth-linux-x64-gnu, ...), an optional dependency of stack-auth
// that npm, pnpm and yarn install only where its os/cpu/libc fields match; nothing is ever
// compiled at install time. In the repository, `make node` builds ./build/Release instead.

const fs = require('node:fs');
const path = require('node:path');

const TARGETS = [
  'linux-x64-gnu', 'linux-arm64-gnu', 'linux-x64-musl', 'linux-arm64-musl',
  'win32-x64', 'darwin-x64', 'darwin-arm64',
];

function libc() {
  if (process.platform !== 'linux') return '';
  // glibcVersionRuntime is set when Node itself runs on glibc (napi-rs and esbuild ask the same).
  const header = process.report && process.report.getReport().header;
  return header && header.glibcVersionRuntime ? 'gnu' : 'musl';
}

/** This process's target name, e.g. "linux-x64-gnu" or "darwin-arm64". */
function target() {
  const c = libc();
  return `${process.platform}-${process.arch}${c ? `-${c}` : ''}`;
}

function load() {
  const dev = path.join(__dirname, 'build', 'Release', 'stack_auth.node');
  if (fs.existsSync(dev)) return require(dev);
  const t = target();
  const pkg = `stack-auth-${t}`;
  if (!TARGETS.includes(t)) {
    throw new Error(`stack-auth has no prebuilt library for ${t} (Node ${process.version}); ` +
      `supported: ${TARGETS.join(', ')}`);
  }
  try {
    return require(`${pkg}/stack_auth.node`);
  } catch (e) {
    if (e && e.code === 'MODULE_NOT_FOUND' && String(e.message).includes(pkg)) {
      throw new Error(`stack-auth: the package ${pkg} (this platform's prebuilt library, ${t}) is not ` +
        'installed. It is an optional dependency of stack-auth: reinstall without --no-optional / ' +
        '--omit=optional, and from a lockfile made on any platform (npm >= 7 records every platform).');
    }
    throw e;
  }
}

module.exports = { load, target, TARGETS };
