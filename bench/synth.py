#!/usr/bin/env python3
"""Benchmark: synth times and peak memory against an empty CDK app, measured in one run.

Each sample is a whole fresh Python process (node + jsii start-up included), because
that is what a user and CI pay. Runs alternate between the apps so all see the same
machine load; the script prints the median of each, its ratio to the empty app, and the
peak memory of the process tree (Python plus its jsii node process), sampled every 50 ms.
Sampling costs a little CPU on every app alike, so ratios stay fair.

    python bench/synth.py                 # empty app, the example, 2,000 accounts (5 runs)
    python bench/synth.py --growth        # 10, 100, 1,000 and 2,000 accounts (3 runs)
    python bench/synth.py --import-organization 500   # read 500 accounts (3 runs)

The empty app runs twice: as plain CDK (the targets' ratio) and started as the kit starts
node (``baseline/__init__.py``), so that a run shows how much of the kit's ratio is that.

``--import-organization N`` times ``python -m baseline import-organization`` reading an
organisation of N accounts in nested OUs from moto's AWS Organizations in the same
process (a real boto3 client with botocore's request handling; no network): building
the organisation is not timed, the import is (the issue asks for 500 in under a minute).

Targets (DESIGN.md): the example within 2x the empty app; 2,000 accounts within 3x and
under 2 GB.
"""

from __future__ import annotations

import argparse
import os
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

#: The empty app started as the kit starts node (``baseline/__init__.py``: one V8 worker
#: thread on two cores or fewer): what of the kit's lead over the plain empty app is that.
EMPTY_APP_KIT_NODE = "import baseline\n" + EMPTY_APP

EXAMPLE_APP = """
from baseline.app import DEFAULT_CONFIG, build_app
from baseline.config import load_config
app, _ = build_app(load_config(DEFAULT_CONFIG), outdir={outdir!r})
app.synth()
"""

GENERATED_APP = """
from baseline.app import build_app
from baseline.config import parse_config
from bench.generate_org import generate
app, _ = build_app(parse_config(generate({accounts})), outdir={outdir!r})
app.synth()
"""


IMPORT_RUN = """
import os, sys, tempfile, time
for key in [k for k in os.environ if k.startswith("AWS_")]:
    del os.environ[key]
os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                  AWS_DEFAULT_REGION="us-east-1")
import boto3
from moto import mock_aws
with mock_aws():
    org = boto3.client("organizations")
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    def unit(parent, name):
        return org.create_organizational_unit(ParentId=parent, Name=name)["OrganizationalUnit"]["Id"]
    security, workloads = unit(root, "Security"), unit(root, "Workloads")
    prod, nonprod = unit(workloads, "Prod"), unit(workloads, "NonProd")
    units = [security, prod, nonprod, unit(nonprod, "Teams")]
    for i in range({accounts}):
        made = org.create_account(AccountName=f"acct-{i:04d}", Email=f"aws-{i:04d}@example.com")
        org.move_account(AccountId=made["CreateAccountStatus"]["AccountId"],
                         SourceParentId=root, DestinationParentId=units[i % len(units)])
    from baseline.__main__ import main
    with tempfile.TemporaryDirectory() as scratch:
        start = time.perf_counter()
        code = main(["import-organization", "--output", os.path.join(scratch, "lz.yaml")])
        elapsed = time.perf_counter() - start
        import yaml
        with open(os.path.join(scratch, "lz.yaml")) as written:
            read = yaml.safe_load(written)["accounts"]
    assert code == 0, code
    missing = {f"acct-{i:04d}" for i in range({accounts})} - {a.get("name") for a in read}
    assert not missing, sorted(missing)[:5]  # every account is in the written config
    print(elapsed)
"""


def import_seconds(accounts: int) -> float:
    """Seconds the import of an organisation of ``accounts`` takes, in a fresh process."""
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_RUN.replace("{accounts}", str(accounts))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the import benchmark failed: {done.stderr[-2000:]}")
    return float(done.stdout.strip().splitlines()[-1])


