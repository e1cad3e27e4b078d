"""``python -m baseline --help``: the description names every command, in full."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest
import yaml

from baseline.__main__ import build_parser, main
from tests.conftest import Synthesized


def _commands(parser: argparse.ArgumentParser) -> list[str]:
    (subparsers,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return list(subparsers.choices)


def test_the_help_names_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    """The help's description once stopped mid-list (at "explain,"): it names every
    command the parser has, and ``--help`` prints all of it."""
    parser = build_parser()
    description = parser.description or ""
    words = {word.strip(",.()") for word in description.split()}
    missing = [name for name in _commands(parser) if name not in words]
    assert not missing, description
    assert "``" not in description
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    assert " ".join(description.split()) in " ".join(capsys.readouterr().out.split())


def test_report_names_an_assembly_of_another_config(
    synthesized: Synthesized,
    config_data: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every guardrail would read as missing: one line says the two do not belong together."""
    config_data["organization"]["prefix"] = "abc"
    other = tmp_path / "abc.yaml"
    other.write_text(yaml.safe_dump(config_data), encoding="utf-8")
    code = main(["report", "-c", str(other), "--cdk-out", str(synthesized.outdir)])
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1, err
    assert "synthesized from another config: its stacks are nwl-" in err
    assert "the config's prefix is 'abc'" in err


def test_a_reader_that_stops_early_gets_no_success(synthesized: Synthesized) -> None:
    """``report | head``: the report did not all arrive, and its verdict was not reached,
    so the command exits as SIGPIPE would (141), not 0, which would pass a CI step. The
    reader is gone before the first write, so the write fails whatever the timing."""
    import os
    import subprocess
    import sys

    reader, writer = os.pipe()
    os.close(reader)
    process = subprocess.Popen(
        [sys.executable, "-m", "baseline", "report", "--cdk-out", str(synthesized.outdir)],
        stdout=writer,
        stderr=subprocess.PIPE,
    )
    os.close(writer)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 141
    assert b"Traceback" not in err
