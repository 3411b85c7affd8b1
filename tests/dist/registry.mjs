// A read-only npm registry on 127.0.0.1 serving the tarballs of build/out/dist, for the package
// managers (yarn 1) that must resolve stack-auth's optional platform packages as from
// registry.npmjs.org: `file:` overrides would make them required. Prints its URL, then serves
// until killed.   node tests/dist/registry.mjs <dist dir>
import { createServer } from 'node:http';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dist = process.argv[2];
const packages = new Map(); // name -> { version: manifest }
for (const file of readdirSync(dist).filter((f) => f.endsWith('.tgz'))) {
  const data = readFileSync(join(dist, file));
  const manifest = JSON.parse(execFileSync('tar', ['-xzOf', join(dist, file), 'package/package.json'], { encoding: 'utf8' }));
  manifest._id = `${manifest.name}@${manifest.version}`;
  manifest.dist = {
    file,
    shasum: createHash('sha1').update(data).digest('hex'),
    integrity: 'sha512-' + createHash('sha512').update(data).digest('base64'),
  };
  if (!packages.has(manifest.name)) packages.set(manifest.name, {});
  packages.get(manifest.name)[manifest.version] = manifest;
}

const server = createServer((req, res) => {
  const path = decodeURIComponent(new URL(req.url, 'http://x').pathname).slice(1);
  if (path.startsWith('-/')) {
    const file = path.slice(2);
    if (!/^[\w.-]+\.tgz$/.test(file)) return res.writeHead(404).end();
    try {
      return res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(readFileSync(join(dist, file)));
    } catch {
      return res.writeHead(404).end();
    }
  }
  const versions = packages.get(path);
  if (!versions) return res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
  const base = `http://${req.headers.host}`;
  const out = {};
  for (const [v, m] of Object.entries(versions)) {
    const { file, ...d } = m.dist;
    out[v] = { ...m, dist: { ...d, tarball: `${base}/-/${file}` } };
  }
  const latest = Object.keys(out).sort().at(-1);
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ name: path, 'dist-tags': { latest }, versions: out }));
});
server.listen(0, '127.0.0.1', () => console.log(`http://127.0.0.1:${server.address().port}/`));
