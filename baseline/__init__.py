"""A secure AWS landing zone on the AWS CDK: the Well-Architected Security Pillar as code."""

import os

# jsii prints a large end-of-life banner on Node.js 20, which the kit supports and tests on;
# a workload that imports the kit before aws_cdk is spared it too. Any value the user set
# wins (the variable names the Node major version whose banner is silenced).
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

__version__ = "0.2.0"
