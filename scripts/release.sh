#!/usr/bin/env bash
# Builds a release's assets into DIR, reproducibly (the same commit gives the same bytes in any
# directory):
#   cf-invalidate-VERSION-TRIPLE.tar.gz      the CLI, a static binary, with README.md and LICENSE
#                                            (x86_64-unknown-linux-musl, aarch64-unknown-linux-musl)
#   cf-invalidate-lambda-VERSION-ARCH.zip    the pipeline action's Lambda zip   (ARCH: arm64, x86_64;
#   cf-invalidate-events-VERSION-ARCH.zip    the S3-events function's Lambda zip  from the targets
#   cf-invalidate-lambda-VERSION-ARCH.yaml   infra/template.yaml with CodeUri     aarch64- and
#   cf-invalidate-events-VERSION-ARCH.yaml   infra/events.yaml    on that zip     x86_64-unknown-linux-gnu)
#   README.md, LICENSE                       what the templates' SAR metadata points at
#   SHA256SUMS                               every file above, as `sha256sum -c` reads it
#
# Usage: scripts/release.sh --out DIR [--target TRIPLE]...   (default: all four targets)
#
# VERSION is the workspace version. Needs Rust (rustup) and Python 3: cargo-lambda comes from PyPI,
# pinned, into target/package-venv, and brings zig, which links the musl binaries statically and
# the Lambda binaries against Lambda's glibc. Timestamps come from the commit (SOURCE_DATE_EPOCH),
# build paths are remapped out of the binaries, and archives list their files in a fixed order
# with fixed owners and modes.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

CARGO_LAMBDA_VERSION=1.9.2
MAX_ZIP_BYTES=$((5 * 1024 * 1024)) # the Lambda zip's budget: 5 MiB
ALL_TARGETS=(x86_64-unknown-linux-musl aarch64-unknown-linux-musl aarch64-unknown-linux-gnu x86_64-unknown-linux-gnu)

usage() { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; }
fail() {
  echo "release.sh: $*" >&2
  exit 2
}

