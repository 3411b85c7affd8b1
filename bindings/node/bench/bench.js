'use strict';
// Benchmark figures (no assertions): the cached getToken() path (sa_try_get_token, never
// leaving the JS thread) and 10,000 concurrent callers coalescing on one refresh.
const sa = require('..');
const { startEmulator, clearCsEnv } = require('../test/helpers');

const OPS = Number(process.env.BENCH_OPS || 300000);
const CALLERS = 10000;

async function cached(emu) {
  const s = sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, { baseUrl: emu.url }).data;
  await s.getToken();
  for (let i = 0; i < 20000; i++) await s.getToken(); // warm up (JIT)
  const rounds = [];
  for (let r = 0; r < 5; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < OPS; i++) await s.getToken();
    rounds.push(Number(process.hrtime.bigint() - t0) / OPS);
  }
  s.close();
  rounds.sort((a, b) => a - b);
  return rounds;
}

async function coalescing(emu) {
  await emu.config({ tokenTtlSecs: 2 });
  const s = sa.AccessKeyStrategy.create(emu.workspaceCrn, emu.accessKey, { baseUrl: emu.url }).data;
  const first = (await s.getToken()).data;
  await new Promise((r) => setTimeout(r, Math.max(0, first.expiresAt * 1000 - Date.now() + 150)));
  await emu.config({ tokenTtlSecs: 900 });
  await emu.clearRequests();
  const t0 = process.hrtime.bigint();
  const ps = new Array(CALLERS);
  for (let i = 0; i < CALLERS; i++) ps[i] = s.getToken();
  const rs = await Promise.all(ps);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const ok = rs.filter((r) => r.data).length;
  const upstream = (await emu.requests('/api/authorise')).length;
  s.close();
  return { ms, ok, upstream };
}

(async () => {
  clearCsEnv();
  const emu = await startEmulator();
  try {
    const rounds = await cached(emu);
    console.log(
      `node: cached getToken(): ${rounds[2].toFixed(0)} ns/op median of 5 x ${OPS} (best ${rounds[0].toFixed(0)}, worst ${rounds[4].toFixed(0)})`,
    );
    const c = await coalescing(emu);
    console.log(
      `node: ${CALLERS} concurrent getToken() on an expired token: ${c.ms.toFixed(1)} ms for all, ${c.ok} tokens, ${c.upstream} upstream request(s)`,
    );
  } finally {
    await emu.stop();
  }
})();
