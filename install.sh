#!/bin/sh
# Installs the cf-invalidate CLI from a GitHub release, and only once its checksum matches the
# release's SHA256SUMS (usage() below lists the options):
#
#   curl -fsSL https://raw.githubusercontent.com/cf-invalidate/cf-invalidate/v0.2.0/install.sh | sh -s -- --version 0.2.0 --dir /usr/local/bin
#
# POSIX sh. All the work is done by main(), called on the last line: a download of this script
# that was cut short runs nothing.

DEFAULT_VERSION=0.2.0
DEFAULT_DOWNLOAD_URL=https://github.com/cf-invalidate/cf-invalidate/releases/download
REPOSITORY=https://github.com/cf-invalidate/cf-invalidate
TARGETS="x86_64-unknown-linux-musl aarch64-unknown-linux-musl"
set -eu

say() {
  printf 'install.sh: %s\n' "$*" >&2
}

# A download, the checksum or the install failed.
fail() {
  say "$@"
  exit 1
}

usage_error() {
  say "$*"
  say "see: install.sh --help"
  exit 2
}

usage() {
  cat <<EOF
Usage: install.sh [--version V] [--dir DIR] [--target TRIPLE]

Installs cf-invalidate from a release of $REPOSITORY,
once its SHA-256 matches the release's SHA256SUMS.

  --version V      the release, $DEFAULT_VERSION or v$DEFAULT_VERSION (default: $DEFAULT_VERSION)
  --dir DIR        where to put cf-invalidate, created if missing
                   (default: /usr/local/bin when writable, else \$HOME/.local/bin)
  --target TRIPLE  $(echo "$TARGETS" | sed 's/ / or /')
                   (default: the one for uname -m)
  -h, --help       this text

Environment:
  CF_INVALIDATE_DOWNLOAD_URL  where the releases are (a mirror, a bucket of your own); assets are
                              read from \$CF_INVALIDATE_DOWNLOAD_URL/vVERSION/ASSET
                              (default: $DEFAULT_DOWNLOAD_URL)

Needs curl or wget, tar, and sha256sum or shasum.
Exit codes: 0 installed; 1 a download, the checksum or the install failed (nothing was
installed); 2 a usage error.
EOF
}

is_version() {
  case $1 in
    "" | *[!0-9A-Za-z.-]*) return 1 ;;
  esac
  printf '%s\n' "$1" | grep -Eq '^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$'
}

is_target() {
  for known in $TARGETS; do
    [ "$1" = "$known" ] && return 0
  done
  return 1
}

# The release triple for this machine, from uname.
detect_target() {
  os=$(uname -s 2>/dev/null || echo unknown)
  machine=$(uname -m 2>/dev/null || echo unknown)
  from_source="build it from source with Rust instead: cargo install --locked --git $REPOSITORY --tag v$version cf-invalidate-cli"
  if [ "$os" != Linux ]; then
    fail "the releases hold Linux binaries only, and this is $os (uname -s); $from_source"
  fi
  case $machine in
    x86_64 | amd64) echo x86_64-unknown-linux-musl ;;
    aarch64 | arm64) echo aarch64-unknown-linux-musl ;;
    *) fail "the releases hold x86_64 and aarch64 Linux binaries, and this machine is $machine (uname -m); pass --target if one of them runs here ($TARGETS), or $from_source" ;;
  esac
}

# The downloader and the checksum tool, chosen before anything is downloaded.
choose_tools() {
  if command -v curl >/dev/null 2>&1; then
    downloader=curl
  elif command -v wget >/dev/null 2>&1; then
    downloader=wget
  else
    fail "neither curl nor wget is installed: install one of them (apt-get install curl, apk add curl, dnf install curl)"
  fi
  if command -v sha256sum >/dev/null 2>&1; then
    hasher="sha256sum"
  elif command -v shasum >/dev/null 2>&1; then
    hasher="shasum -a 256"
  else
    fail "neither sha256sum nor shasum is installed, so the download cannot be verified: install coreutils (or perl's shasum)"
  fi
}

# download URL FILE, a few tries.
download() {
  if [ "$downloader" = curl ]; then
    curl -fsSL --retry 3 --retry-delay 2 -o "$2" "$1" && return 0
  else
    # BusyBox's wget has no --tries: the tries are counted here.
    for attempt in 1 2 3; do
      wget -q -O "$2" "$1" && return 0
      [ "$attempt" = 3 ] || sleep 2
    done
  fi
  if [ -n "${CF_INVALIDATE_DOWNLOAD_URL:-}" ]; then
    where="and that CF_INVALIDATE_DOWNLOAD_URL=$CF_INVALIDATE_DOWNLOAD_URL serves v$version/$(basename "$2")"
  else
    where="(the releases: $REPOSITORY/releases), or set CF_INVALIDATE_DOWNLOAD_URL to a mirror that holds it"
  fi
  fail "could not download $1: check that version $version exists $where"
}

# The SHA-256 of FILE, in lower case.
sha256_of() {
  # $hasher is one command and its flags: split on purpose.
  # shellcheck disable=SC2086
  sum=$($hasher "$1") || return 1
  printf '%s\n' "${sum%% *}" | tr 'A-F' 'a-f'
}

cleanup() {
  [ -n "${tmp:-}" ] && rm -rf "$tmp"
  [ -n "${staged:-}" ] && rm -f "$staged"
  return 0
}

