#!/usr/bin/env bash
# The problem and its cure, on this machine with no AWS account. local-aws plays S3, a CloudFront
# distribution with its edge cache, CodePipeline and Lambda:
#   1. a pipeline execution deploys v1 of a small site; viewers load it through the edge
#      (X-Cache: Miss, then Hit);
#   2. the next execution deploys v2, and the edge still serves v1 (Hit, with its Age);
#   3. the real cf-invalidate-lambda invalidates what changed and waits for Completed (the 8 s
#      invalidation outlasts each 6 s invocation, so the job crosses continuations), while the
#      viewers still get v1;
#   4. after Completed, the action itself fetches each changed file through the edge and compares
#      it with the artifact ("verify": the summary says "Verified 3 of 3 changed files fresh at
#      the edge"); after the verdict, the viewers get v2.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --workspace --bins
bin="${CARGO_TARGET_DIR:-target}/debug"

# The action's UserParameters, as written in the pipeline.
user_parameters='{"distributionId": "E2DEMO0EXAMPLE", "pathsFromArtifact": "changed", "directoryIndex": "index.html", "verify": true}'

site=$(mktemp -d)
trap 'rm -rf "$site"' EXIT
page() { # VERSION FILE TEXT
  mkdir -p "$(dirname "$site/$1/$2")"
  printf '%s\n' "$3" >"$site/$1/$2"
}
for v in v1 v2; do
  page $v index.html "<h1>Welcome ($v)</h1>"
  page $v css/site.css "body { color: $([ $v = v1 ] && echo black || echo teal) } /* $v */"
  page $v "menu du café.html" "<p>Today's menu ($v)</p>"
  page $v robots.txt "User-agent: *"
done

"$bin/local-aws" pipeline \
  --function "$bin/cf-invalidate-lambda" \
  --distribution E2DEMO0EXAMPLE:8s --origin E2DEMO0EXAMPLE=demo-site \
  --default-root-object E2DEMO0EXAMPLE=index.html \
  --lambda-timeout 6s \
  --previous-artifact "$site/v1" --artifact "$site/v2" \
  --deploy-to demo-site --deploy-cache-control max-age=300 \
  --view / --view /css/site.css --view '/menu%20du%20caf%C3%A9.html' \
  --user-parameters "$user_parameters" \
  "$@"
