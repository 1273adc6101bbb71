#!/usr/bin/env bash
# The whole test suite on a fresh machine: prepares the Python tools the tests drive, then runs cargo.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv
requirements=scripts/requirements-test.txt
stamp="$venv/.requirements"
if ! cmp -s "$requirements" "$stamp" 2>/dev/null; then
  echo "test.sh: preparing $venv with $(grep -v '^#' "$requirements" | xargs)" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$stamp"
fi
export AWS_CLI="$PWD/$venv/bin/aws"
export CFN_LINT="$PWD/$venv/bin/cfn-lint"

if cargo nextest --version >/dev/null 2>&1; then
  exec cargo nextest run --workspace --no-fail-fast "$@"
else
  echo "test.sh: cargo-nextest not found, using cargo test" >&2
  exec cargo test --workspace --no-fail-fast "$@"
fi
