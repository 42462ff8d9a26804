"""Benchmark the code generator on the pinned Stripe spec: wall time and peak memory.

    python bench/generate.py [SPEC] [--runs 3]

Measures (a) a full `stripe-mcp generate` into a temporary folder and (b) `stripe-mcp generate --check`
against the committed generated/, each in a fresh subprocess. Peak memory is RUSAGE_CHILDREN's
ru_maxrss read by a small wrapper process around each run, so it is per run and covers every process
the CLI starts (the process pool workers included): the largest resident set among them, not a sum.
Prints a markdown table with the median and max of each, and the targets.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SPEC = REPO / ".." / "shared" / "specs" / "stripe" / "spec3.yaml"
TARGETS = {"full": 20.0, "check": 10.0}

# Runs one command and reports its wall time and the peak RSS of its process tree (KiB on Linux).
WRAPPER = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
result = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"seconds": seconds, "maxrss_kib": peak, "returncode": result.returncode, "stderr": result.stderr[-2000:]}))
"""


def cli() -> list[str]:
    script = shutil.which("stripe-mcp")
    return [script] if script else [sys.executable, "-m", "stripe_mcp"]


def measure(args: list[str], expected_returncode: int = 0) -> dict:
    completed = subprocess.run(
        [sys.executable, "-c", WRAPPER, *cli(), *args], capture_output=True, text=True, check=True
    )
    result = json.loads(completed.stdout)
    if result["returncode"] != expected_returncode:
        raise SystemExit(f"{' '.join(args)} exited {result['returncode']}:\n{result['stderr']}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", nargs="?", type=Path, default=DEFAULT_SPEC)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--generated",
        type=Path,
        default=REPO / "src" / "stripe_mcp" / "generated",
        help="the folder --check compares with",
    )
    options = parser.parse_args()
    spec = options.spec.resolve()
    if not spec.is_file():
        raise SystemExit(f"error: {spec}: no such file")

    results: dict[str, list[dict]] = {"full": [], "check": []}
    for run in range(options.runs):
        with tempfile.TemporaryDirectory(prefix="stripe-mcp-bench-") as folder:
            results["full"].append(measure(["generate", "--spec", str(spec), "--out", str(Path(folder) / "generated")]))
        results["check"].append(measure(["generate", "--spec", str(spec), "--out", str(options.generated), "--check"]))
        print(
            f"run {run + 1}/{options.runs}: full {results['full'][-1]['seconds']:.2f} s, "
            f"check {results['check'][-1]['seconds']:.2f} s",
            file=sys.stderr,
        )

    print(f"Spec: `{spec}` ({spec.stat().st_size / 1e6:.1f} MB), {options.runs} runs each\n")
    print("| step | wall median (s) | wall max (s) | peak RSS median (MiB) | peak RSS max (MiB) | target (s) | met |")
    print("|---|---:|---:|---:|---:|---:|:---:|")
    failed = False
    for step, runs in results.items():
        seconds = [r["seconds"] for r in runs]
        memory = [r["maxrss_kib"] / 1024 for r in runs]
        met = max(seconds) <= TARGETS[step]
        failed |= not met
        label = "full `generate`" if step == "full" else "`generate --check`"
        print(
            f"| {label} | {statistics.median(seconds):.2f} | {max(seconds):.2f} | "
            f"{statistics.median(memory):.0f} | {max(memory):.0f} | {TARGETS[step]:.0f} | {'yes' if met else 'NO'} |"
        )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
