// A release directory for the tests: the two Lambda zips the construct deploys, written by the
// release's own zip writer (scripts/assets.py), with SHA256SUMS. Their `bootstrap` is a test
// fixture that refuses to run; the tests read the templates, they never invoke the function.
import { execFileSync } from 'child_process';
import { createHash } from 'crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { CloudFrontInvalidationAction } from '../src';

const { VERSION } = CloudFrontInvalidationAction;

export function fixtureRelease(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cf-invalidate-cdk-release-'));
  const source = join(dir, 'source');
  mkdirSync(source);
  writeFileSync(join(source, 'bootstrap'), '#!/bin/sh\necho "cf-invalidate-cdk test fixture, not a release" >&2\nexit 1\n');
  chmodSync(join(source, 'bootstrap'), 0o755);
  const sums: string[] = [];
  for (const arch of ['arm64', 'x86_64']) {
    const name = `cf-invalidate-lambda-${VERSION}-${arch}.zip`;
    execFileSync('python3', [join(__dirname, '..', '..', 'scripts', 'assets.py'), 'zip', join(dir, name), source, 'bootstrap'], {
      env: { ...process.env, SOURCE_DATE_EPOCH: '1767225600' },
    });
    sums.push(`${createHash('sha256').update(readFileSync(join(dir, name))).digest('hex')}  ${name}\n`);
  }
  writeFileSync(join(dir, 'SHA256SUMS'), sums.join(''));
  return dir;
}
