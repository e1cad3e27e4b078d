"""docs/detection.md traces every CIS 3.x and 4.x control of the registry to its resource."""

from __future__ import annotations

import re

from baseline.cdk_context import PROJECT_ROOT
from baseline.constructs.security_alarms import CIS_ALARMS
from baseline.controls import CONTROLS

DOC = (PROJECT_ROOT / "docs" / "detection.md").read_text(encoding="utf-8")


def _rows() -> dict[str, str]:
    """CIS id -> its table row in the page."""
    rows = {}
    for line in DOC.splitlines():
        match = re.match(r"^\| (\d\.\d+) \|", line)
        if match:
            rows[match.group(1)] = line
    return rows


def test_every_logging_and_monitoring_control_is_traced() -> None:
    rows = _rows()
    registry = {cis for control in CONTROLS for cis in control.cis if cis.startswith(("3.", "4."))}
    assert registry, "the registry names CIS 3.x and 4.x controls"
    missing = sorted(registry - set(rows), key=lambda c: [int(p) for p in c.split(".")])
    assert missing == []
    for control in CONTROLS:
        for cis in control.cis:
            if cis.startswith("3."):
                assert control.id in rows[cis], f"CIS {cis} row does not name {control.id}"
            elif cis.startswith("4."):
                assert control.id in DOC, f"{control.id} ({cis}) is not named"


def test_every_alarm_is_named_in_the_page() -> None:
    rows = _rows()
    for alarm in CIS_ALARMS:
        assert f"<prefix>-{alarm.id}" in rows[alarm.cis], alarm.cis
