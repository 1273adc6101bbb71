#!/usr/bin/env bash
# The whole test suite on a fresh machine: prepares the Python tools the tests drive, then runs cargo.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/prepare-tools.sh
export AWS_CLI="$PWD/.venv/bin/aws"
export CFN_LINT="$PWD/.venv/bin/cfn-lint"

if cargo nextest --version >/dev/null 2>&1; then
  exec cargo nextest run --workspace --no-fail-fast "$@"
else
  echo "test.sh: cargo-nextest not found, using cargo test" >&2
  exec cargo test --workspace --no-fail-fast "$@"
fi