main() {
  version=$DEFAULT_VERSION
  dir=""
  target=""
  while [ $# -gt 0 ]; do
    case $1 in
      --version | --dir | --target)
        [ $# -ge 2 ] && [ -n "$2" ] || usage_error "$1 needs a value"
        case $1 in
          --version) version=$2 ;;
          --dir) dir=$2 ;;
          --target) target=$2 ;;
        esac
        shift 2
        ;;
      --version=* | --dir=* | --target=*)
        value=${1#*=}
        [ -n "$value" ] || usage_error "${1%%=*} needs a value"
        case $1 in
          --version=*) version=$value ;;
          --dir=*) dir=$value ;;
          --target=*) target=$value ;;
        esac
        shift
        ;;
      -h | --help)
        usage
        exit 0
        ;;
      *) usage_error "unknown argument '$1'" ;;
    esac
  done

  version=${version#v}
  is_version "$version" ||
    usage_error "'$version' is not a release version: give one such as $DEFAULT_VERSION or v$DEFAULT_VERSION (MAJOR.MINOR.PATCH, optionally -PRERELEASE)"
  if [ -n "$target" ]; then
    is_target "$target" || usage_error "unknown --target '$target': the releases have $TARGETS"
  else
    target=$(detect_target) || exit 1
  fi
  if [ -z "$dir" ]; then
    if [ -d /usr/local/bin ] && [ -w /usr/local/bin ]; then
      dir=/usr/local/bin
    elif [ -n "${HOME:-}" ]; then
      dir=$HOME/.local/bin
    else
      usage_error "/usr/local/bin is not writable and HOME is not set: pass --dir DIR"
    fi
  fi

  base=${CF_INVALIDATE_DOWNLOAD_URL:-$DEFAULT_DOWNLOAD_URL}
  base=${base%/}
  asset=cf-invalidate-$version-$target.tar.gz

  choose_tools
  tmp=$(mktemp -d 2>/dev/null || mktemp -d -t cf-invalidate) || fail "cannot make a temporary directory (mktemp -d)"
  trap cleanup EXIT
  trap 'exit 1' HUP INT PIPE TERM

  say "downloading $base/v$version/$asset"
  download "$base/v$version/SHA256SUMS" "$tmp/SHA256SUMS"
  download "$base/v$version/$asset" "$tmp/$asset"

  # SHA256SUMS holds "<sum>  <name>" lines (a "*" before the name in binary mode).
  expected=$(awk -v name="$asset" '{ file = $2; sub(/^\*/, "", file); if (file == name) { print tolower($1); exit } }' "$tmp/SHA256SUMS")
  if [ -z "$expected" ]; then
    fail "refusing to install: $base/v$version/SHA256SUMS has no line for $asset, so it cannot be verified; nothing was installed"
  fi
  actual=$(sha256_of "$tmp/$asset") || fail "cannot compute the SHA-256 of $asset"
  if [ "$expected" != "$actual" ]; then
    fail "refusing to install: checksum mismatch for $asset: SHA256SUMS says $expected, the download is $actual; nothing was installed. Download it again; if the sums still differ, the release or the mirror ($base) is not what it should be"
  fi

  mkdir "$tmp/unpacked"
  tar -xzf "$tmp/$asset" -C "$tmp/unpacked" || fail "cannot unpack $asset"
  binary=$tmp/unpacked/cf-invalidate-$version-$target/cf-invalidate
  [ -f "$binary" ] || fail "$asset holds no cf-invalidate-$version-$target/cf-invalidate; nothing was installed"

  mkdir -p "$dir" 2>/dev/null || fail "cannot create $dir: pass --dir a directory you may write to, or run as root"
  [ -w "$dir" ] || fail "$dir is not writable: pass --dir a directory you may write to (such as \$HOME/.local/bin), or run as root"
  dir=$(cd "$dir" && pwd) || fail "cannot enter $dir"
  [ ! -d "$dir/cf-invalidate" ] || fail "$dir/cf-invalidate is a directory: remove it, or pass another --dir"

  # Copied next to its final name, checked there (a temporary directory may be mounted noexec),
  # then renamed over it: a running copy of an older version is never overwritten in place.
  staged=$dir/.cf-invalidate.tmp.$$
  cp "$binary" "$staged" || fail "cannot write $staged"
  chmod 755 "$staged" || fail "cannot make $staged executable"
  if ! reported=$("$staged" --version 2>&1); then
    fail "the $target binary does not run on this machine ($(uname -m 2>/dev/null)): $reported; nothing was installed"
  fi
  case $reported in
    "cf-invalidate $version" | "cf-invalidate $version "*) ;;
    *) fail "$asset holds a binary that says '$reported', not cf-invalidate $version; nothing was installed" ;;
  esac
  mv -f "$staged" "$dir/cf-invalidate" || fail "cannot move the binary to $dir/cf-invalidate"
  staged=""

  installed=$("$dir/cf-invalidate" --version) || fail "$dir/cf-invalidate --version failed after the install"
  case ":${PATH:-}:" in
    *":$dir:"*) ;;
    *) say "note: $dir is not on PATH; add it with: export PATH=\"$dir:\$PATH\"" ;;
  esac
  printf 'installed %s to %s\n' "$installed" "$dir/cf-invalidate"
}

main "$@"
