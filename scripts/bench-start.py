"""Start time and size of the static CLI next to the AWS CLI's, measured in one run.

    python3 scripts/bench-start.py --release DIR [--aws PATH] [--runs N]

DIR holds a release's CLI tarball (scripts/release.sh --out DIR); the binary is taken out of it.
Each run starts `cf-invalidate --version` and `aws --version` in turn (interleaved, so that the
machine's noise falls on both), and the table gives the median and the 90th percentile of the
wall time from spawn to exit, and the ratio of the medians. Prints a Markdown table.
"""

import argparse
import glob
import os
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time


def timed(command):
    started = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release", required=True, help="the directory scripts/release.sh wrote")
    parser.add_argument("--aws", default=".venv/bin/aws", help="the AWS CLI to compare with")
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()

    machine = {"x86_64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}.get(platform.machine())
    tarballs = glob.glob(os.path.join(args.release, f"cf-invalidate-*-{machine}-unknown-linux-musl.tar.gz"))
    if len(tarballs) != 1:
        sys.exit(f"bench-start.py: expected one {machine} CLI tarball in {args.release}, found {tarballs}: "
                 f"run scripts/release.sh --out {args.release} --target {machine}-unknown-linux-musl")
    if not os.access(args.aws, os.X_OK):
        sys.exit(f"bench-start.py: no AWS CLI at {args.aws}: run scripts/prepare-tools.sh, or give --aws PATH")
    with tempfile.TemporaryDirectory() as work:
        with tarfile.open(tarballs[0]) as archive:
            archive.extractall(work, filter="data")
        (cli,) = glob.glob(os.path.join(work, "*", "cf-invalidate"))
        aws_version = subprocess.run([args.aws, "--version"], capture_output=True, text=True).stdout.strip()
        ours = subprocess.run([cli, "--version"], capture_output=True, text=True, check=True).stdout.strip()
        commands = {"cf-invalidate": [cli, "--version"], "aws": [args.aws, "--version"]}
        for command in commands.values():  # warm the page cache
            timed(command)
        times = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, command in commands.items():
                times[name].append(timed(command))
        tarball_bytes = os.path.getsize(tarballs[0])
        binary_bytes = os.path.getsize(cli)

    def row(name, what, size):
        values = sorted(times[name])
        median = statistics.median(values)
        p90 = values[int(0.9 * (len(values) - 1))]
        return f"| {what} | {size} | **{median * 1000:.1f} ms** | {p90 * 1000:.1f} ms |", median

    ours_row, ours_median = row(
        "cf-invalidate", f"`{ours}`, static ({os.path.basename(tarballs[0])})",
        f"{binary_bytes / 1048576:.2f} MiB ({tarball_bytes / 1048576:.2f} MiB packed)")
    aws_row, aws_median = row("aws", f"`{aws_version.split()[0]}` (Python {platform.python_version()})", "–")
    print(f"`--version`, {args.runs} runs each, interleaved, {platform.machine()}, {os.cpu_count()} cores\n")
    print("| command | size | median | p90 |\n| --- | ---: | ---: | ---: |")
    print(ours_row)
    print(aws_row)
    print(f"\nThe static CLI starts {aws_median / ours_median:.0f}× faster than the AWS CLI (ratio of the medians).")


if __name__ == "__main__":
    main()
