#!/usr/bin/env python3
"""Benchmark: the example organisation's synth against an empty CDK app, in one run.

Each sample is a whole fresh Python process (node + jsii start-up included), because
that is what a user and CI pay. Runs alternate between the two apps so both see the same
machine load; the script prints the median of each, the ratio, and the peak memory.

    python bench/synth.py [--runs 5]

Target (DESIGN.md): example synth <= 2.0x the empty app.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

EMPTY_APP = """
import aws_cdk as cdk
app = cdk.App(outdir={outdir!r})
cdk.Stack(app, "Empty", env=cdk.Environment(account="111122223333", region="eu-west-1"))
app.synth()
"""

EXAMPLE_APP = """
from baseline.app import DEFAULT_CONFIG, build_app
from baseline.config import load_config
app, _ = build_app(load_config(DEFAULT_CONFIG), outdir={outdir!r})
app.synth()
"""


def run(code: str) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one fresh process running ``code``."""
    with tempfile.TemporaryDirectory() as outdir:
        env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", code.format(outdir=outdir)],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,  # the empty stack's "no resources" validation warning
        )
        elapsed = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, max(peak, before) / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="samples of each app (default 5)")
    args = parser.parse_args()
    run(EMPTY_APP)  # warm the file cache; not counted
    empty: list[float] = []
    example: list[float] = []
    peak = 0.0
    for _ in range(args.runs):
        seconds, _peak = run(EMPTY_APP)
        empty.append(seconds)
        seconds, peak = run(EXAMPLE_APP)
        example.append(seconds)
    empty_median = statistics.median(empty)
    example_median = statistics.median(example)
    print(f"runs: {args.runs} of each, alternating, fresh process each")
    print(
        f"empty app        median {empty_median:6.2f} s  ({', '.join(f'{s:.2f}' for s in empty)})"
    )
    print(
        f"example (5 packs) median {example_median:6.2f} s  ({', '.join(f'{s:.2f}' for s in example)})"
    )
    print(f"ratio            {example_median / empty_median:6.2f}x  (target <= 2.0x)")
    print(f"peak memory      {peak:6.0f} MiB (largest child process so far)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