def _tree_rss_mib(pid: int) -> float:
    """Resident memory of a process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(
                line.split(":", 1) for line in status.read_text().splitlines() if ":" in line
            )
        except OSError:
            continue
        process = int(status.parent.name)
        children.setdefault(int(fields["PPid"]), []).append(process)
        rss[process] = int(fields.get("VmRSS", "0 kB").split()[0])
    total, stack = 0, [pid]
    while stack:
        process = stack.pop()
        total += rss.get(process, 0)
        stack += children.get(process, [])
    return total / 1024


def run(code: str) -> tuple[float, float]:
    """Wall seconds and peak MiB (the process tree, sampled) of one fresh process."""
    with tempfile.TemporaryDirectory() as outdir:
        env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
        start = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-c", code.replace("{outdir!r}", repr(outdir))],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,  # the empty stack's "no resources" validation warning
        )
        peak = 0.0
        while process.poll() is None:
            peak = max(peak, _tree_rss_mib(process.pid))
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
        if process.returncode != 0:
            raise RuntimeError(f"benchmark app failed with exit code {process.returncode}")
    return elapsed, peak


def measure(apps: dict[str, str], runs: int) -> dict[str, tuple[list[float], float]]:
    """Samples (seconds) and the largest peak (MiB) per app, runs alternating."""
    run(apps["empty app"])  # warm the file cache; not counted
    samples: dict[str, list[float]] = {name: [] for name in apps}
    peaks: dict[str, float] = dict.fromkeys(apps, 0.0)
    for _ in range(runs):
        for name, code in apps.items():
            seconds, peak = run(code)
            samples[name].append(seconds)
            peaks[name] = max(peaks[name], peak)
    return {name: (samples[name], peaks[name]) for name in apps}


KIT_NODE = "empty app, kit's node"


def report(results: dict[str, tuple[list[float], float]], runs: int) -> None:
    """Each app's median, its ratio to the empty app (the targets' ratio) and, where the
    run has it, to the empty app started with the kit's node options."""
    floor = statistics.median(results["empty app"][0])
    kit = results.get(KIT_NODE)
    kit_floor = statistics.median(kit[0]) if kit else None
    print(f"runs: {runs} of each, alternating, fresh process each")
    print(
        f"{'app':<26} {'median':>8} {'ratio':>7}"
        + (f" {'kit-node':>9}" if kit_floor else "")
        + f" {'peak MiB':>9}  samples"
    )
    for name, (samples, peak) in results.items():
        median = statistics.median(samples)
        print(
            f"{name:<26} {median:7.2f}s {median / floor:6.2f}x"
            + (f" {median / kit_floor:8.2f}x" if kit_floor else "")
            + f" {peak:9.0f}  "
            + ", ".join(f"{s:.2f}" for s in samples)
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=None, help="samples of each app")
    parser.add_argument("--growth", action="store_true", help="10 to 2,000 accounts")
    parser.add_argument(
        "--import-organization",
        type=int,
        metavar="ACCOUNTS",
        help="time import-organization reading this many accounts instead",
    )
    args = parser.parse_args()
    if args.import_organization:
        runs = args.runs or 3
        samples = [import_seconds(args.import_organization) for _ in range(runs)]
        print(
            f"import-organization, {args.import_organization:,} accounts, {runs} runs: "
            f"median {statistics.median(samples):.2f}s ("
            + ", ".join(f"{s:.2f}" for s in samples)
            + ")"
        )
        return 0
    apps = {"empty app": EMPTY_APP, KIT_NODE: EMPTY_APP_KIT_NODE}
    if args.growth:
        for accounts in (10, 100, 1000, 2000):
            apps[f"{accounts:,} accounts"] = GENERATED_APP.replace("{accounts}", str(accounts))
        runs = args.runs or 3
    else:
        apps["example (5 packs)"] = EXAMPLE_APP
        apps["2,000 accounts"] = GENERATED_APP.replace("{accounts}", "2000")
        runs = args.runs or 5
    report(measure(apps, runs), runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
