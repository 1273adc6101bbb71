#!/usr/bin/env bash
# The whole test suite on a fresh machine: prepares the Python tools the tests drive, then runs
# cargo's tests and the CDK construct's (npm).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/prepare-tools.sh
export AWS_CLI="$PWD/.venv/bin/aws"
export CFN_LINT="$PWD/.venv/bin/cfn-lint"

status=0
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@" || status=$?
else
  echo "test.sh: cargo-nextest not found, using cargo test" >&2
  cargo test --workspace --no-fail-fast "$@" || status=$?
fi

# The CDK construct's tests (Node 20 and npm): with arguments, only the cargo tests they select.
if (($# == 0)); then
  (cd cdk && npm ci --no-audit --no-fund && npm test) || status=$?
else
  echo "test.sh: arguments given, so the CDK construct's tests (cd cdk && npm test) did not run" >&2
fi
exit "$status"
