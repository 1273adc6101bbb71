#!/usr/bin/env bash
# The one step of the cf-invalidate GitHub Action (action.yml): installs the CLI of the chosen
# release into the runner's tool cache (install.sh verifies its checksum), turns the INPUT_*
# variables into the CLI's flags, checking each first, and runs `cf-invalidate invalidate`,
# which writes the step's outputs and the job summary itself. Exits with the CLI's code: 0 done,
# 1 failed, 2 a usage or configuration error (a bad input here too, before anything runs).
#
# From the runner it reads only GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, RUNNER_OS, RUNNER_ARCH,
# RUNNER_TEMP and RUNNER_TOOL_CACHE; the CLI reads the AWS_* variables (the credentials that
# aws-actions/configure-aws-credentials exported) and install.sh CF_INVALIDATE_DOWNLOAD_URL.
set -euo pipefail

action_dir=$(cd "$(dirname "$0")" && pwd)
repository_root=$(dirname "$action_dir")

say() {
  printf 'cf-invalidate action: %s\n' "$*" >&2
}

# A wrong input or runner: nothing was run.
usage_error() {
  say "$*"
  exit 2
}

# $1 without leading and trailing white space (a YAML block scalar ends with a newline).
trim() {
  local s=$1
  s=${s#"${s%%[![:space:]]*}"}
  s=${s%"${s##*[![:space:]]}"}
  printf '%s' "$s"
}

# The non-empty, trimmed items of $1, split on commas and newlines, one per line.
list_items() {
  local item
  while IFS= read -r item; do
    item=$(trim "$item")
    [[ -n $item ]] && printf '%s\n' "$item"
  done <<<"${1//,/$'\n'}"
  return 0
}

is_version() {
  [[ $1 =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]
}

# The action's own release: the workspace version in the Cargo.toml beside action/.
own_version() {
  local manifest=$repository_root/Cargo.toml
  [[ -f $manifest ]] || return 1
  awk '
    /^\[/ { section = $0 }
    section == "[workspace.package]" && /^version[ \t]*=/ {
      sub(/^version[ \t]*=[ \t]*"/, ""); sub(/".*/, ""); print; exit
    }' "$manifest"
}

# ---------------------------------------------------------------------------------------------
# The release and the runner

version=$(trim "${INPUT_VERSION:-}")
version=${version#v}
if [[ -z $version ]]; then
  version=$(own_version || true)
  [[ -n $version ]] ||
    usage_error "the version input is empty and $repository_root/Cargo.toml names no [workspace.package] version: give the version input, such as 0.2.0"
fi
is_version "$version" ||
  usage_error "the version input is \"${INPUT_VERSION:-}\": give a release such as 0.2.0 or v0.2.0, or leave it empty for the action's own release"

runner_os=${RUNNER_OS:-}
[[ $runner_os == Linux ]] ||
  usage_error "this runner's OS is \"$runner_os\" (RUNNER_OS), and cf-invalidate's releases ship Linux binaries only: run this step on a Linux runner (runs-on: ubuntu-latest, or ubuntu-24.04-arm)"
case ${RUNNER_ARCH:-} in
  X64) arch=x64 triple=x86_64-unknown-linux-musl ;;
  ARM64) arch=arm64 triple=aarch64-unknown-linux-musl ;;
  *) usage_error "this runner's CPU is \"${RUNNER_ARCH:-}\" (RUNNER_ARCH), and cf-invalidate's releases have X64 and ARM64 Linux binaries only: run this step on ubuntu-latest or ubuntu-24.04-arm" ;;
esac

temp=${RUNNER_TEMP:-${TMPDIR:-/tmp}}

# ---------------------------------------------------------------------------------------------
# The inputs, all checked before anything is installed or run

args=()

distributions=$(list_items "${INPUT_DISTRIBUTION_ID:-}")
tenants=$(list_items "${INPUT_DISTRIBUTION_TENANT_ID:-}")
if [[ -z $distributions && -z $tenants ]]; then
  usage_error "the distribution-id input names no distribution: give the distribution's id, such as E2QWRUHAPOMQZL (several: separated by commas or newlines), or distribution-tenant-id for tenants of a multi-tenant distribution"
fi
while IFS= read -r id; do
  [[ -n $id ]] && args+=(--distribution-id "$id")
done <<<"$distributions"
while IFS= read -r id; do
  [[ -n $id ]] && args+=(--distribution-tenant-id "$id")
done <<<"$tenants"

# paths: one path a line when the input has several lines (a path may hold a space); a single
# line is split on spaces, as `aws cloudfront create-invalidation --paths` reads it. They reach
# the CLI through a file, so that no shell ever sees `/*`.
paths=()
lines=()
while IFS= read -r line; do
  line=$(trim "$line")
  [[ -n $line ]] && lines+=("$line")
done <<<"${INPUT_PATHS:-}"
if ((${#lines[@]} > 1)); then
  paths=("${lines[@]}")
elif ((${#lines[@]} == 1)); then
  # read splits on IFS and never expands a pattern.
  read -r -a paths <<<"${lines[0]}"
fi
paths_file=""
trap '[[ -z $paths_file ]] || rm -f "$paths_file"' EXIT
if ((${#paths[@]} > 0)); then
  mkdir -p "$temp"
  paths_file=$(mktemp "$temp/cf-invalidate-paths.XXXXXX")
  printf '%s\n' "${paths[@]}" >"$paths_file"
  args+=(--paths-from "$paths_file")
fi

sync_log=$(trim "${INPUT_PATHS_FROM_S3_SYNC:-}")
[[ -z $sync_log ]] || args+=(--paths-from-s3-sync "$sync_log")
site_prefix=$(trim "${INPUT_SITE_PREFIX:-}")
[[ -z $site_prefix ]] || args+=(--site-prefix "$site_prefix")

changed_between=$(trim "${INPUT_CHANGED_BETWEEN:-}")
if [[ -n $changed_between ]]; then
  read -r -d '' -a builds <<<"$changed_between" || true
  if ((${#builds[@]} != 2)); then
    usage_error "the changed-between input needs two builds, OLD and NEW, separated by a space or a newline (each a directory, a .zip file or s3://BUCKET/KEY.zip); it holds ${#builds[@]} words: \"$changed_between\""
  fi
  args+=(--changed-between "${builds[0]}" "${builds[1]}")
fi

if ((${#paths[@]} == 0)) && [[ -z $sync_log && -z $changed_between ]]; then
  usage_error "nothing to invalidate: give the paths input (such as '/*' or '/index.html /css/*'), paths-from-s3-sync (a file holding the output of aws s3 sync) or changed-between (two builds)"
fi

directory_index=$(trim "${INPUT_DIRECTORY_INDEX:-}")
[[ -z $directory_index ]] || args+=(--directory-index "$directory_index")
max_paths=$(trim "${INPUT_MAX_PATHS:-}")
[[ -z $max_paths ]] || args+=(--max-paths "$max_paths")

wait=$(trim "${INPUT_WAIT:-}")
case ${wait,,} in
  "") ;;
  true) args+=(--wait) ;;
  false) args+=(--no-wait) ;;
  *) usage_error "the wait input is \"$wait\": use true (wait until CloudFront says Completed) or false (end once the invalidations are created)" ;;
esac
timeout=$(trim "${INPUT_TIMEOUT:-}")
[[ -z $timeout ]] || args+=(--timeout "$timeout")
on_timeout=$(trim "${INPUT_ON_TIMEOUT:-}")
[[ -z $on_timeout ]] || args+=(--on-timeout "$on_timeout")
caller_reference=$(trim "${INPUT_CALLER_REFERENCE:-}")
[[ -z $caller_reference ]] || args+=(--caller-reference "$caller_reference")

[[ -z ${GITHUB_OUTPUT:-} ]] || args+=(--outputs-file "$GITHUB_OUTPUT")
[[ -z ${GITHUB_STEP_SUMMARY:-} ]] || args+=(--summary-file "$GITHUB_STEP_SUMMARY")

# ---------------------------------------------------------------------------------------------
# The binary: from the tool cache, as actions/tool-cache lays it out (a `.complete` file beside
# a finished entry), else installed there by install.sh, which checks the release's SHA256SUMS.

if [[ -n ${RUNNER_TOOL_CACHE:-} ]]; then
  bin_dir=$RUNNER_TOOL_CACHE/cf-invalidate/$version/$arch
  marker=$RUNNER_TOOL_CACHE/cf-invalidate/$version/$arch.complete
else
  bin_dir=$temp/cf-invalidate-bin
  marker=""
fi
binary=$bin_dir/cf-invalidate
if [[ -n $marker && -f $marker && -x $binary ]]; then
  say "using cached cf-invalidate $version"
else
  status=0
  # With bin_dir on its PATH, install.sh does not suggest adding it: the step runs it by path.
  PATH="$bin_dir:$PATH" sh "$repository_root/install.sh" --version "$version" --dir "$bin_dir" --target "$triple" || status=$?
  if ((status != 0)); then
    say "could not install cf-invalidate $version for $triple (install.sh exited $status; its message is above)"
    exit 1
  fi
  [[ -z $marker ]] || : >"$marker"
fi

printf '%s' "cf-invalidate invalidate" >&2
printf ' %q' "${args[@]}" >&2
printf '\n' >&2
status=0
"$binary" invalidate "${args[@]}" || status=$?
exit "$status"
