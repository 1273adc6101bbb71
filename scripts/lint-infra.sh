#!/usr/bin/env bash
# cfn-lint on every CloudFormation / SAM template in infra/, where any error or warning fails, and
# on the CDK example app's template (cdk/examples/static-site.ts, synthesised by the construct's
# tests into cdk/cdk.out/static-site), where any error fails.
set -euo pipefail
cd "$(dirname "$0")/.."

cfn_lint="${CFN_LINT:-.venv/bin/cfn-lint}"
if [[ ! -x "$cfn_lint" ]]; then
  echo "lint-infra.sh: cfn-lint not found at $cfn_lint." >&2
  echo "  Run ./scripts/test.sh once (it creates .venv from scripts/requirements-test.txt)," >&2
  echo "  or: python3 -m venv .venv && .venv/bin/pip install -r scripts/requirements-test.txt" >&2
  echo "  or set CFN_LINT to a cfn-lint executable." >&2
  exit 2
fi

shopt -s nullglob
templates=(infra/*.yaml infra/*.yml infra/*.json)
if [[ ${#templates[@]} -eq 0 ]]; then
  echo "lint-infra.sh: no template in infra/" >&2
  exit 2
fi

echo "lint-infra.sh: $("$cfn_lint" --version) on ${templates[*]}"
"$cfn_lint" -- "${templates[@]}"
echo "lint-infra.sh: no errors or warnings in ${#templates[@]} templates"

example=cdk/cdk.out/static-site/StaticSite.template.json
if [[ ! -f $example ]]; then
  echo "lint-infra.sh: $example is missing: run \`cd cdk && npm ci && npm test\` first (it synthesises the example)" >&2
  exit 2
fi
# Errors only: CDK writes DependsOn on the roles its resources already reference (W3005).
"$cfn_lint" --non-zero-exit-code error -- "$example"
echo "lint-infra.sh: no errors in $example"
