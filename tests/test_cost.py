"""``python -m baseline cost``: an estimate from one price file, with its assumptions."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from baseline.__main__ import main
from baseline.config import LandingZoneConfig, parse_config
from baseline.cost import Assumptions, estimate, hub_monthly, prices

ROOT = Path(__file__).resolve().parent.parent


def test_every_price_names_its_source_and_the_file_its_date() -> None:
    data = prices()
    assert re.fullmatch(r"\d{4}-\d{2}", data["date"]) and data["hours_per_month"] == 730
    for key, price in data["prices"].items():
        assert price["price"] > 0, key
        assert price["source"].startswith("https://aws.amazon.com/"), key
        assert price["unit"].startswith("per "), key


def test_the_network_page_quotes_the_hub_the_estimate_computes(
    example_config: LandingZoneConfig,
) -> None:
    per_region = hub_monthly(example_config, "eu-west-1")
    text = (ROOT / "docs" / "network.md").read_text(encoding="utf-8")
    assert f"**about ${per_region:,.0f} a month per region**" in text
    total = sum(hub_monthly(example_config, r) for r in example_config.governed_regions)
    assert f"the example's three regions: about ${total:,.0f}" in text


def test_the_total_is_the_sum_of_its_lines_and_follows_the_config(
    example_config: LandingZoneConfig, example_data: dict[str, Any]
) -> None:
    lines = estimate(example_config, Assumptions())
    assert any(line.item.startswith("Network Firewall") for line in lines)
    data = copy.deepcopy(example_data)
    data["network"]["hub"] = False
    without_hub = estimate(parse_config(data), Assumptions())
    assert not any("Firewall" in line.item or "NAT" in line.item for line in without_hub)
    saved = sum(line.monthly for line in lines) - sum(line.monthly for line in without_hub)
    assert saved == pytest.approx(
        sum(hub_monthly(example_config, r) for r in example_config.governed_regions)
    )


def test_assumptions_change_the_estimate(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", "--json"]) == 0
    default = json.loads(capsys.readouterr().out)
    assert main(["cost", "--json", "--assume", "instances=50"]) == 0
    more = json.loads(capsys.readouterr().out)
    assert default["estimate"] is True and more["assumptions"]["instances"] == 50
    assert more["monthly_total_usd"] > default["monthly_total_usd"]
    inspector = [x for x in more["lines"] if x["item"].startswith("Inspector")]
    assert inspector[0]["monthly_usd"] == pytest.approx(50 * 1.258 * 33, rel=1e-3)


def test_the_text_says_it_is_an_estimate_and_lists_its_assumptions(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["cost"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ESTIMATE of the baseline's monthly cost for Northwind Logistics")
    assert "not included: data transfer" in out and "    instances = 5" in out
    # validate lists the trail's log group as paid; the estimate says it leaves it out
    assert "CloudWatch Logs ingestion and storage (the trail's log group" in out


@pytest.mark.parametrize(
    ("pair", "problem"),
    [
        ("instances", "--assume: 'instances' is not KEY=VALUE"),
        ("planets=3", "--assume: 'planets=3' is not KEY=VALUE"),
        ("instances=many", "--assume instances: 'many' is not a number"),
        ("instances=-1", "--assume instances: '-1' is negative"),
        ("instances=inf", "--assume instances: 'inf' is not a number"),
        ("log_gb=nan", "--assume log_gb: 'nan' is not a number"),
        ("log_gb=1e400", "--assume log_gb: '1e400' is too large"),
        ("instances=" + "9" * 400, f"--assume instances: '{'9' * 400}' is too large"),
    ],
)
def test_bad_assumptions_exit_2(
    pair: str, problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["cost", "--assume", pair]) == 2
    assert capsys.readouterr().err.startswith(problem)


def _trail(example_data: dict[str, Any], **trail: Any) -> LandingZoneConfig:
    data = copy.deepcopy(example_data)
    data["trail"] = {**data.get("trail", {}), **trail}
    return parse_config(data)


def _data_event_lines(config: LandingZoneConfig) -> dict[str, float]:
    return {
        line.item: line.monthly
        for line in estimate(config, Assumptions())
        if line.item.startswith("organisation trail")
    }


def test_the_trail_s_data_events_follow_the_config(example_data: dict[str, Any]) -> None:
    """None: no data events; write: the writes; all: the reads too, many more; Lambda's
    invocations only when the trail records them."""
    accounts = len(example_data["accounts"])
    assert _data_event_lines(_trail(example_data, s3_data_events="none")) == {}
    write = _data_event_lines(_trail(example_data, s3_data_events="write"))
    assert write == {
        "organisation trail, S3 write data events (100,000s)": pytest.approx(
            Assumptions().data_events / 1e5 * 0.10 * accounts
        )
    }
    every = _data_event_lines(_trail(example_data, s3_data_events="all"))
    reads = every.pop("organisation trail, S3 read data events (100,000s)")
    assert every == write and reads > 5 * sum(write.values())
    with_lambda = _data_event_lines(
        _trail(example_data, s3_data_events="none", lambda_data_events=True)
    )
    assert with_lambda == {
        "organisation trail, Lambda data events (100,000s)": pytest.approx(
            Assumptions().lambda_invocations / 1e5 * 0.10 * accounts
        )
    }


def test_the_output_says_which_assumptions_the_trail_leaves_unused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["cost"]) == 0  # the example: write data events, no Lambda data events
    out = capsys.readouterr().out
    assert "the config's trail records S3 data events: write, Lambda data events: off" in out
    assert "    data_events = 500000\n" in out
    assert "    read_data_events = 5000000   (not used: trail.s3_data_events is write)" in out
    assert "lambda_invocations = 1000000   (not used: trail.lambda_data_events is false)" in out
    assert main(["cost", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["assumptions_not_used"] == {
        "read_data_events": "trail.s3_data_events is write",
        "lambda_invocations": "trail.lambda_data_events is false",
    }


@pytest.mark.parametrize(
    ("pair", "problem"),
    [
        ("instances=2.9", "--assume instances: '2.9' is not a whole number"),
        ("keys_per_region=0.5", "--assume keys_per_region: '0.5' is not a whole number"),
    ],
)
def test_a_count_takes_a_whole_number(
    pair: str, problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["cost", "--assume", pair]) == 2
    assert capsys.readouterr().err.splitlines() == [problem]


def test_a_whole_number_may_be_written_as_a_float(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", "--json", "--assume", "instances=3.0", "--assume", "log_gb=2.5"]) == 0
    assumptions = json.loads(capsys.readouterr().out)["assumptions"]
    assert assumptions["instances"] == 3 and assumptions["log_gb"] == 2.5


@pytest.mark.parametrize("output", [[], ["--json"]])
def test_a_total_too_large_to_compute_is_refused(
    output: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Each value is finite, their product is not: no "$inf", no Infinity in the JSON."""
    assert main(["cost", *output, "--assume", "instances=1e308"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        "--assume: the estimate's total is too large to compute with these values; "
        "give smaller ones"
    ]


def test_a_count_is_taken_as_the_digits_given() -> None:
    from baseline.cost import assumptions_from

    # through a float, 99999999999999999999 became 100000000000000000000
    assumed, problems = assumptions_from(["instances=99999999999999999999", "log_gb=2.5"])
    assert problems == [] and assumed.instances == 99999999999999999999
    assert assumed.log_gb == 2.5
