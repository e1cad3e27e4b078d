"""What the operator commands (``gameday``, ``contain``) share: their input error, the
step they print, and how they read an account and a region from the command line.

Standard library only, and the config model: no CDK.
"""

from __future__ import annotations

import difflib

from baseline.config import Account, LandingZoneConfig
from baseline.handlers.containment import Step

__all__ = ["CommandError", "Step", "created_account", "governed_region"]


class CommandError(Exception):
    """Bad input or unusable credentials: one line per problem, exit 2."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


def created_account(config: LandingZoneConfig, value: str, problems: list[str]) -> Account | None:
    """The account ``--account`` names (by name or id) that exists; else a problem line
    (with the closest names) and None."""
    found = next((a for a in config.accounts if value in (a.name, a.id)), None)
    if found is None:
        close = difflib.get_close_matches(value, [a.name for a in config.accounts])
        problems.append(
            f"--account: {value!r} is not an account of the config"
            + (f" (did you mean {', '.join(close)}?)" if close else "")
        )
        return None
    if found.id is None:
        problems.append(f"--account: {found.name!r} has no id yet; it is not created")
        return None
    return found


def governed_region(config: LandingZoneConfig, value: str | None, problems: list[str]) -> str:
    """``--region``, the home region by default; a problem line when it is not governed."""
    region = value or config.home_region
    if region not in config.governed_regions:
        problems.append(
            f"--region: {region!r} is not a governed region ({', '.join(config.governed_regions)})"
        )
    return region
