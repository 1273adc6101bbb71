// Puts the release's Lambda zips into this package, checked against the release's SHA256SUMS.
//
//   node scripts/bundle.mjs --release DIR [--into OUT]
//                                           copies cf-invalidate-lambda-VERSION-{arm64,x86_64}.zip
//                                           from DIR (scripts/release.sh --out DIR, or a downloaded
//                                           release) into assets/ (or OUT), with their lines of
//                                           SHA256SUMS
//   node scripts/bundle.mjs --check         exits 1 unless assets/ holds both zips and they match
//                                           assets/SHA256SUMS (npm pack runs it)
//
// VERSION is this package's version, which is the release's: the construct runs the zip of the
// release it was published with.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
let assets = join(here, '..', 'assets');
const { version } = JSON.parse(readFileSync(join(here, '..', 'package.json'), 'utf8'));
const names = ['arm64', 'x86_64'].map((arch) => `cf-invalidate-lambda-${version}-${arch}.zip`);

function fail(message) {
  console.error(`bundle: ${message}`);
  process.exit(1);
}

function sums(dir) {
  const file = join(dir, 'SHA256SUMS');
  if (!existsSync(file)) fail(`${file} is missing: give the directory of a whole release`);
  const table = new Map();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^([0-9a-f]{64}) [ *](.+)$/.exec(line.trim());
    if (match) table.set(match[2], match[1]);
  }
  return table;
}

function checked(dir, table) {
  for (const name of names) {
    const file = join(dir, name);
    if (!existsSync(file)) fail(`${file} is missing: the release of version ${version} has it`);
    const expected = table.get(name);
    if (!expected) fail(`SHA256SUMS in ${dir} has no line for ${name}`);
    const actual = createHash('sha256').update(readFileSync(file)).digest('hex');
    if (actual !== expected) fail(`${file} has sha256 ${actual}, but SHA256SUMS says ${expected}`);
  }
}

const [flag, dir, into, out] = process.argv.slice(2);
if (into === '--into' && out) assets = out;
if (flag === '--release' && dir && (into === undefined || assets === out)) {
  const table = sums(dir);
  checked(dir, table);
  mkdirSync(assets, { recursive: true });
  for (const name of names) copyFileSync(join(dir, name), join(assets, name));
  writeFileSync(join(assets, 'SHA256SUMS'), names.map((name) => `${table.get(name)}  ${name}\n`).join(''));
  console.log(`bundle: ${names.join(', ')} from ${dir}`);
} else if (flag === '--check' && !dir) {
  checked(assets, sums(assets));
} else {
  fail('usage: node scripts/bundle.mjs --release DIR [--into OUT] | --check');
}
