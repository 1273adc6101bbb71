#!/usr/bin/env bash
# The GitHub workflows (actionlint, which also runs shellcheck on their `run:` blocks) and every
# shell script of the project (shellcheck; install.sh as POSIX sh, so a bash-ism fails). Both
# linters come from .venv (scripts/prepare-tools.sh installs them from the pinned
# requirements); any finding fails.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/prepare-tools.sh
export PATH="$PWD/.venv/bin:$PATH"
for tool in actionlint shellcheck; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "lint-ci.sh: $tool is not in .venv/bin: delete .venv and run ./scripts/prepare-tools.sh again" >&2
    exit 2
  fi
done

workflows=(.github/workflows/*.yml)
echo "lint-ci.sh: actionlint $(actionlint -version | head -1) on ${workflows[*]}"
actionlint "${workflows[@]}"

# Every shell script of the work tree that git does not ignore: *.sh and .ci/run.
scripts=()
while IFS= read -r script; do
  [[ -f $script ]] && scripts+=("$script")
done < <(git ls-files --cached --others --exclude-standard -- '*.sh' .ci/run | sort -u)
echo "lint-ci.sh: $(shellcheck --version | sed -n 2p) on ${#scripts[@]} scripts"
shellcheck --external-sources "${scripts[@]}"
# install.sh runs under any /bin/sh (dash, BusyBox ash): checked as POSIX sh whatever its line 1.
shellcheck --shell=sh install.sh
echo "lint-ci.sh: no findings in ${#workflows[@]} workflows and ${#scripts[@]} scripts"
