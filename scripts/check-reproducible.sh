#!/usr/bin/env bash
# Proves that a release is reproducible: builds the x86_64 static CLI's tarball from this commit
# twice, in two clones at different paths with different target directories, and compares the
# bytes; then checks that SHA256SUMS verifies and that the CLI for this machine's CPU is static
# and names the release and commit. Exit 0 when all holds; 1, saying what failed, when not.
#
# Usage: scripts/check-reproducible.sh [--target TRIPLE]...   (default: x86_64-unknown-linux-musl)
#
# It builds the commit (HEAD), not uncommitted changes. Each build compiles everything anew (a few
# minutes on 2 cores); the crates are downloaded once, into the shared cargo home.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=()
while (($# > 0)); do
  case "$1" in
    --target)
      [[ $# -ge 2 ]] || { echo "check-reproducible.sh: --target needs a triple" >&2; exit 2; }
      targets+=(--target "$2")
      shift 2
      ;;
    -h | --help)
      sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "check-reproducible.sh: unknown argument '$1' (see --help)" >&2
      exit 2
      ;;
  esac
done
((${#targets[@]} > 0)) || targets=(--target x86_64-unknown-linux-musl)

commit=$(git rev-parse HEAD)
if [[ -n $(git status --porcelain --untracked-files=no) ]]; then
  echo "check-reproducible.sh: note: uncommitted changes are not built; this checks commit $commit" >&2
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/cf-invalidate-repro.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Two places that share nothing but the commit: different depths and names, own target dirs.
first="$work/a"
second="$work/elsewhere/with-a-longer-name/b"
for clone in "$first" "$second"; do
  git clone --quiet --no-hardlinks "$PWD" "$clone"
  git -C "$clone" checkout --quiet "$commit"
  started=$SECONDS
  (cd "$clone" && CARGO_TARGET_DIR="$clone/target" ./scripts/release.sh --out "$clone/out" "${targets[@]}") \
    >"$clone.log" 2>&1 || {
    tail -40 "$clone.log" >&2
    echo "check-reproducible.sh: the release build in $clone failed (log above)" >&2
    exit 1
  }
  echo "check-reproducible.sh: built in $clone in $((SECONDS - started)) s" >&2
done

echo "check-reproducible.sh: SHA256SUMS of both builds:" >&2
sed 's/^/  /' "$first/out/SHA256SUMS" >&2
if ! cmp -s "$first/out/SHA256SUMS" "$second/out/SHA256SUMS"; then
  echo "check-reproducible.sh: the builds differ:" >&2
  diff "$first/out/SHA256SUMS" "$second/out/SHA256SUMS" >&2 || true
  exit 1
fi
while read -r _ name; do
  cmp "$first/out/$name" "$second/out/$name" >&2 || exit 1
done <"$first/out/SHA256SUMS"
echo "check-reproducible.sh: identical: commit $commit gives the same bytes in both places" >&2

# What a user gets: the sums verify, and each CLI for this machine's CPU is a static binary
# that runs and names this release and commit.
(cd "$first/out" && sha256sum --quiet -c SHA256SUMS) >&2 || {
  echo "check-reproducible.sh: SHA256SUMS does not verify the files beside it" >&2
  exit 1
}
version=$(cargo pkgid -p cf-invalidate-cli | sed 's/.*[@#]//')
for tarball in "$first/out"/cf-invalidate-*-"$(uname -m)"-unknown-linux-musl.tar.gz; do
  [[ -f $tarball ]] || continue
  unpacked="$work/unpacked"
  mkdir -p "$unpacked"
  tar -xzf "$tarball" -C "$unpacked"
  binary=$(echo "$unpacked"/cf-invalidate-*/cf-invalidate)
  # Static: no program interpreter and no shared library it needs.
  if readelf -l "$binary" | grep -q INTERP || readelf -d "$binary" | grep -q NEEDED; then
    echo "check-reproducible.sh: $(basename "$tarball") holds a dynamically linked binary:" >&2
    readelf -d "$binary" | grep NEEDED >&2 || true
    exit 1
  fi
  said=$("$binary" --version)
  if [[ $said != "cf-invalidate $version (commit ${commit:0:12})" ]]; then
    echo "check-reproducible.sh: $(basename "$tarball") says '$said', not cf-invalidate $version (commit ${commit:0:12})" >&2
    exit 1
  fi
  echo "check-reproducible.sh: $(basename "$tarball"): static, $(stat -c %s "$binary") bytes, says '$said'" >&2
done
