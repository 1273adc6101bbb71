#!/usr/bin/env bash
# Builds what a deployment needs, for Linux on arm64 (default) or x86-64:
#   - the Lambda zips:  cargo lambda build --release --arm64 --output-format zip --bin <name>, for
#                       cf-invalidate-lambda (the pipeline action) and cf-invalidate-events (S3 events)
#   - the CLI binary:   cf-invalidate, for CodeBuild images of the same architecture
#   - copies of infra/template.yaml and infra/events.yaml whose CodeUri is the matching zip
# into target/dist/<arch>/, and prints their paths and sizes.
#
# Usage: scripts/package.sh [--arm64 | --x86-64]
#
# Needs Rust (rustup) and Python 3. cargo-lambda comes from PyPI, pinned, into target/package-venv,
# and brings zig (the ziglang wheel), which cross-compiles and links against Lambda's glibc.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_LAMBDA_VERSION=1.9.2
MAX_ZIP_BYTES=$((5 * 1024 * 1024)) # the budget: 5 MiB

arch=arm64
case "${1:-}" in
  "" | --arm64) arch=arm64 ;;
  --x86-64 | --x86_64) arch=x86_64 ;;
  -h | --help)
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "package.sh: unknown argument '$1' (use --arm64 or --x86-64)" >&2
    exit 2
    ;;
esac
if [[ $arch == arm64 ]]; then
  triple=aarch64-unknown-linux-gnu
  arch_flag=--arm64
else
  triple=x86_64-unknown-linux-gnu
  arch_flag=--x86-64
fi

target_dir="${CARGO_TARGET_DIR:-target}"
venv="$target_dir/package-venv"
if ! "$venv/bin/cargo-lambda" lambda --version 2>/dev/null | grep -q "^cargo-lambda $CARGO_LAMBDA_VERSION "; then
  echo "package.sh: installing cargo-lambda $CARGO_LAMBDA_VERSION from PyPI into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "cargo-lambda==$CARGO_LAMBDA_VERSION"
fi
# `cargo lambda` is found on PATH; zig is found as the venv's `python3 -m ziglang`.
export PATH="$PWD/$venv/bin:$PATH"

rustup target add "$triple" >/dev/null

# The functions' package alone, so that its features are not unified with the CLI's (the
# functions never compile clap or indicatif), one function at a time (each zip is named after
# its binary), then the CLI.
functions=(cf-invalidate-lambda cf-invalidate-events)
commands=()
for function in "${functions[@]}"; do
  commands+=("cargo lambda build --release $arch_flag --output-format zip -p cf-invalidate --bin $function")
done
commands+=("cargo lambda build --release $arch_flag -p cf-invalidate-cli --bin cf-invalidate")
for command in "${commands[@]}"; do
  echo "package.sh: $command" >&2
  $command
done

dist="$target_dir/dist/$arch"
rm -rf "$dist"
mkdir -p "$dist"
for function in "${functions[@]}"; do
  cp "$target_dir/lambda/$function/bootstrap.zip" "$dist/$function.zip"
done
cli="$dist/cf-invalidate"
# cargo-lambda moves each binary it builds to target/lambda/<name>/bootstrap.
cp "$target_dir/lambda/cf-invalidate/bootstrap" "$cli"

# For `aws cloudformation package`: the same templates, with CodeUri pointing at the zip instead
# of the Cargo workspace that `sam build` compiles. Each template deploys one function.
point_at_zip() { # <template in infra/> <zip>
  local code_uri_lines
  code_uri_lines=$(grep -c '^      CodeUri: \.\.$' "infra/$1" || true)
  if [[ $code_uri_lines != 1 ]]; then
    echo "package.sh: expected exactly one 'CodeUri: ..' line in infra/$1, found $code_uri_lines" >&2
    exit 1
  fi
  sed 's|^      CodeUri: \.\.$|      CodeUri: '"$2"'|' "infra/$1" >"$dist/$1"
}
point_at_zip template.yaml cf-invalidate-lambda.zip
point_at_zip events.yaml cf-invalidate-events.zip

size() { stat -c %s "$1"; }
human() { awk -v b="$1" 'BEGIN { printf "%.2f MiB", b / 1048576 }'; }
echo
over_budget=()
for function in "${functions[@]}"; do
  zip="$dist/$function.zip"
  zip_bytes=$(size "$zip")
  echo "Lambda zip ($arch):  $zip  $zip_bytes bytes ($(human "$zip_bytes"))"
  echo "  bootstrap inside:  $(size "$target_dir/$triple/release/$function") bytes unpacked"
  if ((zip_bytes > MAX_ZIP_BYTES)); then
    over_budget+=("$function.zip is $(human "$zip_bytes")")
  fi
done
if [[ -n $cli ]]; then
  cli_bytes=$(size "$cli")
  echo "CLI ($arch):         $cli  $cli_bytes bytes ($(human "$cli_bytes"))"
fi
echo "Templates for plain CloudFormation: $dist/template.yaml (pipeline action), $dist/events.yaml (S3 events)"
echo
echo "Deploy without SAM (see docs/deploy.md):"
echo "  aws cloudformation package --template-file $dist/template.yaml --s3-bucket YOUR_BUCKET --output-template-file $dist/packaged.yaml"
echo "  aws cloudformation deploy --template-file $dist/packaged.yaml --stack-name cf-invalidate \\"
echo "    --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND \\"
echo "    --parameter-overrides DistributionIds=YOUR_DISTRIBUTION_ID Architecture=$arch"
echo "  (the same with $dist/events.yaml, a stack name of its own and SiteBucket=YOUR_SITE_BUCKET"
echo "  for the S3 events function)"

if ((${#over_budget[@]} > 0)); then
  echo "package.sh: over the 5 MiB budget: ${over_budget[*]}" >&2
  exit 1
fi
