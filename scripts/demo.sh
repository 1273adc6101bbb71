#!/usr/bin/env bash
# A complete CodePipeline job on this machine, no AWS account needed: local-aws plays CloudFront,
# CodePipeline and Lambda, and drives the real cf-invalidate-lambda through an invalidation that
# outlasts one invocation, so the job crosses continuations before it succeeds.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --workspace --bins
exec target/debug/local-aws pipeline \
  --function target/debug/cf-invalidate-lambda \
  --distribution E2DEMO0EXAMPLE:8s \
  --lambda-timeout 6s \
  --user-parameters '{"distributionId": "E2DEMO0EXAMPLE", "paths": ["/index.html", "/css/*", "/img/logo.png"], "directoryIndex": "index.html"}' \
  "$@"
