"""``python -m baseline --help``: the description names every command, in full."""

from __future__ import annotations

import argparse

import pytest

from baseline.__main__ import build_parser, main


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
