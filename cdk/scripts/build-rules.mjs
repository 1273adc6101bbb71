// Builds the UserParameters rules (the Rust crate in rules/, the function's own parser) to
// WebAssembly and copies the module to assets/rules.wasm, which the construct loads at synth time.
// Needs Rust; adds the wasm32-unknown-unknown target through rustup when it is missing.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const TARGET = 'wasm32-unknown-unknown';
const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');

function run(command, args) {
  execFileSync(command, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
}

let installed = '';
try {
  installed = execFileSync('rustup', ['target', 'list', '--installed'], { cwd: root }).toString();
} catch {
  // No rustup: cargo alone may still have the target (a distribution's Rust).
}
if (installed && !installed.split('\n').includes(TARGET)) {
  run('rustup', ['target', 'add', TARGET]);
}
try {
  run('cargo', ['build', '--locked', '--release', '-p', 'cf-invalidate-rules', '--target', TARGET]);
} catch (error) {
  console.error(`build-rules: cargo could not build the rules for ${TARGET}: install Rust (rustup) and run again`);
  process.exit(1);
}
const targetDir = process.env.CARGO_TARGET_DIR ? resolve(root, process.env.CARGO_TARGET_DIR) : join(root, 'target');
mkdirSync(join(here, '..', 'assets'), { recursive: true });
copyFileSync(join(targetDir, TARGET, 'release', 'cf_invalidate_rules.wasm'), join(here, '..', 'assets', 'rules.wasm'));
