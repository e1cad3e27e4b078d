"""docs/incident-response.md names alarms and finding rules that the example deploys."""

from __future__ import annotations

import re
from pathlib import Path

from baseline.assembly import templates_with_stack_sets
from tests.conftest import Synthesized

DOC = Path(__file__).resolve().parents[1] / "docs" / "incident-response.md"
PLAYBOOKS = (
    "Compromised IAM credentials",
    "Compromised EC2 instance",
    "Exposed S3 bucket",
    "Root user activity",
    "Disabled logging",
    "Crypto-mining",
)


def _deployed_names(synthesized: Synthesized) -> set[str]:
    """Names of alarms, rules, topics and roles, the member template's included."""
    names = set()
    for _, template in templates_with_stack_sets(synthesized.outdir):
        for resource in template.get("Resources", {}).values():
            props = resource.get("Properties", {})
            for key in ("AlarmName", "AssociationName", "Name", "TopicName", "RoleName"):
                if isinstance(props.get(key), str):
                    names.add(props[key])
    return names


def test_every_alarm_and_rule_a_playbook_names_exists(synthesized: Synthesized) -> None:
    text = DOC.read_text(encoding="utf-8")
    named = set(re.findall(r"`(nwl-[a-z0-9-]+)`", text))
    deployed = _deployed_names(synthesized)
    missing = sorted(n for n in named if n not in deployed)
    assert missing == [], f"the playbooks name what the example does not deploy: {missing}"
    assert "nwl-root-usage" in named and "nwl-guardduty-findings" in named


def test_every_playbook_says_what_starts_it_and_how_to_release() -> None:
    text = DOC.read_text(encoding="utf-8")
    for title in PLAYBOOKS:
        section = text.split(f"### {title}\n", 1)[1].split("\n### ", 1)[0]
        for part in ("**Starts with:**", "**Already done:**", "**Steps:**", "**Release:**"):
            assert part in section, f"{title}: {part}"