out=""
targets=()
while (($# > 0)); do
  case "$1" in
    --out)
      [[ $# -ge 2 && -n $2 ]] || fail "--out needs a directory, as in --out /tmp/release"
      out=$2
      shift 2
      ;;
    --target)
      [[ $# -ge 2 ]] || fail "--target needs one of: ${ALL_TARGETS[*]}"
      [[ " ${ALL_TARGETS[*]} " == *" $2 "* ]] || fail "unknown target '$2': use one of ${ALL_TARGETS[*]}"
      targets+=("$2")
      shift 2
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) fail "unknown argument '$1' (see --help)" ;;
  esac
done
[[ -n $out ]] || fail "--out DIR is required (see --help)"
((${#targets[@]} > 0)) || targets=("${ALL_TARGETS[@]}")

version=$(cargo pkgid -p cf-invalidate-cli | sed 's/.*[@#]//')
commit=$(git rev-parse HEAD)
if [[ -n $(git status --porcelain --untracked-files=no) ]]; then
  echo "release.sh: warning: the work tree has uncommitted changes; these assets are not commit $commit's" >&2
fi
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}"
export CF_INVALIDATE_COMMIT=$commit

target_dir="${CARGO_TARGET_DIR:-target}"
mkdir -p "$target_dir"
target_dir=$(cd "$target_dir" && pwd)
export CARGO_TARGET_DIR=$target_dir
cargo_home="${CARGO_HOME:-$HOME/.cargo}"
rustup_home="${RUSTUP_HOME:-$HOME/.rustup}"

# The paths of this machine out of the binaries (panic locations, C assertions): rustc applies the
# last prefix that matches, so the target directory, which may sit inside the checkout, comes last.
remaps=("$rustup_home=/rustup" "$cargo_home=/cargo" "$root=/build/cf-invalidate" "$target_dir=/build/target")
rustflags=()
cflags=()
for remap in "${remaps[@]}"; do
  rustflags+=("--remap-path-prefix=$remap")
  cflags+=("-ffile-prefix-map=$remap")
done
export RUSTFLAGS="${rustflags[*]}"
export CFLAGS="${cflags[*]}"
export CXXFLAGS="${cflags[*]}"

venv="$target_dir/package-venv"
if ! "$venv/bin/cargo-lambda" lambda --version 2>/dev/null | grep -q "^cargo-lambda $CARGO_LAMBDA_VERSION "; then
  echo "release.sh: installing cargo-lambda $CARGO_LAMBDA_VERSION from PyPI into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "cargo-lambda==$CARGO_LAMBDA_VERSION"
fi
# `cargo lambda` is found on PATH; zig is found as the venv's `python3 -m ziglang`.
export PATH="$venv/bin:$PATH"

mkdir -p "$out"
out=$(cd "$out" && pwd)
stage="$target_dir/release-stage"
rm -rf "$stage"
mkdir -p "$stage"

assets() { python3 "$root/scripts/assets.py" "$@"; }

build() { # <triple> <cargo lambda build arguments>...
  local triple=$1
  shift
  rustup target add "$triple" >/dev/null
  echo "release.sh: cargo lambda build --release --target $triple $*" >&2
  cargo lambda build --release --target "$triple" "$@" >&2
}

produced=()
for triple in "${targets[@]}"; do
  case "$triple" in
    *-linux-musl)
      build "$triple" -p cf-invalidate-cli --bin cf-invalidate
      dir="$stage/cf-invalidate-$version-$triple"
      mkdir -p "$dir"
      # cargo-lambda moves each binary it builds to target/lambda/<name>/bootstrap.
      cp "$target_dir/lambda/cf-invalidate/bootstrap" "$dir/cf-invalidate"
      cp README.md LICENSE "$dir/"
      name="cf-invalidate-$version-$triple.tar.gz"
      assets tar "$out/$name" "$dir" cf-invalidate README.md LICENSE
      produced+=("$name")
      ;;
    *-linux-gnu)
      arch=${triple%%-*}
      [[ $arch == aarch64 ]] && arch=arm64
      # The functions' package alone, so that its features are not unified with the CLI's (the
      # functions never compile clap or indicatif).
      build "$triple" -p cf-invalidate --bin cf-invalidate-lambda --bin cf-invalidate-events
      for function in cf-invalidate-lambda cf-invalidate-events; do
        dir="$stage/$function-$arch"
        mkdir -p "$dir"
        cp "$target_dir/lambda/$function/bootstrap" "$dir/bootstrap"
        zip_name="$function-$version-$arch.zip"
        assets zip "$out/$zip_name" "$dir" bootstrap
        zip_bytes=$(stat -c %s "$out/$zip_name")
        if ((zip_bytes > MAX_ZIP_BYTES)); then
          fail "$zip_name is $zip_bytes bytes, over the 5 MiB budget"
        fi
        produced+=("$zip_name")
      done
      assets template infra/template.yaml "cf-invalidate-lambda-$version-$arch.zip" "$arch" \
        "$out/cf-invalidate-lambda-$version-$arch.yaml"
      assets template infra/events.yaml "cf-invalidate-events-$version-$arch.zip" "$arch" \
        "$out/cf-invalidate-events-$version-$arch.yaml"
      produced+=("cf-invalidate-lambda-$version-$arch.yaml" "cf-invalidate-events-$version-$arch.yaml")
      if [[ " ${produced[*]} " != *" README.md "* ]]; then
        cp README.md LICENSE "$out/"
        touch -d "@$SOURCE_DATE_EPOCH" "$out/README.md" "$out/LICENSE"
        produced+=(README.md LICENSE)
      fi
      ;;
  esac
done

# Every file of this run, sorted, in the format `sha256sum -c SHA256SUMS` reads.
(cd "$out" && printf '%s\n' "${produced[@]}" | LC_ALL=C sort | xargs sha256sum >SHA256SUMS)
touch -d "@$SOURCE_DATE_EPOCH" "$out/SHA256SUMS"

echo "release.sh: cf-invalidate $version (commit $commit, $(rustc --version), cargo-lambda $CARGO_LAMBDA_VERSION) in $out:" >&2
(cd "$out" && for file in $(LC_ALL=C sort <<<"$(printf '%s\n' "${produced[@]}")") SHA256SUMS; do
  printf '  %-52s %10s bytes\n' "$file" "$(stat -c %s "$file")"
done) >&2
