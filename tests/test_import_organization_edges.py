"""``import-organization`` on what a real organisation holds besides its tree: closed and
suspended accounts, names with line breaks and other control characters, and SCPs and
RCPs attached by someone else. Against moto's AWS Organizations, a fresh organisation for
each test (tests/test_import_organization.py reads one large organisation)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

from baseline.__main__ import main
from baseline.importer import (
    PLACEHOLDER,
    POLICIES_DOC,
    READ_OPERATIONS,
    clients,
    read_organization,
    render_config,
)
from tests.test_import_organization import filled

ROOT = Path(__file__).resolve().parent.parent


class Organisation:
    """A moto organisation being built: OUs, accounts (closed on request), policies."""

    def __init__(self) -> None:
        self.client = boto3.client("organizations")
        self.client.create_organization(FeatureSet="ALL")
        self.root = self.client.list_roots()["Roots"][0]["Id"]

    def unit(self, name: str, parent: str | None = None) -> str:
        created = self.client.create_organizational_unit(ParentId=parent or self.root, Name=name)
        return str(created["OrganizationalUnit"]["Id"])

    def account(self, name: str, parent: str | None = None, *, closed: bool = False) -> str:
        email = f"aws-{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}@example.com"
        status = self.client.create_account(AccountName=name, Email=email)
        number = str(status["CreateAccountStatus"]["AccountId"])
        if parent is not None:
            self.client.move_account(
                AccountId=number, SourceParentId=self.root, DestinationParentId=parent
            )
        if closed:
            self.client.close_account(AccountId=number)  # moto: SUSPENDED, as AWS for 90 days
        return number

    def policy(self, name: str, policy_type: str, *targets: str) -> str:
        principal = {"Principal": "*"} if policy_type == "RESOURCE_CONTROL_POLICY" else {}
        statement = {"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*", **principal}
        created = self.client.create_policy(
            Name=name,
            Description="made by another team",
            Type=policy_type,
            Content=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
        )
        policy_id = str(created["Policy"]["PolicySummary"]["Id"])
        for target in targets:
            self.client.attach_policy(PolicyId=policy_id, TargetId=target)
        return policy_id


@pytest.fixture
def organisation(monkeypatch: pytest.MonkeyPatch) -> Iterator[Organisation]:
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        yield Organisation()


def _core(org: Organisation, *, log_archive: bool = True) -> str:
    """Security and Infrastructure OUs with the core accounts; the Security OU's id."""
    security = org.unit("Security")
    if log_archive:
        org.account("Logging", security)
    org.account("Audit", security)
    org.account("Network", org.unit("Infrastructure"))
    return security


def _validate(data: dict[str, Any], tmp_path: Path) -> int:
    path = tmp_path / "imported.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return main(["validate", str(path)])


# --- closed and suspended accounts ------------------------------------------------------


