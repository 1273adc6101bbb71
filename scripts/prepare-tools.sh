#!/usr/bin/env bash
# Prepares .venv with the Python tools the tests drive (scripts/requirements-test.txt): the AWS
# CLI, cfn-lint, and the Python baseline of the benchmark smoke test. Does nothing when .venv
# already holds exactly these requirements. scripts/test.sh runs it first; a test that finds no
# tool runs it too, so several test processes may run it at once: they take turns on a lock.
set -euo pipefail
script="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$script")/.."

venv=.venv
requirements=scripts/requirements-test.txt
stamp="$venv/.requirements"

# The lock is held on the requirements file itself (read-only): no lock file to leave behind.
if [ -z "${PREPARE_TOOLS_LOCKED:-}" ]; then
  if command -v flock >/dev/null 2>&1; then
    exec 9<"$requirements"
    flock 9
  else
    # No flock(1) (macOS): python3 takes the same lock and runs this script again holding it.
    export PREPARE_TOOLS_LOCKED=1
    exec python3 -c '
import fcntl, os, sys
lock = open(sys.argv[1])
fcntl.flock(lock, fcntl.LOCK_EX)
os.set_inheritable(lock.fileno(), True)
os.execvp("bash", ["bash"] + sys.argv[2:])
' "$requirements" "$script" "$@"
  fi
fi

if ! cmp -s "$requirements" "$stamp" 2>/dev/null; then
  echo "prepare-tools.sh: preparing $venv with $(grep -v '^#' "$requirements" | xargs)" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$stamp"
fi
