#!/usr/bin/env python3
"""The CDK app: load the landing-zone config, build every stack, check compliance, synth.

Run it with `make synth`, `npx cdk synth` (or diff, deploy), or `python app.py`. Another
config: `npx cdk synth -c config=path/to/landing-zone.yaml`.
"""

import os

# jsii prints a large end-of-life banner on Node.js 20, which the kit supports.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from baseline.app import main

if __name__ == "__main__":
    main()
