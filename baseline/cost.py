"""``python -m baseline cost``: a monthly estimate of what the baseline of a config costs.

An estimate, said so in every output: list prices from one data file
(``baseline/data/prices.json``, with the source of each price and its date), times
quantities the config decides (accounts, governed regions, AZs, the hub, which data events
the trail records) and quantities only the organisation knows (events, resources,
gigabytes per account), which are inputs with defaults (``Assumptions``). Data transfer,
the workloads' own resources, what GuardDuty charges by their size (runtime monitoring
per vCPU, S3 protection, malware scans), CloudWatch Logs ingestion and storage (the
trail's log group, flow logs, the functions' logs), the CloudWatch alarms and taxes are not
in it.

No CDK here.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from functools import cache
from importlib import resources
from typing import Any

from baseline.config import AccountRole, LandingZoneConfig


@dataclass(frozen=True)
class Assumptions:
    """What one member account does in a month, per governed region unless it says."""

    config_items: int = 2_000
    management_events: int = 1_000_000  # what GuardDuty analyses
    security_hub_checks: int = 3_000
    instances: int = 5  # scanned by Inspector
    buckets: int = 10  # evaluated by Macie
    detective_gb: float = 1.0
    #: S3 write data events the organisation trail records (all regions), with
    #: ``trail.s3_data_events`` ``write`` or ``all``
    data_events: int = 500_000
    #: S3 read data events it records besides (all regions), with ``s3_data_events: all``:
    #: reads outnumber writes
    read_data_events: int = 5_000_000
    #: Lambda invocations it records (all regions), with ``trail.lambda_data_events: true``
    lambda_invocations: int = 1_000_000
    #: log archive storage added a month (all regions)
    log_gb: float = 5.0
    #: customer-managed keys the member baseline makes per account and region
    keys_per_region: int = 2


@dataclass(frozen=True)
class Line:
    item: str
    scope: str  # "per account and region", "per region", "organisation"
    quantity: float
    unit_price: float
    count: int  # how many accounts or regions it is multiplied by

    @property
    def monthly(self) -> float:
        return self.quantity * self.unit_price * self.count


@cache
def prices() -> dict[str, Any]:
    """The price data file: ``about``, ``date``, ``hours_per_month``, ``prices``."""
    text = resources.files("baseline").joinpath("data/prices.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _price(key: str) -> float:
    return float(prices()["prices"][key]["price"])


def hub_lines(config: LandingZoneConfig, region: str) -> list[Line]:
    """The network hub in one region, before data charges."""
    if not config.network.hub:
        return []
    hours = prices()["hours_per_month"]
    zones = len(config.network.zones(region))
    lines = [
        Line("NAT gateways (one per AZ)", region, zones * hours, _price("nat_gateway_hour"), 1),
        Line("their public IPv4 addresses", region, zones * hours, _price("public_ipv4_hour"), 1),
        Line(
            "egress VPC's transit gateway attachment",
            region,
            hours,
            _price("transit_gateway_attachment_hour"),
            1,
        ),
        Line(
            "SSM parameters, Advanced tier (3)",
            region,
            3,
            _price("ssm_advanced_parameter_month"),
            1,
        ),
    ]
    if config.network.firewall.enabled:
        lines.insert(
            0,
            Line(
                "Network Firewall endpoints (one per AZ)",
                region,
                zones * hours,
                _price("firewall_endpoint_hour"),
                1,
            ),
        )
    return lines


def hub_monthly(config: LandingZoneConfig, region: str) -> float:
    return sum(line.monthly for line in hub_lines(config, region))


def estimate(config: LandingZoneConfig, assume: Assumptions) -> list[Line]:
    """Every line of the estimate."""
    members = sum(1 for a in config.accounts if a.role != AccountRole.MANAGEMENT)
    accounts = len(config.accounts)
    regions = len(config.governed_regions)
    each = f"per account and region ({accounts} x {regions})"
    lines = [
        Line(
            "AWS Config items", each, assume.config_items, _price("config_item"), accounts * regions
        ),
        Line(
            "GuardDuty, management events analysed (millions)",
            each,
            assume.management_events / 1e6,
            _price("guardduty_events_million"),
            accounts * regions,
        ),
        Line(
            "Security Hub checks",
            each,
            assume.security_hub_checks,
            _price("security_hub_check"),
            accounts * regions,
        ),
        Line(
            "Inspector, EC2 instances",
            each,
            assume.instances,
            _price("inspector_instance_month"),
            accounts * regions,
        ),
        Line(
            "Macie, buckets evaluated",
            each,
            assume.buckets,
            _price("macie_bucket_month"),
            accounts * regions,
        ),
        Line(
            "Detective, GB ingested",
            each,
            assume.detective_gb,
            _price("detective_gb"),
            accounts * regions,
        ),
        Line(
            "member baseline KMS keys",
            f"per member account and region ({members} x {regions})",
            assume.keys_per_region,
            _price("kms_key_month"),
            members * regions,
        ),
    ]
    per_account = f"per account ({accounts})"
    events = [
        ("S3 write data events", assume.data_events, config.trail.s3_data_events != "none"),
        ("S3 read data events", assume.read_data_events, config.trail.s3_data_events == "all"),
        ("Lambda data events", assume.lambda_invocations, config.trail.lambda_data_events),
    ]
    lines += [
        Line(
            f"organisation trail, {kind} (100,000s)",
            per_account,
            quantity / 1e5,
            _price("trail_data_events_100k"),
            accounts,
        )
        for kind, quantity, recorded in events
        if recorded
    ]
    lines.append(
        Line(
            "log archive storage added this month (GB)",
            per_account,
            assume.log_gb,
            _price("s3_standard_gb_month"),
            accounts,
        )
    )
    for region in config.governed_regions:
        lines += hub_lines(config, region)
    return lines


def unused(config: LandingZoneConfig) -> dict[str, str]:
    """The assumptions the config makes irrelevant, each with the setting that does."""
    trail = config.trail
    reasons = {}
    if trail.s3_data_events == "none":
        reasons["data_events"] = "trail.s3_data_events is none"
    if trail.s3_data_events != "all":
        reasons["read_data_events"] = f"trail.s3_data_events is {trail.s3_data_events}"
    if not trail.lambda_data_events:
        reasons["lambda_invocations"] = "trail.lambda_data_events is false"
    return reasons


def total_problems(config: LandingZoneConfig, assume: Assumptions) -> list[str]:
    """One line if the assumptions make the total too large to compute, else none."""
    total = sum(line.monthly for line in estimate(config, assume))
    if math.isfinite(total):
        return []
    return [
        "--assume: the estimate's total is too large to compute with these values; "
        "give smaller ones"
    ]


def render_text(config: LandingZoneConfig, assume: Assumptions) -> str:
    lines = estimate(config, assume)
    total = sum(line.monthly for line in lines)
    data = prices()
    out = [
        f"ESTIMATE of the baseline's monthly cost for {config.organization.name}: "
        f"about ${total:,.0f} a month",
        f"  prices: {data['about']} ({data['date']}, baseline/data/prices.json)",
        "  not included: data transfer and processing, the workloads' own resources and what"
        " GuardDuty charges by their size (runtime monitoring per vCPU, S3 and malware"
        " scans), CloudWatch Logs ingestion and storage (the trail's log group, flow logs,"
        " the functions' logs) and the CloudWatch alarms, taxes",
        "",
        f"  {'item':<52} {'scope':<34} {'per month':>12}",
    ]
    for line in lines:
        out.append(f"  {line.item:<52} {line.scope:<34} {line.monthly:>12,.2f}")
    trail = config.trail
    out += [
        "",
        f"  the config's trail records S3 data events: {trail.s3_data_events}, Lambda data "
        f"events: {'on' if trail.lambda_data_events else 'off'}",
        "  assumptions (change with --assume KEY=VALUE):",
    ]
    skipped = unused(config)
    for name, value in asdict(assume).items():
        reason = f"   (not used: {skipped[name]})" if name in skipped else ""
        out.append(f"    {name} = {value}{reason}")
    return "\n".join(out)


def render_json(config: LandingZoneConfig, assume: Assumptions) -> str:
    lines = estimate(config, assume)
    return json.dumps(
        {
            "estimate": True,
            "monthly_total_usd": round(sum(line.monthly for line in lines), 2),
            "prices_date": prices()["date"],
            "assumptions": asdict(assume),
            "assumptions_not_used": unused(config),
            "lines": [
                {
                    "item": line.item,
                    "scope": line.scope,
                    "quantity": line.quantity,
                    "unit_price": line.unit_price,
                    "count": line.count,
                    "monthly_usd": round(line.monthly, 2),
                }
                for line in lines
            ],
        },
        indent=2,
        allow_nan=False,  # never Infinity or NaN, which JSON does not have
    )


def assumptions_from(pairs: list[str]) -> tuple[Assumptions, list[str]]:
    """``--assume KEY=VALUE`` pairs over the defaults; the problems, one line each."""
    known = {f.name: f for f in fields(Assumptions)}
    values: dict[str, Any] = {}
    problems = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in known:
            problems.append(
                f"--assume: {pair!r} is not KEY=VALUE with KEY one of {', '.join(known)}"
            )
            continue
        whole = known[key].type in ("int", int)
        try:
            number = float(value)  # a value too large for a float reads as inf
        except ValueError:
            number = math.nan
        if math.isnan(number) or value.strip().lower().lstrip("+-") in ("inf", "infinity"):
            problems.append(f"--assume {key}: {value!r} is not a number")
            continue
        if number < 0:
            problems.append(f"--assume {key}: {value!r} is negative")
            continue
        if math.isinf(number):
            problems.append(f"--assume {key}: {value!r} is too large")
            continue
        if whole:
            if not number.is_integer():
                problems.append(f"--assume {key}: {value!r} is not a whole number")
                continue
            # digits are taken as given: through a float, a count of 17 digits or more
            # would be rounded
            values[key] = int(value) if value.strip().isdigit() else int(number)
        else:
            values[key] = number
    return Assumptions(**values), problems