def test_a_closed_account_gets_no_core_role_and_no_place_until_someone_decides(
    organisation: Organisation, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A closed "Log Archive" (listed first) is not the log archive: the active "Logging"
    is. Its OU is left for a person, so the file does not validate as if it were one more
    workload account."""
    security = _core(organisation, log_archive=False)
    closed = organisation.account("Log Archive", security, closed=True)
    organisation.account("Logging", security)
    imported = read_organization(*clients())
    roles = {a.name: a.role for a in imported.accounts}
    assert roles["Log Archive"] == "workload"
    assert roles["Logging"] == "log_archive"
    text = render_config(imported)
    assert '# status "SUSPENDED" in AWS (closed or suspended), in "Security"' in text
    data = filled(text)
    (index,) = [i for i, a in enumerate(data["accounts"]) if a.get("id") == closed]
    entry = data["accounts"][index]
    assert entry["ou"] == PLACEHOLDER and "role" not in entry
    assert _validate(data, tmp_path) == 2
    assert f"  accounts[{index}].ou: still FILL-IN" in capsys.readouterr().err.splitlines()
    entry["ou"] = "Suspended"  # the decision: a suspended OU
    data["organizational_units"].append({"name": "Suspended"})
    data["guardrails"]["suspended_ous"] = ["Suspended"]
    assert _validate(data, tmp_path) == 0


def test_a_closed_core_account_alone_leaves_its_role_to_fill_in(
    organisation: Organisation,
) -> None:
    security = _core(organisation, log_archive=False)
    organisation.account("Log Archive", security, closed=True)
    data = yaml.safe_load(render_config(read_organization(*clients())))
    assert [a for a in data["accounts"] if a.get("role") == "log_archive"] == [
        {"name": PLACEHOLDER, "email": PLACEHOLDER, "ou": PLACEHOLDER, "role": "log_archive"}
    ]


def test_a_closed_account_already_in_a_suspended_ou_stays_there(
    organisation: Organisation, tmp_path: Path
) -> None:
    _core(organisation)
    closed = organisation.account("old-team", organisation.unit("Suspended"), closed=True)
    text = render_config(read_organization(*clients()))
    entry = next(a for a in yaml.safe_load(text)["accounts"] if a.get("id") == closed)
    assert entry["ou"] == "Suspended"
    assert "in a suspended OU\n    # already: confirm that OU in guardrails.suspended_ous" in text
    assert _validate(filled(text), tmp_path) == 0


def test_a_management_account_moved_into_an_ou_is_kept_in_the_root(
    organisation: Organisation, tmp_path: Path
) -> None:
    """AWS lets the management account sit in an OU; the config keeps it in the root (the
    landing zone never moves it, and no SCP applies to it), saying where it is, so that
    the file validates once the placeholders are filled."""
    _core(organisation)
    client = organisation.client
    management = client.describe_organization()["Organization"]["MasterAccountId"]
    infrastructure = next(
        u["Id"]
        for u in client.list_organizational_units_for_parent(ParentId=organisation.root)[
            "OrganizationalUnits"
        ]
        if u["Name"] == "Infrastructure"
    )
    client.move_account(
        AccountId=management,
        SourceParentId=organisation.root,
        DestinationParentId=infrastructure,
    )
    imported = read_organization(*clients())
    assert next(a.ou for a in imported.accounts if a.id == management) == "Infrastructure"
    text = render_config(imported)
    entry = next(a for a in yaml.safe_load(text)["accounts"] if a.get("id") == management)
    assert entry["ou"] == "Root" and entry["role"] == "management"
    assert '# in the OU "Infrastructure" in AWS: the config keeps the management' in text
    assert _validate(filled(text), tmp_path) == 0


def test_the_file_does_not_depend_on_the_order_aws_lists_things_in(
    organisation: Organisation, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AWS promises no order of its lists. Two accounts that could each be the log archive,
    two of one name, and two OUs whose names make one resource get the same roles and
    names when AWS lists everything the other way round."""
    from baseline import importer

    security = _core(organisation, log_archive=False)
    organisation.account("Logs", security)
    organisation.account("Log Archive", security)
    workloads = organisation.unit("Workloads")
    organisation.unit("Prod EU", workloads)
    organisation.unit("prod-eu", workloads)
    organisation.account("team", workloads)
    organisation.account("Team", workloads)
    as_listed = render_config(read_organization(*clients()))
    pages = importer._pages

    def reversed_pages(client: Any, operation: str, key: str, **arguments: Any) -> Any:
        return iter(list(pages(client, operation, key, **arguments))[::-1])

    monkeypatch.setattr(importer, "_pages", reversed_pages)
    assert render_config(read_organization(*clients())) == as_listed
    assert '"prod-eu-2"' in as_listed and "name: team-2" in as_listed


# --- names AWS gives, in the YAML -------------------------------------------------------

_HOSTILE = [
    "Prod\nworkloads: injected",
    "Lab\r\nhome_region: injected",
    "Ops\u2028role: management",  # YAML breaks lines at U+2028, U+2029 and U+0085 too
    "Data\x85ou: injected",
]


def test_names_with_line_breaks_stay_on_their_line(organisation: Organisation) -> None:
    """Whoever names an OU, an account or a policy adds no line to the config: each name
    is written escaped, in its comment as in its value, and the file parses."""
    security = _core(organisation)
    units = [organisation.unit(name) for name in _HOSTILE]
    for number, name in enumerate(_HOSTILE):
        organisation.account(f"{name} {number}", units[number])
    organisation.policy("deny\ninjected: 1", "SERVICE_CONTROL_POLICY", security)
    text = render_config(read_organization(*clients()))
    data = yaml.safe_load(text)  # raised before: a name's line break ended its comment
    assert set(data) == {
        "organization",
        "home_region",
        "governed_regions",
        "security_notification_email",
        "security_contact",
        "organizational_units",
        "guardrails",
        "accounts",
    }
    assert data["home_region"] == PLACEHOLDER
    for entry in data["accounts"]:
        assert set(entry) <= {"name", "email", "id", "ou", "role"}, entry
        assert entry.get("role") != "management" or entry["name"] == "master"
    for unit in data["organizational_units"]:
        assert set(unit) == {"name", "id"}, unit
    assert '# "Prod\\nworkloads: injected" in AWS' in text
    assert '# "Ops\\u2028role: management 2" in AWS' in text
    assert '# "Data\\x85ou: injected" in AWS' in text
    assert 'SCP "deny\\ninjected: 1"' in text
    assert not re.search("[\r\x85\u2028\u2029]", text)


# --- SCPs and RCPs attached by someone else ---------------------------------------------


def test_attached_scps_and_rcps_are_listed_per_target(organisation: Organisation) -> None:
    """Every SCP and RCP AWS does not manage, at its root, OU or account; read through
    the paginators (more policies than moto's page of 20); FullAWSAccess left out."""
    security = _core(organisation)
    prod = organisation.unit("Prod", organisation.unit("Workloads"))
    api = organisation.account("Api", prod)
    root = organisation.root
    organisation.client.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    organisation.client.enable_policy_type(RootId=root, PolicyType="RESOURCE_CONTROL_POLICY")
    first = organisation.policy("legacy-deny-regions", "SERVICE_CONTROL_POLICY", root, prod)
    rcp = organisation.policy("legacy-rcp", "RESOURCE_CONTROL_POLICY", root)
    on_api = organisation.policy("api-only", "SERVICE_CONTROL_POLICY", api)
    bulk = [
        organisation.policy(f"security-{n:02d}", "SERVICE_CONTROL_POLICY", security)
        for n in range(21)
    ]
    organisation.policy("unattached", "SERVICE_CONTROL_POLICY")
    organizations, sts = clients()
    made: list[str] = []
    organizations.meta.events.register(
        "before-call.organizations.*", lambda model, **_: made.append(model.name)
    )
    imported = read_organization(organizations, sts)
    assert {f"organizations:{m}" for m in made} <= READ_OPERATIONS
    assert made.count("ListPolicies") == 3  # two pages of SCPs, one of RCPs
    text = render_config(imported)
    listed = [line for line in text.splitlines() if line.startswith("#   ")]
    security_list = ", ".join(f'SCP "security-{n:02d}" (id "{p}")' for n, p in enumerate(bulk))
    assert listed == [
        f'#   Root: SCP "legacy-deny-regions" (id "{first}"), RCP "legacy-rcp" (id "{rcp}")',
        f"#   OU Security: {security_list}",
        f'#   OU Workloads/Prod: SCP "legacy-deny-regions" (id "{first}")',
        f'#   account api: SCP "api-only" (id "{on_api}")',
    ]
    assert "FullAWSAccess" not in text and "unattached" not in text
    assert POLICIES_DOC in text
    yaml.safe_load(text)


def test_the_command_warns_of_attached_policies_on_stderr(
    organisation: Organisation, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _core(organisation)
    root = organisation.root
    organisation.client.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    for name in ("a", "b", "c"):
        organisation.policy(f"existing-{name}", "SERVICE_CONTROL_POLICY", root)
    out = tmp_path / "imported.yaml"
    assert main(["import-organization", "--output", str(out)]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert warnings == [
        "warning: 3 SCP/RCP attachment(s) AWS does not manage are in the organisation "
        "(Root: 3); they are not imported and are listed at the top of the config: move "
        "them into guardrails.custom or detach them before the first deploy "
        "(docs/deploy.md#3-deploy-the-organization-stack)"
    ]
    assert '#   Root: SCP "existing-a"' in out.read_text(encoding="utf-8")


def test_the_linked_section_says_what_existing_policies_do() -> None:
    page, anchor = POLICIES_DOC.split("#")
    text = (ROOT / page).read_text(encoding="utf-8")
    (section,) = [s for s in text.split("\n## ")[1:] if _anchor(s.splitlines()[0]) == anchor]
    assert "otherwise the attachments fail and the stack rolls back" in " ".join(section.split())


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^a-z0-9 -]", "", heading.strip().lower()).replace(" ", "-")


def test_the_readme_lists_every_permission_the_importer_needs() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [operation for operation in sorted(READ_OPERATIONS) if f"`{operation}`" not in text]
    assert not missing, missing


# --- names that would be one resource -----------------------------------------------------


def test_names_that_would_be_one_resource_are_told_apart(
    organisation: Organisation, tmp_path: Path
) -> None:
    """An account named like a top-level OU, and OU paths of one logical id
    (``Workloads-Prod`` beside ``Workloads/Prod``): the config refuses both, so the
    importer names them apart and its file validates."""
    _core(organisation)
    organisation.unit("Prod", organisation.unit("Workloads"))
    organisation.unit("Workloads-Prod")
    organisation.account("Payments", organisation.unit("payments"))
    data = filled(render_config(read_organization(*clients())))
    top = [u["name"] for u in data["organizational_units"]]
    assert "payments" in top and {"Workloads-Prod", "Workloads-Prod-2"} & set(top)
    (payments,) = [a for a in data["accounts"] if a["ou"] == "payments"]
    assert payments["name"] == "payments-2"
    assert _validate(data, tmp_path) == 0
