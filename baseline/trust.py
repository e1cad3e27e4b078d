"""What GitHub OIDC subjects, external ids, organisations and e-mail addresses the kit
trusts or sends to: checks with no CDK, so the config's validation and the constructs
share them without starting node."""

from __future__ import annotations

import re
from collections.abc import Sequence

# An owner or repository: a name, optionally with its immutable numeric id (``name@123``).
_NAME = r"[A-Za-z0-9_.-]+(?:@[0-9]+)?"
_SUBJECT = re.compile(r"^repo:(?P<owner>[^/:]+)/(?P<repo>[^:]+):(?P<rest>.+)\Z")
_OWNER = re.compile(rf"^{_NAME}\Z")
_REST = re.compile(r"^(ref:refs/(heads|tags)/\S+|environment:\S+|pull_request)\Z")
# IAM's \w is ASCII: letters, digits and _ only
_EXTERNAL_ID = re.compile(r"^[\w+=,.@:/-]{2,1224}\Z", re.ASCII)
ACCOUNT_ID = re.compile(r"^[0-9]{12}\Z")
ORGANIZATION_ID = re.compile(r"^o-[a-z0-9]{10,32}\Z")
_HOST = r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?"


def _address(atom: str, domain: str = rf"{_HOST}(\.{_HOST})+") -> re.Pattern[str]:
    """An address whose local part is dot-separated runs of ``atom`` (a character class's
    inside), at ``domain``."""
    return re.compile(rf"^[{atom}]+(\.[{atom}]+)*@{domain}\Z")


# An address mail systems deliver (a dot-atom local part): the notification address.
EMAIL = _address(r"A-Za-z0-9!#$%&'*+/=?^_`{|}~-")
# An account's root address: the grammar above without what CreateAccount refuses in the
# local part (whitespace " ' ( ) < > [ ] : ; , \ | % &).
ACCOUNT_EMAIL = _address(r"A-Za-z0-9!#$*+/=?^_`{}~-")
# The security alternate contact's address: what PutAlternateContact accepts
# ([\w+=.#|!&-]+@[\w.-]+\.[\w]+), narrowed to what mail systems deliver.
CONTACT_EMAIL = _address(r"A-Za-z0-9_+=#|!&-", rf"({_HOST}\.)+[A-Za-z0-9]+")


def subject_problems(subjects: Sequence[str]) -> list[str]:
    """Why each refused subject is refused: a wildcard in the owner or repository part, a
    bare ``*``, or not a GitHub subject at all (``repo:OWNER/REPO:...``)."""
    problems = []
    if not subjects:
        problems.append("subjects: give at least one (repo:OWNER/REPO:ref:refs/heads/main)")
    for index, subject in enumerate(subjects):
        match = _SUBJECT.match(subject)
        where = f"subjects[{index}] {subject!r}"
        if match is None:
            problems.append(
                f"{where}: not a GitHub subject; use repo:OWNER/REPO:ref:refs/heads/BRANCH, "
                "...:ref:refs/tags/TAG, ...:environment:NAME or ...:pull_request"
            )
            continue
        for part in ("owner", "repo"):
            value = match.group(part)
            if not _OWNER.match(value):
                problems.append(
                    f"{where}: the {part} must be named exactly (letters, digits, '.', '_', "
                    f"'-', optionally @<id>); {value!r} would let other repositories in"
                )
        if not _REST.match(match.group("rest")):
            problems.append(
                f"{where}: after the repository comes ref:refs/heads/..., ref:refs/tags/..., "
                "environment:... or pull_request"
            )
    return problems


def external_id_problem(external_id: str) -> str | None:
    """Why an external id is refused (IAM allows 2-1224 of letters, digits, +=,.@:/-_)."""
    if _EXTERNAL_ID.match(external_id):
        return None
    return (
        "external_id must be 2 to 1224 characters of letters, digits and +=,.@:/-_, "
        f"got {len(external_id)} characters"
    )
