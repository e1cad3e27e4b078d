"""Run checkov over every synthesized template and fail on any failed check.

Usage: ``python scripts/checkov_scan.py CHECKOV ASSEMBLY_DIR...`` (``make scan`` runs it
with checkov from its own virtual environment, over the example organisation and the
workload example). Each StackSet template written inline in a stack (the member baseline)
is scanned too. A finding is fixed, or skipped with ``baseline.compliance.acknowledge``,
which writes ``checkov.skip`` with the reason; this prints each failure with the id to
acknowledge and exits 1, or prints the summary and exits 0.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from baseline.assembly import templates_with_stack_sets  # noqa: E402


def failures(report: Any) -> tuple[list[str], dict[str, int]]:
    """The failed checks of a checkov JSON report, one line each, and the summary totals."""
    reports = report if isinstance(report, list) else [report]
    lines: list[str] = []
    totals = {"passed": 0, "failed": 0, "skipped": 0}
    for part in reports:
        summary = part.get("summary", {})
        for key in totals:
            totals[key] += int(summary.get(key, 0))
        for check in part.get("results", {}).get("failed_checks", []):
            lines.append(
                f"{check['check_id']} ({check['check_name']}) on {check['resource']} in "
                f"{Path(check['file_path']).name}: fix it, or acknowledge "
                f"'{check['check_id']}' on that resource with a reason"
            )
    return lines, totals


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print("usage: checkov_scan.py CHECKOV ASSEMBLY_DIR...", file=sys.stderr)
        return 2
    checkov, *assemblies = argv
    with tempfile.TemporaryDirectory(prefix="checkov-") as scratch:
        count = 0
        for assembly in assemblies:
            for name, template in templates_with_stack_sets(Path(assembly)):
                target = Path(scratch) / f"{Path(assembly).name}-{name.replace('/', '-')}.json"
                target.write_text(json.dumps(template), encoding="utf-8")
                count += 1
        if count == 0:
            print(f"no templates in {', '.join(assemblies)}: run make synth first", file=sys.stderr)
            return 2
        result = subprocess.run(
            [checkov, "-d", scratch, "--framework", "cloudformation", "-o", "json", "--quiet"],
            capture_output=True,
            text=True,
            check=False,
        )
    if not result.stdout.strip():
        print(f"checkov printed no report: {result.stderr.strip()[-500:]}", file=sys.stderr)
        return 2
    lines, totals = failures(json.loads(result.stdout))
    for line in lines:
        print(line, file=sys.stderr)
    print(
        f"checkov: {totals['passed']} passed, {totals['failed']} failed, "
        f"{totals['skipped']} skipped with a reason, in {count} templates"
    )
    return 1 if lines else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
