"""A secure AWS landing zone on the AWS CDK: the Well-Architected Security Pillar as code."""

import os

# jsii prints a large end-of-life banner on Node.js 20, which the kit supports and tests on;
# a workload that imports the kit before aws_cdk is spared it too. Any value the user set
# wins (the variable names the Node major version whose banner is silenced).
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

#: The most cores on which the jsii node process gets one V8 worker thread, not node's four.
SMALL_MACHINE_CORES = 2


def node_options(current: str, cores: int) -> str:
    """``NODE_OPTIONS`` for the jsii node process that runs the CDK.

    On a machine of two cores or fewer, V8 gets one worker thread instead of node's
    default four: with four, compiling the CDK's CloudFormation validation engine
    (WebAssembly, built at the first synth of every process) and collecting garbage in
    the background cost the example's synth about 3 CPU-seconds more, and those threads
    take both cores from the synth itself (docs/performance.md measures it). Larger
    machines keep node's default. A ``--v8-pool-size`` the user set wins. The variable
    is the process's: node processes it starts later (the CDK CLI, npx, bundling) get
    the same setting.
    """
    if cores > SMALL_MACHINE_CORES or "--v8-pool-size" in current:
        return current
    return f"{current} --v8-pool-size=1".strip()


def cores() -> int:
    """The cores this process may run on (its affinity, where the system has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


# before aws_cdk starts its node process (the kit's entry points import the kit first); a
# process that imported aws_cdk already keeps its node as it is, and processes it starts
# inherit the setting
_options = node_options(os.environ.get("NODE_OPTIONS", ""), cores())
if _options:
    os.environ["NODE_OPTIONS"] = _options

__version__ = "0.2.0"
