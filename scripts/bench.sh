#!/usr/bin/env bash
# Benchmarks cf-invalidate on this machine, through local-aws (no AWS account): cold start and
# memory against a Python Lambda (boto3 under awslambdaric), completion-detection lag against
# `aws cloudfront wait invalidation-completed`, invocations per job, planning time (criterion)
# and size; and, on its own (--events), the S3-events function against the Python sample users
# copy. Writes docs/benchmarks.md and its charts under docs/benchmarks/.
#
# Usage: scripts/bench.sh [--smoke | --events | --artifact]
#   (none)    the full run: release build, criterion, then about 10 minutes of measurements;
#             keeps the S3-events section of docs/benchmarks.md as it is
#   --smoke   the tiny version CI runs (bench/tests/smoke.rs): debug build, one run of each,
#             2-3 s invalidations, no criterion; writes under target/bench/smoke/ instead
#   --events  only the S3-events comparison: cf-invalidate-events against the Python sample
#             users copy (bench/python_events_sample), 10,000 uploads through local-aws, and
#             our peak memory on the largest batch; release build of cf-invalidate-events and
#             the harness only; rewrites only the events section of docs/benchmarks.md and
#             docs/benchmarks/events.svg
#   --artifact  only pathsFromArtifact: a 10,000- and a 100,000-file site, then a build that
#             changes 12 files and deletes 1, through the release function and local-aws's S3;
#             prints a markdown table (bytes read, planning CPU, paths, peak memory)
#
# Needs Rust and Python 3 (3.11 tested). The Python side (awslambdaric, boto3, the AWS CLI)
# comes from PyPI, pinned in bench/python_baseline/requirements.txt, into target/bench-venv.
set -euo pipefail
cd "$(dirname "$0")/.."

smoke=false
events=false
artifact=false
case "${1:-}" in
  "") ;;
  --smoke) smoke=true ;;
  --events) events=true ;;
  --artifact) artifact=true ;;
  -h | --help)
    sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "bench.sh: unknown argument '$1' (use --smoke, --events, --artifact, or nothing)" >&2
    exit 2
    ;;
esac

target_dir="${CARGO_TARGET_DIR:-target}"
venv="$target_dir/bench-venv"
requirements=bench/python_baseline/requirements.txt
stamp="$venv/.requirements"
if ! cmp -s "$requirements" "$stamp" 2>/dev/null; then
  echo "bench.sh: preparing $venv with $(grep -v '^#' "$requirements" | xargs)" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$stamp"
fi

if $events; then
  # Two builds: the function alone, as it ships, then the harness.
  echo "bench.sh: cargo build --release -p cf-invalidate --bin cf-invalidate-events" >&2
  cargo build --release -p cf-invalidate --bin cf-invalidate-events
  echo "bench.sh: cargo build --release -p cf-invalidate-bench --bin cf-invalidate-bench" >&2
  cargo build --release -p cf-invalidate-bench --bin cf-invalidate-bench
  bin="$target_dir/release"
  harness=(
    "$bin/cf-invalidate-bench" --events-only
    --events-function "$bin/cf-invalidate-events"
    --python "$venv/bin/python"
    --events-sample-dir bench/python_events_sample
    --work-dir "$target_dir/bench"
    --report docs/benchmarks.md
    --events-chart docs/benchmarks/events.svg
    --profile release
    --command "./scripts/bench.sh --events"
  )
  echo "bench.sh: ${harness[*]}" >&2
  exec "${harness[@]}"
fi

if $artifact; then
  # pathsFromArtifact at 10,000 and 100,000 files: printed as a table for docs/benchmarks.md.
  echo "bench.sh: cargo build --release -p cf-invalidate --bin cf-invalidate-lambda" >&2
  cargo build --release -p cf-invalidate --bin cf-invalidate-lambda
  echo "bench.sh: cargo build --release -p cf-invalidate-bench --bin cf-invalidate-bench" >&2
  cargo build --release -p cf-invalidate-bench --bin cf-invalidate-bench
  bin="$target_dir/release"
  exec "$bin/cf-invalidate-bench" --artifact-only --lambda "$bin/cf-invalidate-lambda" \
    --python "$venv/bin/python"
fi

if $smoke; then
  profile=debug
  build=(cargo build)
  out="$target_dir/bench/smoke"
  report="$out/benchmarks.md"
  chart="$out/detection-lag.svg"
  command="./scripts/bench.sh --smoke"
else
  profile=release
  build=(cargo build --release)
  out="$target_dir/bench"
  report=docs/benchmarks.md
  chart=docs/benchmarks/detection-lag.svg
  command="./scripts/bench.sh"
fi

harness_flags=()
if $smoke; then
  harness_flags+=(--smoke)
else
  # First: `cargo bench` also builds the package's binaries, with the bench profile and the
  # dev-dependencies' features, into target/release/. The release builds below put the shipped
  # binaries back there, and those are the ones measured.
  echo "bench.sh: cargo bench -p cf-invalidate --bench plan (criterion, about a minute)" >&2
  cargo bench -p cf-invalidate --bench plan
  harness_flags+=(--criterion-dir "$target_dir/criterion")
fi

# Two builds, as in scripts/release.sh: the function with the harness (which uses no SDK crate),
# then the CLI, so that the function is measured without the CLI's SDK features.
echo "bench.sh: ${build[*]} -p cf-invalidate -p cf-invalidate-bench --bins" >&2
"${build[@]}" -p cf-invalidate -p cf-invalidate-bench --bins
echo "bench.sh: ${build[*]} -p cf-invalidate-cli --bins" >&2
"${build[@]}" -p cf-invalidate-cli --bins
bin="$target_dir/$profile"

harness=("$bin/cf-invalidate-bench" "${harness_flags[@]}")
harness+=(
  --lambda "$bin/cf-invalidate-lambda"
  --cli "$bin/cf-invalidate"
  --python "$venv/bin/python"
  --aws "$venv/bin/aws"
  --work-dir "$out"
  --target-dir "$target_dir"
  --report "$report"
  --chart "$chart"
  --profile "$profile"
  --command "$command"
)
echo "bench.sh: ${harness[*]}" >&2
exec "${harness[@]}"
