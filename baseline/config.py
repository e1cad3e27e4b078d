"""The landing-zone configuration: one YAML file, validated strictly.

The model below is the one source of truth for what the YAML may say. Unknown keys are
errors, every field is described (the descriptions become the JSON Schema in
``docs/landing-zone.schema.json``), and cross-field rules are checked after the fields
themselves. :func:`load_config` turns every problem, including a missing file, an empty
file and a YAML syntax error, into a :class:`ConfigError` holding one line per problem,
each naming the field path (``accounts[3].email: ...``).
"""

from __future__ import annotations

import difflib
import fnmatch
import ipaddress
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictFloat,
    StrictInt,
    ValidationError,
    model_validator,
)

from baseline.defaults import (
    DEFAULT_MANAGED_DOMAIN_LISTS,
    DEFAULT_THREAT_RULE_GROUPS,
    DNS_THREATS,
    FORENSICS_VPC_CIDR,
    HUB_ALLOWED_DOMAINS,
    HUB_AMAZON_SIDE_ASN,
    HUB_EGRESS_CIDR,
    HUB_WORKLOAD_CIDRS,
    MANAGED_DOMAIN_LISTS,
    MAX_ALLOWED_DOMAINS,
    hub_problems,
)
from baseline.naming import (
    ACCOUNT_SETTINGS_LOGICAL_ID,
    account_stack_index,
    baseline_principal_arns,
    ci_role,
    created_account_logical_id,
    logical_id,
    ou_logical_id,
    permission_set_logical_id,
    prefix_problem,
    third_party_role,
)
from baseline.trust import (
    ACCOUNT_EMAIL,
    CONTACT_EMAIL,
    EMAIL,
    ORGANIZATION_ID,
    external_id_problem,
    subject_problems,
)

#: Region codes of the commercial ``aws`` partition (the kit deploys there only).
#: ``tests/test_config.py`` checks this list against the CDK's own region facts.
AWS_REGIONS: frozenset[str] = frozenset(
    {
        "af-south-1",
        "ap-east-1",
        "ap-east-2",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-south-1",
        "ap-south-2",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "ap-southeast-5",
        "ap-southeast-6",
        "ap-southeast-7",
        "ca-central-1",
        "ca-west-1",
        "eu-central-1",
        "eu-central-2",
        "eu-north-1",
        "eu-south-1",
        "eu-south-2",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "il-central-1",
        "me-central-1",
        "me-south-1",
        "mx-central-1",
        "sa-east-1",
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
    }
)

#: The regions whose CloudFormation has the Security Hub resources of the home region's
#: security tooling (central configuration: ConfigurationPolicy, PolicyAssociation,
#: FindingAggregator, OrganizationConfiguration); a home region without them fails the
#: synth's template validation. ``tests/test_config.py`` checks it against cfn-lint's
#: region schemas.
SECURITY_HUB_HOME_REGIONS: frozenset[str] = frozenset(
    {
        *("ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1"),
        *("ap-southeast-1", "ap-southeast-2", "ca-central-1", "eu-central-1"),
        *("eu-north-1", "eu-west-1", "eu-west-2", "eu-west-3", "me-south-1"),
        *("sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2"),
    }
)
#: The regions whose CloudFormation has CodeArtifact (``packages:``, in the home region).
CODEARTIFACT_REGIONS: frozenset[str] = frozenset(
    {
        *("ap-northeast-1", "ap-south-1", "ap-southeast-1", "ap-southeast-2"),
        *("eu-central-1", "eu-north-1", "eu-south-1", "eu-west-1", "eu-west-2"),
        *("eu-west-3", "me-south-1", "us-east-1", "us-east-2", "us-west-2"),
    }
)

#: The regions where a service the security tooling turns on in every governed region
#: (Detective, Macie, Inspector) is not offered, by that service's name.
SECURITY_SERVICE_GAPS: dict[str, frozenset[str]] = {
    "Detective": frozenset(
        {
            *("ap-east-2", "ap-northeast-3", "ap-south-2", "ap-southeast-3", "ap-southeast-4"),
            *("ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-west-1"),
            *("eu-central-2", "eu-south-2", "me-central-1", "mx-central-1"),
        }
    ),
    "Macie": frozenset(
        {
            *("ap-east-2", "ap-south-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5"),
            *("ap-southeast-6", "ap-southeast-7", "ca-west-1", "eu-central-2", "eu-south-2"),
            *("me-central-1", "mx-central-1"),
        }
    ),
    "Inspector": frozenset({"ap-southeast-6"}),
}

#: The OU path that stands for the organisation root itself.
ROOT_OU = "Root"

#: AWS Organizations allows OUs to nest at most five levels below the root.
MAX_OU_DEPTH = 5

#: New accounts one account stack may create (CloudFormation allows 500 resources).
MAX_NEW_ACCOUNTS_PER_STACK = 450

_ACCOUNT_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*\Z")
#: The longest name of an account the kit creates (AWS::Organizations::Account's AccountName).
MAX_NEW_ACCOUNT_NAME = 50
_OU_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9 _-]{0,127}\Z")
_ACCOUNT_ID = re.compile(r"^[0-9]{12}\Z")
_ROOT_ID = re.compile(r"^r-[0-9a-z]{4,32}\Z")
_PHONE = re.compile(r"^\+[0-9][0-9 ()-]{6,23}\Z")  # at most 25 (PutAlternateContact)
_OU_ID = re.compile(r"^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}\Z")
# IAM and IAM Identity Center define their names in ASCII: their \w is [A-Za-z0-9_]
_PRINCIPAL_ARN = re.compile(r"^arn:aws:iam::([0-9]{12}):(role|user)/[\w+=,.@/-]{1,512}\Z", re.ASCII)
_GUARDRAIL_ID = re.compile(r"^[A-Z][A-Z0-9-]{2,63}\Z")
_ROLE_SUFFIX = re.compile(r"^[a-z0-9](-?[a-z0-9])*\Z")
_SSO_INSTANCE = re.compile(r"^arn:aws:sso:::instance/(sso)?ins-[a-zA-Z0-9.-]{16}\Z")
#: A KMS key's ARN as Identity Center's EncryptionConfiguration takes it (a key id, or a
#: multi-Region key's).
_KMS_KEY_ARN = re.compile(
    r"^arn:aws:kms:[a-z]{2,}(-[a-z0-9]+)+:\d{12}:key/"
    r"(mrk-[a-f0-9]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\Z"
)
_IDENTITY_STORE = re.compile(
    r"^(d-[0-9a-f]{10}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\Z"
)
_IDENTITY_STORE_PRINCIPAL = re.compile(
    r"^([0-9a-f]{10}-)?[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}\Z"
)
_PERMISSION_SET_NAME = re.compile(r"^[\w+=,.@-]{1,32}\Z", re.ASCII)
_POLICY_REFERENCE = re.compile(r"^(/?[\w+=,.@-]+/)*[\w+=,.@-]{1,128}\Z", re.ASCII)
_AUDIT_PRINCIPAL = re.compile(r"^arn:aws:iam::([0-9]{12}):role/([\w+=,.@/*-]{1,512})\Z", re.ASCII)
_MANAGED_POLICY_ARN = re.compile(
    r"^arn:aws:iam::aws:policy/([A-Za-z0-9.,+@=_-]+/)*[A-Za-z0-9.,+@=_-]{1,128}\Z"
)
_ROLE_ARN_PATTERN = re.compile(r"^arn:aws:iam::(\*|[0-9]{12}):role/[\w+=,.@/-]+\*?\Z", re.ASCII)
# IAM Identity Center's character sets (sso-admin): a permission set's description, and
# the keys and sources of attribute-based access control (Unicode letters, spaces, digits)
_PERMISSION_SET_DESCRIPTION = re.compile(r"^[\t\n\r\x20-\x7e\xa1-\xff]*\Z")
_ABAC_KEY_PUNCTUATION = frozenset("_.:/=+-@")
_ABAC_SOURCE_PUNCTUATION = frozenset('_.:/=+-@[]{}$\\"')
#: the end of a role pattern for one permission set's Identity Center roles
_SSO_ROLE_PATTERN = re.compile(r"/\*?AWSReservedSSO_([\w+=,.@-]+?)_\*\Z", re.ASCII)
#: the characters sso-admin takes in an inline policy (PermissionSetPolicyDocument)
_INLINE_POLICY_TEXT = re.compile(r"[\t\n\r\x20-\xff]+")
#: attributes Identity Center takes for access control at most
MAX_ACCESS_CONTROL_ATTRIBUTES = 50
#: AWS-managed and customer-managed policies a permission set takes in all (Identity
#: Center's quotas; IAM's own default is 10 managed policies per role)
MAX_PERMISSION_SET_POLICIES = 20
#: the statement elements a custom guardrail may use, and those only an RCP may add
_STATEMENT_KEYS = frozenset(
    {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"}
)
_RCP_STATEMENT_KEYS = frozenset({"Principal"})
_SID = re.compile(r"^[A-Za-z0-9]+\Z")


def _unicode_text(value: str, punctuation: frozenset[str]) -> bool:
    """Every character a letter, a digit or a space (``\\p{L}``, ``\\p{N}``, ``\\p{Zs}``:
    AWS's ``\\p{Z}`` less its line and paragraph separators), or one of ``punctuation``."""
    return all(
        c in punctuation or unicodedata.category(c)[0] in "LN" or unicodedata.category(c) == "Zs"
        for c in value
    )


def _has_control_character(value: str) -> bool:
    """A line break, tab or other control character (categories Cc, Zl and Zp)."""
    return any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in value)


def _one_line(value: str) -> str:
    if _has_control_character(value):
        raise ValueError(f"{value!r} holds a line break or other control character")
    return value


def _only_reserved(pattern: str, prefix: str) -> bool:
    """Whether a role ARN pattern names roles the guardrails reserve for the baseline's
    principals and nothing else: the role it names, its wildcard filled in, is one of
    them (``cdk-lzbaseline-deploy-role-*`` is; ``cdk-*`` and ``cdk-lzbaseline-*`` name
    other roles too)."""
    account, _, name = pattern.removeprefix("arn:aws:iam::").partition(":role/")
    named = f"arn:aws:iam::{account.replace('*', '123456789012')}:role/{name.replace('*', 'zz')}"
    return any(fnmatch.fnmatchcase(named, p) for p in baseline_principal_arns(prefix))


def _identity_center_role(account_id: str, permission_set: str) -> str:
    """The ARN pattern of an IAM Identity Center permission set's roles in one account.

    Identity Center names them ``AWSReservedSSO_<set>_<suffix>`` under the path
    ``aws-reserved/sso.amazonaws.com/`` (with the region in it for newer instances).
    """
    return (
        f"arn:aws:iam::{account_id}:role/aws-reserved/sso.amazonaws.com/"
        f"*AWSReservedSSO_{permission_set}_*"
    )


#: member_baseline field -> the permission set whose roles it trusts when left empty
DEFAULT_TRUSTED_SETS = {
    "audit_principals": "SecurityAudit",
    "incident_responder_principals": "IncidentResponse",
}


class ConfigError(Exception):
    """A configuration that cannot be used; ``problems`` holds one line per problem."""

    def __init__(self, source: str, problems: list[str], *, fields_only: bool = False) -> None:
        self.source = source
        self.problems = problems
        #: only the fields were checked: the rules across fields did not run yet
        self.fields_only = fields_only
        super().__init__(f"{source}: " + "; ".join(problems))

    def render(self) -> str:
        """The lines a person reads: a heading, then one problem per line."""
        lines = [f"invalid landing-zone config {self.source}: {len(self.problems)} problem(s)"]
        lines += [f"  {p}" for p in self.problems]
        if self.fields_only:
            lines.append(
                "  (further checks): the rules across fields, the guardrails and the policy "
                "files are checked once these are fixed"
            )
        return "\n".join(lines)


class AccountRole(StrEnum):
    """What an account is for. Each core role is held by exactly one account."""

    MANAGEMENT = "management"
    LOG_ARCHIVE = "log_archive"
    AUDIT = "audit"
    NETWORK = "network"
    SHARED_SERVICES = "shared_services"
    #: optional: the evidence bucket and isolated analysis VPC (at most one account)
    FORENSICS = "forensics"
    WORKLOAD = "workload"


CORE_ROLES: tuple[AccountRole, ...] = (
    AccountRole.MANAGEMENT,
    AccountRole.LOG_ARCHIVE,
    AccountRole.AUDIT,
    AccountRole.NETWORK,
)


class ObjectLockMode(StrEnum):
    """S3 Object Lock retention modes."""

    COMPLIANCE = "COMPLIANCE"
    GOVERNANCE = "GOVERNANCE"


class _RuleError(ValueError):
    """Problems found by a model-level rule, each prefixed with its field path."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def _raise_if(problems: list[str]) -> None:
    if problems:
        raise _RuleError(problems)


def _matches(pattern: re.Pattern[str], rule: str) -> AfterValidator:
    def check(value: str | None) -> str | None:
        if value is not None and not pattern.match(value):
            raise ValueError(f"{value!r} {rule}")
        return value

    return AfterValidator(check)


def _prefix_rules(value: str) -> str:
    problem = prefix_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _email_rules(value: str) -> str:
    if not 6 <= len(value) <= 64 or not EMAIL.match(value):
        raise ValueError(f"{value!r} is not a valid e-mail address of 6-64 characters")
    return value


#: The address of an account as AWS Organizations holds it (its API's own pattern): an
#: existing account's is taken as AWS has it, whatever the mail standards say of it.
_ORGANIZATIONS_EMAIL = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")


def _account_email_rules(value: str) -> str:
    if not 6 <= len(value) <= 64 or not _ORGANIZATIONS_EMAIL.fullmatch(value):
        raise ValueError(f"{value!r} is not a valid e-mail address of 6-64 characters")
    return value


def _contact_email_rules(value: str) -> str:
    if not 6 <= len(value) <= 64 or not CONTACT_EMAIL.match(value):
        raise ValueError(
            f"{value!r} is not a valid e-mail address of 6-64 characters for the alternate "
            "contact (before the @, AWS takes only letters, digits and . _ + = # | ! & -)"
        )
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=False)


class Organization(_Strict):
    """The organisation as a whole."""

    name: Annotated[str, AfterValidator(_one_line)] = Field(
        min_length=1, max_length=128, description="Human-readable organisation name."
    )
    prefix: Annotated[
        str,
        AfterValidator(_prefix_rules),
        Field(
            description=(
                "Short lower-case prefix for every name the kit derives (buckets, key "
                "aliases, roles): 2-12 characters, letters, digits and single hyphens, "
                "starting with a letter."
            ),
        ),
    ]
    create: bool = Field(
        default=False,
        description=(
            "Greenfield start: the Organization stack creates the organisation itself "
            "(all features). Until id and root_id are filled in after that first deploy, "
            "only the Organization stack is synthesized."
        ),
    )
    id: Annotated[
        str | None, _matches(ORGANIZATION_ID, "is not an organisation id like o-a1b2c3d4e5")
    ] = Field(
        default=None,
        description=(
            "The organisation id (o-...). Log writers and the data perimeter are scoped to "
            "it (aws:SourceOrgID, aws:PrincipalOrgID). Required unless create is true."
        ),
    )
    root_id: Annotated[str | None, _matches(_ROOT_ID, "is not a root id like r-a1b2")] = Field(
        default=None,
        description="The organisation root id (r-...). Required unless create is true.",
    )
    account_stacks: StrictInt = Field(
        default=4,
        ge=1,
        le=64,
        description=(
            "How many account stacks the accounts are spread over, by a stable hash of "
            "their names (each stack holds the accounts it creates, their placement and "
            "security contacts). Changing it moves accounts between stacks: plan it."
        ),
    )

    @model_validator(mode="after")
    def _existing_needs_ids(self) -> Self:
        problems = []
        if not self.create:
            for name in ("id", "root_id"):
                if getattr(self, name) is None:
                    problems.append(
                        f"{name}: required for an existing organisation (set create: true to "
                        "create one)"
                    )
        elif self.id is not None and self.root_id is None:
            # phase 2 of a new organisation: the member baseline targets OUs by id, the
            # root's among them
            problems.append(
                "root_id: required once id is filled in (phase 2 of create: true; `aws "
                "organizations list-roots` gives it)"
            )
        _raise_if(problems)
        return self


class OrganizationalUnit(_Strict):
    """An OU; ``children`` nest below it."""

    name: str = Field(description="OU name: a letter, then letters, digits, spaces, '_' or '-'.")
    id: Annotated[str | None, _matches(_OU_ID, "is not an OU id like ou-ab12-cd34ef56")] = Field(
        default=None,
        description=(
            "Id of an OU that already exists: the Organization stack then references it "
            "instead of creating it. Needed for an OU the member-baseline StackSet targets."
        ),
    )
    children: list[OrganizationalUnit] = Field(
        default_factory=list, description="OUs nested directly below this one."
    )

    @model_validator(mode="after")
    def _name(self) -> Self:
        if not _OU_NAME.match(self.name) or self.name == ROOT_OU:
            _raise_if(
                [
                    f"name: {self.name!r} is not a valid OU name (a letter, then up to 127 "
                    f"letters, digits, spaces, '_' or '-'; {ROOT_OU!r} is reserved)"
                ]
            )
        return self


class Account(_Strict):
    """An AWS account in the organisation."""

    name: Annotated[
        str,
        _matches(
            _ACCOUNT_NAME,
            "must be lower-case letters and digits in hyphen-separated groups, starting "
            "with a letter",
        ),
    ] = Field(description="Short unique account name (lower case, hyphens), used in stack names.")
    email: Annotated[str, AfterValidator(_account_email_rules)] = Field(
        description="The account's unique root e-mail address (6-64 characters)."
    )
    role: AccountRole = Field(
        default=AccountRole.WORKLOAD,
        description="What the account is for; core roles are held by exactly one account.",
    )
    ou: str = Field(
        description=(
            f"Path of the OU the account lives in, e.g. 'Workloads/Prod'; {ROOT_OU!r} is "
            "the organisation root (the management account's place)."
        )
    )
    id: Annotated[
        str | None, _matches(_ACCOUNT_ID, "must be exactly 12 digits (quote it in YAML)")
    ] = Field(
        default=None,
        description=(
            "The 12-digit account id of an existing account. Omit it for an account the "
            "account stacks should create; core accounts must have it."
        ),
    )

    @model_validator(mode="after")
    def _created_by_the_kit(self) -> Self:
        """An account the kit creates goes to CreateAccount (AWS::Organizations::Account),
        which takes a name of at most 50 characters and refuses some characters in the
        address; an existing account keeps the name and address AWS has."""
        problems = []
        if self.id is None:
            if len(self.name) > MAX_NEW_ACCOUNT_NAME:
                problems.append(
                    f"name: {len(self.name)} characters; an account the kit creates can have "
                    f"at most {MAX_NEW_ACCOUNT_NAME} (AWS::Organizations::Account AccountName)"
                )
            if not EMAIL.match(self.email):
                problems.append(f"email: {self.email!r} is not a valid e-mail address")
            elif not ACCOUNT_EMAIL.match(self.email):
                problems.append(
                    f"email: {self.email!r} holds a character AWS Organizations refuses in "
                    "the address of an account it creates (no spaces, and none of "
                    "\" ' ( ) < > [ ] : ; , \\ | % &)"
                )
        _raise_if(problems)
        return self


class ObjectLock(_Strict):
    """S3 Object Lock default retention of the central log bucket."""

    mode: ObjectLockMode = Field(
        default=ObjectLockMode.COMPLIANCE,
        description=(
            "COMPLIANCE: nobody, the root user included, can delete a locked object "
            "version before its retention ends. GOVERNANCE: principals with "
            "s3:BypassGovernanceRetention can."
        ),
    )
    retention_days: StrictInt = Field(
        default=365, ge=1, le=36500, description="Default retention in days (1-36,500)."
    )


class LogArchive(_Strict):
    """The central log archive in the log-archive account."""

    object_lock: ObjectLock = Field(
        default_factory=ObjectLock, description="Object Lock default retention."
    )
    replication_region: str | None = Field(
        default=None,
        description=(
            "Governed region holding the object-locked replica of the log bucket. "
            "Default: the first governed region other than the home region. Set "
            "replicate: false to turn replication off."
        ),
    )
    replicate: bool = Field(
        default=True,
        description="Replicate the log bucket to a second region (needs a second governed region).",
    )
    # the day counts are bounded as the object lock's retention is (100 years; twice that
    # for an expiration, which must outlast the lock): S3 takes whole days of 32 bits
    transition_to_infrequent_access_days: StrictInt = Field(
        default=90,
        ge=30,
        le=36500,
        description="Days before log objects move to S3 Standard-IA.",
    )
    transition_to_glacier_days: StrictInt = Field(
        default=365,
        ge=90,
        le=36500,
        description="Days before log objects move to S3 Glacier Flexible Retrieval.",
    )
    expiration_days: StrictInt | None = Field(
        default=None,
        ge=1,
        le=73000,
        description=(
            "Days after which log objects expire. Default: never. Must exceed the "
            "object-lock retention."
        ),
    )
    access_log_retention_days: StrictInt = Field(
        default=365,
        ge=90,
        le=36500,
        description="Days the server access logs of the log buckets are kept.",
    )

    @model_validator(mode="after")
    def _lifecycle(self) -> Self:
        problems = []
        infrequent, glacier = (
            self.transition_to_infrequent_access_days,
            self.transition_to_glacier_days,
        )
        # one lifecycle rule holds both transitions and the expiration: S3 refuses it when
        # objects would stay in Standard-IA less than 30 days, or expire before Glacier
        if glacier < infrequent + 30:
            problems.append(
                "transition_to_glacier_days: must be at least 30 days later than "
                f"transition_to_infrequent_access_days ({infrequent}), so at least "
                f"{infrequent + 30} (S3 keeps objects in Standard-IA for 30 days before "
                f"Glacier), got {glacier}"
            )
        if self.expiration_days is not None:
            if self.expiration_days <= self.object_lock.retention_days:
                problems.append(
                    f"expiration_days: must be longer than object_lock.retention_days "
                    f"({self.object_lock.retention_days}), got {self.expiration_days}"
                )
            if self.expiration_days <= glacier:
                problems.append(
                    "expiration_days: must be later than transition_to_glacier_days "
                    f"({glacier}), got {self.expiration_days}"
                )
        _raise_if(problems)
        return self


class SecurityContact(_Strict):
    """The security alternate contact set on every account (CIS 1.2)."""

    name: Annotated[str, AfterValidator(_one_line)] = Field(
        min_length=1, max_length=64, description="Contact name or team."
    )
    title: Annotated[str, AfterValidator(_one_line)] = Field(
        min_length=1, max_length=50, description="Contact title."
    )
    email: Annotated[str, AfterValidator(_contact_email_rules)] = Field(
        description="Contact e-mail address."
    )
    phone: Annotated[
        str,
        _matches(
            _PHONE,
            "is not a phone number like +44 20 7946 0000 (at most 25 characters: '+', "
            "then digits, spaces, '(', ')' and '-')",
        ),
    ] = Field(description="Contact phone number, international format.")


def _statement_shape_problems(where: str, statement: dict[str, Any], policy_type: str) -> list[str]:
    """A custom statement's elements: only those its policy type has, a Sid of ASCII
    letters and digits, and actions and resources as a string or a list of strings."""
    allowed = _STATEMENT_KEYS | (_RCP_STATEMENT_KEYS if policy_type == "RCP" else set())
    problems = [
        f"{where}.{key}: not an element of an {policy_type} statement (allowed: "
        f"{', '.join(sorted(allowed))})"
        for key in statement
        if key not in allowed
    ]
    sid = statement.get("Sid")
    if "Sid" in statement and not (isinstance(sid, str) and _SID.match(sid)):
        problems.append(
            f"{where}.Sid: {sid!r} must be ASCII letters and digits only (A-Z, a-z, 0-9)"
        )
    for key in ("Action", "NotAction", "Resource", "NotResource"):
        if key not in statement:
            continue
        value = statement[key]
        listed = isinstance(value, list) and value and all(isinstance(v, str) and v for v in value)
        if not (isinstance(value, str) and value) and not listed:
            problems.append(f"{where}.{key}: give a string or a list of strings, got {value!r}")
        elif key in ("Action", "NotAction"):
            problems += [
                f"{where}.{key}: {action!r} is not '*' or service:action (e.g. s3:GetObject)"
                for action in ([value] if isinstance(value, str) else value)
                if action != "*" and not ACTION_PATTERN.match(action)
            ]
    if "Resource" in statement and "NotResource" in statement:
        problems.append(f"{where}: give Resource or NotResource, not both")
    return problems


#: An IAM action, ``service:Action`` with ``*`` and ``?`` wildcards (groups: the two parts).
ACTION_PATTERN = re.compile(r"^([A-Za-z0-9-]+):([A-Za-z0-9*?]+)\Z")


def _condition_value_problems(where: str, condition: dict[str, Any]) -> list[str]:
    """A condition's values as IAM takes them: each block a non-empty mapping, each value
    a string, number or boolean or a non-empty list of them; Null and Bool true or false.
    Organizations refuses anything else only when the policy is created, at deploy."""
    problems = []
    scalar = (str, int, float, bool)
    for operator, block in condition.items():
        if not block:
            problems.append(f"{where}.{operator}: an empty block (name a key and its values)")
        named = str(operator).rpartition(":")[2].removesuffix("IfExists")
        for key, value in block.items():
            values = value if isinstance(value, list) else [value]
            if not values or not all(isinstance(v, scalar) for v in values):
                problems.append(
                    f"{where}.{operator}.{key}: give a string, number or boolean, or a "
                    f"list of them, got {value!r}"
                )
            elif named in ("Null", "Bool") and not all(
                str(v).lower() in ("true", "false") for v in values
            ):
                problems.append(f"{where}.{operator}.{key}: {named} takes true or false")
    return problems


class CustomGuardrail(_Strict):
    """An organisation-specific SCP or RCP guardrail, packed with the library's."""

    id: Annotated[
        str, _matches(_GUARDRAIL_ID, "must be upper-case letters, digits and hyphens")
    ] = Field(description="Unique id, e.g. CUSTOM-DENY-EXPENSIVE-INSTANCES.")
    purpose: str = Field(min_length=10, description="One line: what it prevents and why.")
    policy_type: Literal["SCP", "RCP"] = Field(default="SCP", description="SCP or RCP.")
    attach_to: list[str] = Field(
        min_length=1, description=f"Targets: {ROOT_OU!r}, OU paths or account names."
    )
    statements: list[dict[str, Any]] = Field(
        min_length=1, description="IAM policy statements (Effect must be Deny)."
    )

    @model_validator(mode="after")
    def _deny_only(self) -> Self:
        from baseline.guardrails.evaluator import OPERATORS

        problems = []
        for i, statement in enumerate(self.statements):
            problems += _statement_shape_problems(f"statements[{i}]", statement, self.policy_type)
            if statement.get("Effect") != "Deny":
                problems.append(
                    f"statements[{i}].Effect: guardrails only deny (FullAWSAccess allows), got "
                    f"{statement.get('Effect')!r}"
                )
            if ("Action" in statement) == ("NotAction" in statement):
                problems.append(
                    f"statements[{i}]: give the actions it denies, as Action or NotAction "
                    "(one of the two)"
                )
            condition = statement.get("Condition", {})
            if not isinstance(condition, dict) or not all(
                isinstance(block, dict) for block in condition.values()
            ):
                problems.append(
                    f"statements[{i}].Condition: a mapping of operators to mappings of keys"
                )
                condition = {}
            problems += _condition_value_problems(f"statements[{i}].Condition", condition)
            for operator in condition:
                qualifier, _, named = str(operator).rpartition(":")
                if (
                    named.removesuffix("IfExists") not in OPERATORS
                    or qualifier not in ("", "ForAnyValue", "ForAllValues")
                    or named == "NullIfExists"  # IfExists goes with every operator but Null
                ):
                    problems.append(
                        f"statements[{i}].Condition.{operator}: no IAM condition operator of "
                        "that name"
                    )
            if self.policy_type == "RCP":
                if statement.get("Principal") != "*":
                    problems.append(
                        f"statements[{i}].Principal: an RCP statement must have Principal '*'"
                    )
                if "NotAction" in statement or statement.get("Action") in ("*", ["*"]):
                    problems.append(
                        f"statements[{i}].Action: an RCP names service actions (no '*', no NotAction)"
                    )
        _raise_if(problems)
        return self


class AllowedImages(_Strict):
    """Which AMIs an account may discover and launch (SEC06-BP02: hardened images)."""

    mode: Literal["enabled", "audit_mode"] = Field(
        default="enabled",
        description=(
            "enabled: only the listed providers' AMIs (and the account's own) can be used. "
            "audit_mode: every AMI still works, each marked whether it would be allowed; a "
            "named weakening that warns at synth."
        ),
    )
    providers: list[str] = Field(
        default_factory=list,
        description=(
            "Providers beside Amazon and AWS Backup, whose images are always allowed: "
            "aws_marketplace, 12-digit account ids, or account names of the config (an "
            "image factory)."
        ),
    )


class Guardrails(_Strict):
    """Which guardrails attach where. Every weakening here is named and shows in docs."""

    workload_ous: list[str] = Field(
        default_factory=lambda: ["Workloads"],
        description="OU paths of workload accounts (the network-change guardrail attaches here).",
    )
    sandbox_ous: list[str] = Field(
        default_factory=lambda: ["Sandbox"], description="OU paths of sandbox accounts."
    )
    suspended_ous: list[str] = Field(
        default_factory=lambda: ["Suspended"],
        description="OU paths of suspended accounts (everything is denied there).",
    )
    disabled: list[str] = Field(
        default_factory=list,
        description="Library guardrail ids to leave out: an explicit, documented weakening.",
    )
    attachments: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Guardrail id -> targets, replacing the library's default targets.",
    )
    custom: list[CustomGuardrail] = Field(
        default_factory=list, description="Organisation-specific SCP and RCP guardrails."
    )
    allowed_images: AllowedImages = Field(
        default_factory=AllowedImages,
        description="The declarative EC2 policy's allowed images (every account, every region).",
    )


class Trail(_Strict):
    """The organisation CloudTrail trail (management account, home region)."""

    cloudwatch_logs_retention_days: Literal[
        90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653
    ] = Field(
        default=365,
        description="Days CloudWatch Logs keeps the trail's events (the log archive keeps the files).",
    )
    s3_data_events: Literal["none", "write", "all"] = Field(
        default="write", description="S3 object-level events to record (CIS 3.8 write, 3.9 read)."
    )
    lambda_data_events: bool = Field(default=False, description="Record Lambda invocations.")


class StackSetHome(StrEnum):
    """Where the member-baseline StackSet lives."""

    MANAGEMENT = "management"
    DELEGATED_ADMIN = "delegated_admin"


class DefaultVpcAction(StrEnum):
    """What the member baseline does with the default VPCs AWS creates."""

    CLOSE = "close_default_security_groups"
    DELETE = "delete"


class EbsKey(StrEnum):
    """Which key EBS encryption by default uses."""

    AWS_MANAGED = "aws_managed"
    CUSTOMER_MANAGED = "customer_managed"


class MemberBaseline(_Strict):
    """The baseline every member account gets, in every governed region, through a StackSet."""

    deploy_from: StackSetHome = Field(
        default=StackSetHome.MANAGEMENT,
        description=(
            "management: the service-managed StackSet lives in the management account "
            "(CallAs SELF). delegated_admin: it lives in the audit account, registered as "
            "the StackSets delegated administrator (CallAs DELEGATED_ADMIN)."
        ),
    )
    target_ous: list[str] = Field(
        default_factory=lambda: [ROOT_OU],
        description=(
            f"Where the StackSet deploys automatically: {ROOT_OU!r} (every member account, "
            "present and future) or OU paths that carry an id."
        ),
    )
    max_concurrent_percentage: StrictInt = Field(
        default=25, ge=1, le=100, description="Share of accounts deployed at once per region."
    )
    failure_tolerance_percentage: StrictInt = Field(
        default=10,
        ge=0,
        le=100,
        description="Share of accounts that may fail before the operation stops.",
    )
    region_concurrency: Literal["PARALLEL", "SEQUENTIAL"] = Field(
        default="PARALLEL", description="Deploy the governed regions in parallel or one by one."
    )
    ebs_encryption_key: EbsKey = Field(
        default=EbsKey.AWS_MANAGED,
        description=(
            "aws_managed (aws/ebs) or customer_managed (a baseline key per account and region, "
            "which the forensics account may use through EC2, so that evidence snapshots shared "
            "with it can be examined there; aws/ebs snapshots cannot be shared at all). "
            "customer_managed is experimental: its key policy does not yet allow the Auto "
            "Scaling service-linked role, so Auto Scaling launches with encrypted volumes fail; "
            "the synth warns about it."
        ),
    )
    default_vpcs: DefaultVpcAction = Field(
        default=DefaultVpcAction.CLOSE,
        description="close_default_security_groups, or delete the default VPCs where they hold nothing.",
    )
    break_glass_principals: list[str] = Field(
        default_factory=list,
        description=(
            "IAM users (with MFA devices) in the management account that may assume the "
            "break-glass role; MFA is required, so role sessions without MFA cannot. "
            "Empty: no break-glass role is created."
        ),
    )
    github_oidc_provider: bool = Field(
        default=False,
        description=(
            "Create the GitHub Actions OIDC provider (token.actions.githubusercontent.com) in "
            "every account, so workload teams only make roles (GitHubOidcDeployRole with "
            "provider=GitHubOidcDeployRole.existing_provider(...)). Default: false."
        ),
    )
    break_glass_session_hours: StrictInt = Field(
        default=1, ge=1, le=12, description="Maximum session of the break-glass role, in hours."
    )
    audit_principals: list[str] | None = Field(
        default=None,
        description=(
            "Roles of the audit account (ARNs, '*' allowed in the name) that may assume the "
            "read-only audit role and the support role in every member account; nobody else "
            "in the audit account may. Default: the audit account's IAM Identity Center roles "
            "of the SecurityAudit permission set."
        ),
    )
    incident_responder_principals: list[str] | None = Field(
        default=None,
        description=(
            "Roles of the audit account (ARNs, '*' allowed in the name) that may assume the "
            "incident-responder role in every member account. Default: the audit account's "
            "IAM Identity Center roles of the IncidentResponse permission set."
        ),
    )


_DOMAIN = re.compile(r"^\.?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\Z")
_RULE_GROUP_NAME = re.compile(r"^[A-Za-z0-9]{1,117}StrictOrder\Z")
_AZ = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9][a-z]\Z")


def _ipv4_network(value: str) -> str:
    try:
        network = ipaddress.IPv4Network(value, strict=False)
    except ValueError:
        raise ValueError(f"{value!r} is not an IPv4 range like 10.0.0.0/8") from None
    if str(network) != value:
        raise ValueError(f"{value!r} has host bits set; the range is {network}")
    return value


Cidr = Annotated[str, AfterValidator(_ipv4_network)]


def _each_once(values: list[str]) -> list[str]:
    """A list whose items each name one thing once (a rule, a policy reference): AWS
    refuses a second one of the same."""
    twice = sorted({v for v in values if values.count(v) > 1})
    if twice:
        raise ValueError(f"{', '.join(repr(v) for v in twice)} listed more than once")
    return values


def _domain_rules(value: str) -> str:
    if not _DOMAIN.match(value) or len(value) > 253:
        raise ValueError(
            f"{value!r} is not a lower-case domain name (a leading '.' also allows its subdomains)"
        )
    return value


class TransitGateway(_Strict):
    """The hub's transit gateway, shared through RAM."""

    amazon_side_asn: StrictInt = Field(
        default=HUB_AMAZON_SIDE_ASN,
        ge=64512,
        le=65534,
        description="Private ASN of the Amazon side (64512-65534).",
    )
    auto_accept_shared_attachments: bool = Field(
        default=True,
        description=(
            "Accept attachments from the accounts it is shared with without a person "
            "accepting each one. The share is limited to network.share_with, and an "
            "attached VPC only reaches the inspected egress path, never another VPC."
        ),
    )


class NetworkFirewall(_Strict):
    """AWS Network Firewall on the hub's egress path."""

    enabled: bool = Field(
        default=True,
        description=(
            "Inspect egress with AWS Network Firewall. false: an explicit, documented "
            "weakening; egress then leaves through NAT uninspected."
        ),
    )
    allowed_domains: list[Annotated[str, AfterValidator(_domain_rules)]] = Field(
        default_factory=lambda: list(HUB_ALLOWED_DOMAINS),
        max_length=MAX_ALLOWED_DOMAINS,
        description=(
            "Domains workloads may reach over HTTP and TLS (by Host header and SNI); a "
            "leading '.' allows the subdomains too. Every other flow is dropped."
        ),
    )
    firewalls_quota: StrictInt = Field(
        default=5,
        ge=1,
        le=100,
        description=(
            "The network account's AWS Network Firewall quota 'Firewalls per account per "
            "Region' in the governed regions (5 unless raised), less any firewall of its "
            "own there: the hub makes one firewall per availability zone. Raise the quota "
            "in AWS first, then this."
        ),
    )
    managed_rule_groups: Annotated[
        list[
            Annotated[
                str,
                _matches(
                    _RULE_GROUP_NAME,
                    "is not the strict-order name of a managed rule group (the hub's policy "
                    "uses strict order; names end in StrictOrder)",
                ),
            ]
        ],
        AfterValidator(_each_once),
    ] = Field(
        default_factory=lambda: list(DEFAULT_THREAT_RULE_GROUPS),
        description=(
            "AWS managed stateful rule groups (strict-order names) evaluated before the "
            "allow-list: threat signatures and known-bad domains."
        ),
    )


class DnsFirewall(_Strict):
    """Route 53 Resolver DNS Firewall and query logging."""

    enabled: bool = Field(default=True, description="Block known-bad domains at the resolver.")
    managed_domain_lists: Annotated[
        list[Literal[MANAGED_DOMAIN_LISTS]],  # type: ignore[valid-type]
        AfterValidator(_each_once),
    ] = Field(
        default_factory=lambda: list(DEFAULT_MANAGED_DOMAIN_LISTS),
        description="AWS managed domain lists whose domains get no answer (NODATA).",
    )
    blocked_domains: Annotated[
        list[Annotated[str, AfterValidator(_domain_rules)]], AfterValidator(_each_once)
    ] = Field(default_factory=list, description="Further domains the organisation blocks.")
    threat_protection: list[Literal[DNS_THREATS]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: list(DNS_THREATS),
        description=(
            "What DNS Firewall Advanced blocks in the queries themselves, whatever their "
            "domain: DGA and DICTIONARY_DGA (malware's generated domains), DNS_TUNNELING "
            "(data carried in names). Default: all three; leaving one out warns at synth."
        ),
    )
    threat_confidence: Literal["LOW", "MEDIUM", "HIGH"] = Field(
        default="HIGH",
        description="How sure DNS Firewall Advanced must be to block. Default: HIGH.",
    )


class Forensics(_Strict):
    """The forensics account's evidence store and analysis network (account role forensics)."""

    object_lock: ObjectLock = Field(
        default_factory=ObjectLock,
        description="Object Lock default retention of the evidence bucket.",
    )
    vpc_cidr: Cidr = Field(
        default=FORENSICS_VPC_CIDR,
        description=(
            "The isolated analysis VPC's range, /16 to /23 (it has no route out, so it may "
            "overlap others)."
        ),
    )


class ContainmentMode(StrEnum):
    """What the containment automation does about a finding in an OU's accounts."""

    ISOLATE = "isolate"
    NOTIFY = "notify"


class RemediationMode(StrEnum):
    """What the remediation automation does about a misconfiguration in an OU's accounts."""

    REMEDIATE = "remediate"
    NOTIFY = "notify"


class IncidentResponse(_Strict):
    """The containment automation of the audit account (docs/incident-response.md)."""

    containment_severity: StrictFloat = Field(
        default=7.0,
        ge=1.0,
        le=10.0,
        description=(
            "GuardDuty severity at or above which a finding on an instance or a role's "
            "credentials starts the automation. Default: 7 (high)."
        ),
    )
    containment: dict[str, ContainmentMode] = Field(
        default_factory=dict,
        description=(
            "OU path -> isolate or notify. An account follows the nearest OU listed on its "
            "path; an account under none is only notified about (the finding rules page "
            "for it). Isolating contains the instance or revokes the role's sessions "
            "automatically; it never stops, terminates or deletes anything. Default: notify "
            "everywhere."
        ),
    )

    remediation: dict[str, RemediationMode] = Field(
        default_factory=dict,
        description=(
            "OU path -> remediate or notify, for a security group open to the world on SSH "
            "or RDP and a bucket that does not block public access (docs/detection.md). An "
            "account follows the nearest OU listed on its path; under none it is only "
            "notified about. Default: notify everywhere."
        ),
    )

    def isolating_ous(self) -> list[str]:
        return [path for path, mode in self.containment.items() if mode is ContainmentMode.ISOLATE]

    def remediating_ous(self) -> list[str]:
        return [
            path for path, mode in self.remediation.items() if mode is RemediationMode.REMEDIATE
        ]


class Network(_Strict):
    """The network account's hub, in every governed region."""

    hub: bool = Field(
        default=False,
        description=(
            "Deploy the hub (transit gateway, inspected egress, DNS Firewall) in the "
            "network account in every governed region. It costs about $690 a month per "
            "region with the defaults (NAT gateways, Network Firewall endpoints, the transit "
            "gateway attachment), so it is off unless the config turns it on."
        ),
    )
    share_with: list[str] | None = Field(
        default=None,
        description=(
            "OU paths (each with an id) the transit gateway, DNS Firewall rules and query "
            "logging are shared with through RAM. Default: guardrails.workload_ous."
        ),
    )
    availability_zones: dict[str, list[str]] = Field(
        default_factory=dict,
        description=(
            "Region -> the AZ names the hub uses (2 or more). Default: the region's 'a' "
            "and 'b' zones. Each AZ costs a NAT gateway and a firewall endpoint."
        ),
    )
    egress_vpc_cidr: Cidr = Field(
        default=HUB_EGRESS_CIDR,
        description="IPv4 range of each region's egress VPC (/16 to /24).",
    )
    workload_cidrs: list[Cidr] = Field(
        default_factory=lambda: list(HUB_WORKLOAD_CIDRS),
        description=(
            "Ranges the workload VPCs use: return traffic is routed back to them, and the "
            "firewall treats them as the home network."
        ),
    )
    route_table_routes: StrictInt = Field(
        default=50,
        ge=50,
        le=1000,
        description=(
            "The network account's VPC quota 'Routes per route table' in the governed "
            "regions (50 unless raised): each workload range is a route in every public "
            "and firewall route table of the egress VPC, beside its default route. Raise "
            "the quota in AWS first, then this."
        ),
    )
    transit_gateway: TransitGateway = Field(
        default_factory=TransitGateway, description="The shared transit gateway."
    )
    firewall: NetworkFirewall = Field(
        default_factory=NetworkFirewall, description="Egress inspection."
    )
    dns_firewall: DnsFirewall = Field(
        default_factory=DnsFirewall, description="DNS Firewall and query logging."
    )

    def zones(self, region: str) -> list[str]:
        """The AZ names the hub uses in a region."""
        return self.availability_zones.get(region, [f"{region}a", f"{region}b"])


def _group_rules(value: str) -> str:
    if not 1 <= len(value) <= 1024 or value != value.strip():
        raise ValueError(
            f"{value!r} is not a group id or display name (1-1024 characters, no spaces around it)"
        )
    if _has_control_character(value):
        raise ValueError(
            f"{value!r} holds a line break or other control character; give the group's id"
        )
    return value


def _boundary_rules(value: str | None) -> str | None:
    if value is not None and value != "workload" and not _POLICY_REFERENCE.match(value):
        raise ValueError(
            f"{value!r} is neither 'workload' nor a customer-managed policy name or path/name "
            "(1-128 of letters, digits and +=,.@-_)"
        )
    return value


def is_group_id(value: str) -> bool:
    """An identity-store group id, not a display name."""
    return bool(_IDENTITY_STORE_PRINCIPAL.match(value))


class PermissionSet(_Strict):
    """An IAM Identity Center permission set of the config's own."""

    name: Annotated[
        str, _matches(_PERMISSION_SET_NAME, "must be 1-32 letters, digits and +=,.@-_")
    ] = Field(description="The permission set's name, shown to people when they sign in.")
    description: Annotated[
        str,
        _matches(
            _PERMISSION_SET_DESCRIPTION,
            "holds characters IAM Identity Center refuses in a description (it takes ASCII, "
            "tabs, line breaks and the Latin-1 characters U+00A1-U+00FF)",
        ),
    ] = Field(default="", max_length=700, description="What the set is for. Default: none.")
    session_hours: StrictInt = Field(
        default=1, ge=1, le=12, description="How long a session lasts, 1 to 12 hours."
    )
    managed_policies: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="AWS-managed policy ARNs (arn:aws:iam::aws:policy/...).",
    )
    customer_managed_policies: list[
        Annotated[str, _matches(_POLICY_REFERENCE, "is not a policy name or path/name")]
    ] = Field(
        default_factory=list,
        max_length=20,
        description="Customer-managed policies by name or path/name; each must exist in every assigned account.",
    )
    inline_policy_file: str | None = Field(
        default=None,
        description="A JSON policy document in a file next to the config. Default: none.",
    )
    permissions_boundary: Annotated[str | None, AfterValidator(_boundary_rules)] = Field(
        default=None,
        description=(
            "'workload' (the landing zone's workload boundary) or a customer-managed "
            "policy name. Default: none."
        ),
    )


class Assignment(_Strict):
    """Who gets a permission set, on which accounts."""

    permission_set: str = Field(
        description="A permission set of the catalogue (Administrator, PowerUser, ReadOnly, SecurityAudit, Billing) or of permission_sets."
    )
    groups: list[Annotated[str, AfterValidator(_group_rules)]] = Field(
        default_factory=list,
        description=(
            "Groups: an identity-store group id, or a group's display name, looked up at "
            "deploy time (an unknown name fails the deploy and is named)."
        ),
    )
    users: list[
        Annotated[
            str,
            _matches(_IDENTITY_STORE_PRINCIPAL, "is not an identity-store user id"),
        ]
    ] = Field(default_factory=list, description="Identity-store user ids (rarely: prefer groups).")
    accounts: list[str] = Field(default_factory=list, description="Account names.")
    ous: list[str] = Field(
        default_factory=list,
        description="OU paths: every account under them, nested OUs included.",
    )
    exclude_accounts: list[str] = Field(
        default_factory=list, description="Account names left out of the OUs' accounts."
    )


class IdentityCenter(_Strict):
    """IAM Identity Center: permission sets and who gets them where (SEC02-BP04, SEC03-BP01)."""

    instance_arn: Annotated[
        str,
        _matches(
            _SSO_INSTANCE,
            "is not an Identity Center instance ARN (arn:aws:sso:::instance/ssoins-...)",
        ),
    ] = Field(description="The instance's ARN (no CloudFormation attribute exposes it).")
    identity_store_id: Annotated[
        str, _matches(_IDENTITY_STORE, "is not an identity-store id like d-1234567890")
    ] = Field(description="The instance's identity store id (groups by name are looked up there).")
    region: str | None = Field(
        default=None, description="Identity Center's region. Default: the home region."
    )
    kms_key_arn: Annotated[
        str | None,
        _matches(_KMS_KEY_ARN, "is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)"),
    ] = Field(
        default=None,
        description=(
            "The customer-managed KMS key the instance encrypts its data with, if it has "
            "one: the lookups of groups by name decrypt through it (its key policy must let "
            "the deploying account use it through the identity store). Default: an "
            "AWS-owned key, which needs no grant."
        ),
    )
    permission_sets: list[PermissionSet] = Field(
        default_factory=list, description="Permission sets beside the default catalogue."
    )
    assignments: list[Assignment] = Field(default_factory=list, description="Who gets what, where.")
    delegated_administrator: str | None = Field(
        default=None,
        description=(
            "The account (its name) registered as Identity Center's delegated administrator "
            "(sso.amazonaws.com); it manages every permission set not given on the "
            "management account, and their assignments. Default: none (the management "
            "account manages everything). Moving it recreates those sets (docs/identity.md)."
        ),
    )
    assignment_stacks: StrictInt = Field(
        default=1,
        ge=1,
        le=500,
        description=(
            "How many nested stacks hold the assignments (each account's in one, by a stable "
            "hash of its name; ten to a top-level stack); raise it when validate says one "
            "would hold too many. Fixed once deployed: a new count moves assignments between "
            "stacks."
        ),
    )
    access_control_attributes: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Attribute-based access control: session tag key -> identity-store attribute "
            "path, e.g. {team: '${path:enterprise.department}'}."
        ),
    )

    @model_validator(mode="after")
    def _attributes(self) -> Self:
        """What Identity Center takes for access control (sso-admin's
        AccessControlAttribute): keys of 1-128 and sources of at most 256 characters,
        each of letters, digits, spaces and a little punctuation; 50 attributes at most."""
        where = "access_control_attributes"
        attributes = self.access_control_attributes
        problems = []
        if len(attributes) > MAX_ACCESS_CONTROL_ATTRIBUTES:
            problems.append(
                f"{where}: {len(attributes)} attributes; Identity Center takes at most "
                f"{MAX_ACCESS_CONTROL_ATTRIBUTES}"
            )
        for key, source in attributes.items():
            if not 1 <= len(key) <= 128 or not _unicode_text(key, _ABAC_KEY_PUNCTUATION):
                problems.append(
                    f"{where} (key {key!r}): not a session tag key (1-128 letters, digits, "
                    "spaces and _ . : / = + - @)"
                )
            elif len(source) > 256 or not _unicode_text(source, _ABAC_SOURCE_PUNCTUATION):
                problems.append(
                    f"{where}.{key}: {source!r} is not an attribute source (at most 256 "
                    'letters, digits, spaces and _ . : / = + - @ [ ] { } $ \\ ")'
                )
        _raise_if(problems)
        return self


class CiRole(_Strict):
    """A role a GitHub Actions workflow assumes through OIDC, in a core account."""

    name: Annotated[
        str,
        _matches(
            _ROLE_SUFFIX,
            "must be lower-case letters and digits in groups joined by single hyphens",
        ),
    ] = Field(description="Becomes the role name <prefix>-ci-<name>.")
    account: str = Field(description="The core account the role lives in (its name).")
    subjects: list[str] = Field(
        min_length=1,
        description="GitHub subjects the role accepts: repo:OWNER/REPO:environment:NAME and the like.",
    )
    assume_roles: list[str] = Field(
        default_factory=list,
        description=(
            "Role ARN patterns the workflow may assume from this role, e.g. the landing "
            "zone's arn:aws:iam::*:role/cdk-lzbaseline-*; its only permission."
        ),
    )


class ThirdPartyRoleConfig(_Strict):
    """A role one external account assumes with an external id, in a core account."""

    name: Annotated[
        str,
        _matches(
            _ROLE_SUFFIX,
            "must be lower-case letters and digits in groups joined by single hyphens",
        ),
    ] = Field(description="Becomes the role name <prefix>-third-party-<name>.")
    account: str = Field(description="The core account the role lives in (its name).")
    external_account_id: Annotated[
        str, _matches(_ACCOUNT_ID, "must be exactly 12 digits (quote it in YAML)")
    ] = Field(description="The third party's account.")
    external_id: str = Field(
        description="The external id the third party sends (2-1224 characters)."
    )
    managed_policies: list[str] = Field(
        default_factory=list, description="AWS-managed policy ARNs the party gets."
    )


_CODEARTIFACT_DOMAIN = re.compile(r"^[a-z][a-z0-9-]{0,48}[a-z0-9]\Z")
# a normalized Python project-name prefix (PEP 503: lower case, runs of -_. become -)
_PYPI_PREFIX = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*-?\Z")
_NPM_SCOPE = re.compile(r"^@[a-z0-9][a-z0-9._-]{0,213}\Z")
_PUBLISHER = re.compile(r"^arn:aws:iam::([0-9]{12}):role/[\w+=,.@/-]{0,511}\*?\Z", re.ASCII)


class PackageUpstream(StrEnum):
    """A public source CodeArtifact connects to (its external connection)."""

    PYPI = "pypi"
    NPM = "npm"


class Packages(_Strict):
    """The organisation's package repositories: CodeArtifact in the shared-services account
    (docs/packages.md)."""

    domain: Annotated[
        str | None,
        _matches(_CODEARTIFACT_DOMAIN, "must be 2-50 lower-case letters, digits and hyphens"),
    ] = Field(default=None, description="The CodeArtifact domain's name. Default: the prefix.")
    upstreams: list[PackageUpstream] = Field(
        default_factory=lambda: [PackageUpstream.PYPI, PackageUpstream.NPM],
        min_length=1,
        description=(
            "Public sources, one store repository each, upstreams of the internal "
            "repository. Default: pypi and npm."
        ),
    )
    internal_python_prefixes: list[
        Annotated[
            str,
            _matches(
                _PYPI_PREFIX,
                "must be a normalized Python name prefix (lower case letters and digits in "
                "groups joined by single '-'), like 'northwind-'",
            ),
        ]
    ] = Field(
        default_factory=list,
        description=(
            "Python package names starting with these are internal: never taken from PyPI, "
            "published only to the internal repository (dependency confusion)."
        ),
    )
    internal_npm_scopes: list[
        Annotated[str, _matches(_NPM_SCOPE, "must be an npm scope like '@northwind'")]
    ] = Field(
        default_factory=list,
        description="npm scopes that are internal: never taken from npmjs, published only inside.",
    )
    publishers: list[
        Annotated[
            str,
            _matches(
                _PUBLISHER,
                "must be a role ARN, optionally ending in *, like "
                "arn:aws:iam::123456789012:role/release-*",
            ),
        ]
    ] = Field(
        default_factory=list,
        description=(
            "Role ARN patterns (in the organisation) that may publish to the internal "
            "repository; nobody else can. Default: none."
        ),
    )


#: Accounts by name, per accounts list (the list itself kept beside its index, so that an
#: index is never read for another list at the same address); a few lists at most.
_ACCOUNT_INDEXES: dict[int, tuple[list[Account], dict[str, Account]]] = {}
_ACCOUNT_INDEXES_KEPT = 8


def _accounts_by_name(accounts: list[Account]) -> dict[str, Account]:
    """An index of a config's accounts by name, built at its first lookup (a frozen
    config's list does not change; a copy with other accounts has another list). Kept
    apart from the config so that it takes no part in comparing configs."""
    known = _ACCOUNT_INDEXES.get(id(accounts))
    if known is not None and known[0] is accounts:
        return known[1]
    index: dict[str, Account] = {}
    for account in accounts:
        index.setdefault(account.name, account)
    if len(_ACCOUNT_INDEXES) >= _ACCOUNT_INDEXES_KEPT:
        _ACCOUNT_INDEXES.clear()
    _ACCOUNT_INDEXES[id(accounts)] = (accounts, index)
    return index


class LandingZoneConfig(_Strict):
    """The whole landing zone: organisation, regions, accounts and their settings."""

    organization: Organization = Field(description="The organisation as a whole.")
    home_region: str = Field(
        description=(
            "Region of the organisation-level stacks; must be a governed region with "
            "Security Hub central configuration in CloudFormation (and CodeArtifact, with "
            "packages:)."
        )
    )
    governed_regions: list[str] = Field(
        min_length=1,
        description=(
            "Regions where workloads may run and the baseline is deployed; each must offer "
            "Detective, Macie and Inspector, which the security tooling turns on in all of "
            "them."
        ),
    )
    security_notification_email: Annotated[str, AfterValidator(_email_rules)] = Field(
        description="Address that receives security notifications (alarms, findings)."
    )
    organizational_units: list[OrganizationalUnit] = Field(
        default_factory=list, description="The OU tree below the root."
    )
    accounts: list[Account] = Field(min_length=1, description="Every account of the organisation.")
    security_contact: SecurityContact = Field(
        description="Security alternate contact of every account (CIS 1.2)."
    )
    log_archive: LogArchive = Field(
        default_factory=LogArchive, description="Settings of the central log archive."
    )
    guardrails: Guardrails = Field(
        default_factory=Guardrails, description="Where the guardrail policies attach."
    )
    member_baseline: MemberBaseline = Field(
        default_factory=MemberBaseline, description="The baseline of every member account."
    )
    trail: Trail = Field(default_factory=Trail, description="The organisation trail.")
    network: Network = Field(
        default_factory=Network, description="The network account's hub and inspection."
    )
    forensics: Forensics = Field(
        default_factory=Forensics,
        description="The forensics account's evidence bucket and analysis VPC.",
    )
    incident_response: IncidentResponse = Field(
        default_factory=IncidentResponse,
        description="The automatic containment of compromised instances and credentials.",
    )
    identity_center: IdentityCenter | None = Field(
        default=None,
        description="IAM Identity Center permission sets and assignments. Default: none.",
    )
    packages: Packages | None = Field(
        default=None,
        description=(
            "CodeArtifact package repositories in the shared-services account. Default: none."
        ),
    )
    ci_roles: list[CiRole] = Field(
        default_factory=list, description="Roles GitHub Actions assume through OIDC."
    )
    third_party_roles: list[ThirdPartyRoleConfig] = Field(
        default_factory=list, description="Roles third parties assume with an external id."
    )
    #: the directory files named in the config are read from (the config file's own)
    _source_dir: Path = PrivateAttr(default_factory=Path.cwd)

    @property
    def source_dir(self) -> Path:
        return self._source_dir

    def inline_policy(self, permission_set: PermissionSet) -> str | None:
        """The inline policy document of a permission set, as JSON text, from its file."""
        if permission_set.inline_policy_file is None:
            return None
        return (self._source_dir / permission_set.inline_policy_file).read_text(encoding="utf-8")

    def file_problems(self) -> list[str]:
        """Files the config names that are missing or not JSON policy documents."""
        problems = []
        center = self.identity_center
        for i, pset in enumerate(center.permission_sets if center else []):
            if pset.inline_policy_file is None:
                continue
            where = f"identity_center.permission_sets[{i}].inline_policy_file"
            path = self._source_dir / pset.inline_policy_file
            try:
                document = json.loads(path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                problems.append(f"{where}: {str(path)!r} does not exist")
                continue
            except (OSError, UnicodeDecodeError, ValueError) as error:
                problems.append(f"{where}: {str(path)!r} is not a JSON document ({error})")
                continue
            except RecursionError:
                problems.append(f"{where}: {str(path)!r} is nested deeper than a policy can be")
                continue
            text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
            if not isinstance(document, dict) or "Statement" not in document:
                problems.append(f"{where}: {str(path)!r} is not a policy document (no Statement)")
            elif not _INLINE_POLICY_TEXT.fullmatch(text):
                problems.append(
                    f"{where}: the policy holds characters IAM Identity Center refuses in an "
                    "inline policy (it takes ASCII, tabs, line breaks and Latin-1, up to U+00FF)"
                )
            elif len(text.encode("utf-8")) > 10240:
                problems.append(f"{where}: the policy is over 10,240 bytes")
        return problems

    # --- derived views -------------------------------------------------------------

    def ou_paths(self) -> list[str]:
        """Every OU path, parents before children, in file order."""
        paths: list[str] = []

        def walk(units: list[OrganizationalUnit], parent: str) -> None:
            for unit in units:
                path = f"{parent}/{unit.name}" if parent else unit.name
                paths.append(path)
                walk(unit.children, path)

        walk(self.organizational_units, "")
        return paths

    def account_for(self, role: AccountRole) -> Account:
        """The one account holding a core role."""
        return next(a for a in self.accounts if a.role == role)

    def account_id_for(self, role: AccountRole) -> str:
        """The 12-digit id of the account holding a core role (validated to be set)."""
        account_id = self.account_for(role).id
        assert account_id is not None  # guaranteed by _cross_field_rules
        return account_id

    @property
    def bootstrap_phase(self) -> bool:
        """A greenfield organisation not yet created: only the Organization stack applies."""
        return self.organization.create and self.organization.id is None

    def account_by_name(self, name: str) -> Account | None:
        return _accounts_by_name(self.accounts).get(name)

    def paid_services(self) -> list[str]:
        """The paid services this config turns on, one line each, for a person to check
        before the first deploy (docs/network.md and docs/deploy.md give the prices)."""
        regions = len(self.governed_regions)
        where = f"{regions} region{'s' if regions != 1 else ''}"
        lines = [
            f"GuardDuty (every protection plan), Security Hub (2 standards), Inspector, Macie "
            f"and Detective for every account, in {where}",
            f"AWS Config recorders in every account, in {where}",
            "the organisation trail's CloudWatch Logs group"
            + (
                f" and S3 {self.trail.s3_data_events} data events"
                if self.trail.s3_data_events != "none"
                else ""
            )
            + (", Lambda data events" if self.trail.lambda_data_events else ""),
        ]
        if self.network.hub:
            lines.append(
                f"the network hub in {where}: about $690 a month each with the defaults "
                "(docs/network.md), plus data"
            )
        return lines

    def known_id(self, target: str) -> str | None:
        """The id the config gives a target: ``Root``, an OU path or an account name.

        The one place an OU path (or the root, or an account) becomes an id. None when only
        a deployment knows it: an OU or account the kit creates, or the root before
        ``root_id`` is filled in.
        """
        if target == ROOT_OU:
            return self.organization.root_id
        if target in self.ou_ids():
            return self.ou_ids()[target]
        account = self.account_by_name(target)
        return account.id if account is not None else None

    @property
    def identity_center_admin(self) -> str | None:
        """The id of the account registered as Identity Center's delegated administrator
        (``identity_center.delegated_administrator``), if any."""
        center = self.identity_center
        if center is None or center.delegated_administrator is None or self.bootstrap_phase:
            return None
        account = self.account_by_name(center.delegated_administrator)
        assert account is not None and account.id is not None  # the config rules
        return account.id

    @property
    def stack_set_delegated_admin(self) -> str | None:
        """The account registered as the StackSets delegated administrator, if any.

        With ``member_baseline.deploy_from: delegated_admin`` it is the audit account, which
        then holds the member-baseline StackSet; otherwise None (the management account
        holds it). Decided here only.
        """
        if self.member_baseline.deploy_from != StackSetHome.DELEGATED_ADMIN or self.bootstrap_phase:
            return None
        return self.account_id_for(AccountRole.AUDIT)

    @property
    def stack_set_account_id(self) -> str:
        """The account that holds the member-baseline StackSet."""
        return self.stack_set_delegated_admin or self.account_id_for(AccountRole.MANAGEMENT)

    @property
    def effective_replication_region(self) -> str | None:
        """Where the log bucket replica lives, or None when replication is off."""
        if not self.log_archive.replicate:
            return None
        if self.log_archive.replication_region:
            return self.log_archive.replication_region
        return next((r for r in self.governed_regions if r != self.home_region), None)

    # --- cross-field rules -----------------------------------------------------------

    @model_validator(mode="after")
    def _cross_field_rules(self) -> Self:
        problems: list[str] = []
        problems += self._region_problems()
        problems += self._ou_problems()
        problems += self._account_problems()
        problems += self._guardrail_problems()
        problems += self._member_baseline_problems()
        problems += self._account_stack_problems()
        problems += self._network_problems()
        problems += self._identity_center_problems()
        problems += self._forensics_problems()
        problems += self._incident_response_problems()
        problems += self._allowed_image_problems()
        problems += self._machine_role_problems()
        problems += self._package_problems()
        _raise_if(problems)
        return self

    def _machine_role_problems(self) -> list[str]:
        problems = []
        core = {a.name for a in self.accounts if a.role in CORE_ROLES}
        management = next((a.name for a in self.accounts if a.role == AccountRole.MANAGEMENT), "")
        prefix = self.organization.prefix
        placed: list[tuple[str, list[tuple[str, str]], Callable[[str, str], str], str]] = [
            ("ci_roles", [(r.name, r.account) for r in self.ci_roles], ci_role, "ci"),
            (
                "third_party_roles",
                [(r.name, r.account) for r in self.third_party_roles],
                third_party_role,
                "third-party",
            ),
        ]
        for field_name, roles, role_name, kind in placed:
            names = Counter(name for name, _ in roles)
            for i, (name, account) in enumerate(roles):
                where = f"{field_name}[{i}]"
                if account not in core:
                    problems.append(
                        f"{where}.account: {account!r} is not a core account (the landing "
                        f"zone deploys only there: {', '.join(sorted(core))})"
                    )
                if names[name] > 1:
                    problems.append(f"{where}.name: {name!r} is used more than once")
                try:
                    role_name(prefix, name)
                except ValueError as error:
                    room = 64 - len(f"{prefix}-{kind}-")
                    problems.append(
                        f"{where}.name: {error}; with the prefix {prefix!r} the name can have "
                        f"at most {room} characters"
                    )
        for i, ci in enumerate(self.ci_roles):
            problems += [f"ci_roles[{i}].{p}" for p in subject_problems(ci.subjects)]
            for j, pattern in enumerate(ci.assume_roles):
                if not _ROLE_ARN_PATTERN.match(pattern):
                    problems.append(
                        f"ci_roles[{i}].assume_roles[{j}]: {pattern!r} is not a role ARN "
                        "(pattern), like arn:aws:iam::*:role/cdk-lzbaseline-*"
                    )
                elif ci.account != management and _only_reserved(pattern, prefix):
                    problems.append(
                        f"ci_roles[{i}].assume_roles[{j}]: {pattern!r} names roles only the "
                        "baseline's own principals may assume (SCP-BASELINE-PROTECT), and a CI "
                        f"role in {ci.account!r} is not one; only a CI role in the management "
                        "account, which no SCP binds, can assume them"
                    )
        for i, party in enumerate(self.third_party_roles):
            problem = external_id_problem(party.external_id)
            if problem:
                problems.append(f"third_party_roles[{i}].{problem}")
            problems += _managed_policy_problems(
                f"third_party_roles[{i}].managed_policies", party.managed_policies
            )
        return problems

    def allowed_image_providers(self) -> list[str]:
        """Amazon, AWS Backup, and the config's providers (account names as ids)."""
        found = ["amazon", "aws_backup_vault"]
        for provider in self.guardrails.allowed_images.providers:
            account = self.account_by_name(provider)
            if account is not None and account.id is None:
                continue  # greenfield phase 1: the account is named before it exists
            value = account.id if account is not None and account.id else provider
            if value not in found:
                found.append(value)
        return found

    def _allowed_image_problems(self) -> list[str]:
        problems = []
        for i, provider in enumerate(self.guardrails.allowed_images.providers):
            where = f"guardrails.allowed_images.providers[{i}]"
            account = self.account_by_name(provider)
            if account is not None:
                if account.id is None and not self.bootstrap_phase:
                    problems.append(f"{where}: {provider!r} has no id yet; give its id in accounts")
            elif provider not in ("aws_marketplace",) and not _ACCOUNT_ID.match(provider):
                problems.append(
                    f"{where}: {provider!r} is not aws_marketplace, a 12-digit account id or "
                    "an account of the config"
                )
        return problems

    def _incident_response_problems(self) -> list[str]:
        known = self.ou_paths()
        response = self.incident_response
        return [
            f"incident_response.{section}.{path}: {path!r} is not an OU path (known: "
            f"{', '.join(known) or 'none'})"
            for section, paths in (
                ("containment", response.containment),
                ("remediation", response.remediation),
            )
            for path in paths
            if path not in known
        ]

    def _package_problems(self) -> list[str]:
        if self.packages is None or self.bootstrap_phase:
            return []
        holders = [a for a in self.accounts if a.role == AccountRole.SHARED_SERVICES]
        problems = []
        if len(holders) != 1 or holders[0].id is None:
            problems.append(
                "packages: the package repositories live in the shared-services account: "
                "give exactly one account role 'shared_services' with its 12-digit id"
            )
        for name, values in (
            ("internal_python_prefixes", self.packages.internal_python_prefixes),
            ("internal_npm_scopes", self.packages.internal_npm_scopes),
            ("publishers", self.packages.publishers),
        ):
            repeated = sorted({v for v in values if values.count(v) > 1})
            if repeated:
                problems.append(f"packages.{name}: {', '.join(repeated)} given more than once")
        if not self.packages.internal_python_prefixes and not self.packages.internal_npm_scopes:
            problems.append(
                "packages: name the organisation's own packages (internal_python_prefixes, "
                "internal_npm_scopes): without them a public package of the same name can "
                "stand in for an internal one (dependency confusion)"
            )
        if len(set(self.packages.upstreams)) != len(self.packages.upstreams):
            problems.append("packages.upstreams: each source at most once")
        return problems

    def _forensics_problems(self) -> list[str]:
        holders = [i for i, a in enumerate(self.accounts) if a.role == AccountRole.FORENSICS]
        problems = []
        if len(holders) > 1:
            problems.append(
                f"accounts: at most one account may have role 'forensics', found "
                f"{len(holders)} (accounts{holders})"
            )
        workload = (*self.guardrails.workload_ous, *self.guardrails.sandbox_ous)
        for i in holders:
            account = self.accounts[i]
            if account.id is None and not self.bootstrap_phase:
                problems.append(
                    f"accounts[{i}].id: the forensics account needs its 12-digit id: the "
                    "baseline's stacks are deployed into it"
                )
            if any(account.ou == ou or account.ou.startswith(f"{ou}/") for ou in workload):
                problems.append(
                    f"accounts[{i}].ou: the forensics account belongs in a security OU, not "
                    f"in the workload or sandbox OU {account.ou!r}"
                )
        prefix = ipaddress.ip_network(self.forensics.vpc_cidr).prefixlen
        # the analysis VPC takes an isolated /24 in each AZ the hub uses in the home region
        zones = len(self.network.zones(self.home_region))
        if not 16 <= prefix <= 23:
            problems.append(
                f"forensics.vpc_cidr: {self.forensics.vpc_cidr!r} must be /16 to /23 (two "
                "isolated /24 subnets)"
            )
        elif holders and zones * 256 > 2 ** (32 - prefix):
            needed = 32 - (zones * 256 - 1).bit_length()
            problems.append(
                f"forensics.vpc_cidr: {self.forensics.vpc_cidr!r} holds {2 ** (24 - prefix)} "
                f"/24 subnets, and the analysis VPC takes one in each of the {zones} AZs of "
                f"network.availability_zones.{self.home_region}: give a /{needed} or larger"
            )
        return problems

    def _identity_center_problems(self) -> list[str]:
        center = self.identity_center
        if center is None:
            return []
        from baseline.permission_sets import CATALOGUE

        problems = []
        if center.region is not None and center.region not in AWS_REGIONS:
            problems.append(f"identity_center.region: {center.region!r} is not an AWS region code")
        names = Counter(p.name for p in center.permission_sets)
        resources = {permission_set_logical_id(name): name for name in CATALOGUE}
        # the sets whose roles the audit account holds: the only ones its trusts can admit
        in_audit = {
            a.permission_set
            for a in center.assignments
            if any(t.role == AccountRole.AUDIT for t in self.assignment_targets(a))
        }
        for i, pset in enumerate(center.permission_sets):
            where = f"identity_center.permission_sets[{i}]"
            if pset.name in CATALOGUE:
                problems.append(
                    f"{where}.name: {pset.name!r} is a catalogue set; choose another name"
                )
            if names[pset.name] > 1:
                problems.append(f"{where}.name: {pset.name!r} is defined more than once")
            elif pset.name not in CATALOGUE:
                same = resources.setdefault(permission_set_logical_id(pset.name), pset.name)
                if same != pset.name:  # the stack's construct id, from the name
                    problems.append(
                        f"{where}.name: {pset.name!r} would be the same resource as {same!r} "
                        "(names that differ only in case or punctuation); rename one"
                    )
            problems += _managed_policy_problems(f"{where}.managed_policies", pset.managed_policies)
            policies = len(pset.managed_policies) + len(pset.customer_managed_policies)
            if policies > MAX_PERMISSION_SET_POLICIES:
                problems.append(
                    f"{where}: {policies} managed_policies and customer_managed_policies; a "
                    f"permission set takes at most {MAX_PERMISSION_SET_POLICIES} in all"
                )
            for trusted, field in self._trusted_permission_sets():
                if pset.name.startswith(f"{trusted}_") and pset.name in in_audit:
                    problems.append(
                        f"{where}.name: {pset.name!r} makes roles named AWSReservedSSO_"
                        f"{pset.name}_<suffix> in the audit account, which "
                        f"member_baseline.{field} (AWSReservedSSO_{trusted}_*, meant for "
                        f"{trusted!r}) admits too; choose a name that does not start with "
                        f"{trusted + '_'!r}"
                    )
            for j, name in enumerate(pset.customer_managed_policies):
                if pset.customer_managed_policies.index(name) != j:
                    problems.append(
                        f"{where}.customer_managed_policies[{j}]: {name!r} is listed twice"
                    )
        problems += self._delegated_administrator_problems(center)
        problems += self._assignment_problems(center, set(CATALOGUE) | set(names))
        return problems or self._boundary_reach_problems(center)

    def _boundary_reach_problems(self, center: IdentityCenter) -> list[str]:
        """A set bounded by the workload boundary, assigned to an account the member
        baseline (which makes that policy) does not reach: Identity Center cannot
        provision a set whose boundary policy the account lacks."""
        from baseline.permission_sets import CATALOGUE

        bounded = {n for n, spec in CATALOGUE.items() if spec.permissions_boundary == "workload"}
        bounded = (bounded - {p.name for p in center.permission_sets}) | {
            p.name for p in center.permission_sets if p.permissions_boundary == "workload"
        }
        targets = self.member_baseline.target_ous
        problems = []
        for i, assignment in enumerate(center.assignments):
            if assignment.permission_set not in bounded or ROOT_OU in targets:
                continue
            outside = [
                a.name
                for a in self.assignment_targets(assignment)
                if a.role != AccountRole.MANAGEMENT  # the management baseline makes it there
                and not any(a.ou == t or a.ou.startswith(f"{t}/") for t in targets)
            ]
            if outside:
                problems.append(
                    f"identity_center.assignments[{i}]: {assignment.permission_set!r} carries "
                    "the workload boundary, which the member baseline makes only under "
                    f"member_baseline.target_ous; {', '.join(outside)} "
                    f"{'is' if len(outside) == 1 else 'are'} outside them, where Identity "
                    "Center cannot provision the set (add their OUs to target_ous, or "
                    "assign another set there)"
                )
        return problems

    def _assignment_problems(self, center: IdentityCenter, known_sets: set[str]) -> list[str]:
        problems = []
        accounts = {a.name for a in self.accounts}
        paths = set(self.ou_paths())
        for i, assignment in enumerate(center.assignments):
            where = f"identity_center.assignments[{i}]"
            if assignment.permission_set not in known_sets:
                problems.append(
                    f"{where}.permission_set: {assignment.permission_set!r} is not a permission "
                    f"set (known: {', '.join(sorted(known_sets))})"
                )
            if not assignment.groups and not assignment.users:
                problems.append(f"{where}: give groups or users")
            if not assignment.accounts and not assignment.ous:
                problems.append(f"{where}: give accounts or ous")
            for field_name in ("accounts", "exclude_accounts"):
                for j, name in enumerate(getattr(assignment, field_name)):
                    if name not in accounts:
                        close = ", ".join(difflib.get_close_matches(name, sorted(accounts), n=3))
                        problems.append(
                            f"{where}.{field_name}[{j}]: {name!r} is not an account of the "
                            f"config{f' (did you mean {close}?)' if close else ''}"
                        )
            for j, path in enumerate(assignment.ous):
                if path not in paths:
                    problems.append(f"{where}.ous[{j}]: {path!r} is not an OU path of the config")
        return problems or self._assignment_load_problems(center)

    def _assignment_load_problems(self, center: IdentityCenter) -> list[str]:
        from baseline.assignments import load_problems

        # (a new account's id is looked up by its e-mail address at deploy time, through
        # Organizations, which answers in every region: Identity Center's region may be
        # another than the home region, where the account stacks create the accounts)
        if not self._core_roles_held_once():
            return []  # planning needs each core account; _account_problems says so
        return load_problems(self)

    def _core_roles_held_once(self) -> bool:
        """Each core role is held by exactly one account (what :meth:`account_for` needs)."""
        held = Counter(a.role for a in self.accounts)
        return all(held[role] == 1 for role in CORE_ROLES)

    def _delegated_administrator_problems(self, center: IdentityCenter) -> list[str]:
        name = center.delegated_administrator
        if name is None:
            return []
        where = "identity_center.delegated_administrator"
        account = self.account_by_name(name)
        if account is None:
            close = ", ".join(difflib.get_close_matches(name, [a.name for a in self.accounts]))
            return [
                f"{where}: {name!r} is not an account of the config"
                + (f" (did you mean {close}?)" if close else "")
            ]
        if account.role == AccountRole.MANAGEMENT:
            return [f"{where}: {name!r} is the management account; name a member account"]
        if account.id is None and not self.bootstrap_phase:
            return [
                f"{where}: {name!r} has no id yet; it can be registered once it exists "
                "(give its id in accounts)"
            ]
        return []

    def assignment_targets(self, assignment: Assignment) -> list[Account]:
        """The accounts an assignment reaches: its accounts, and every account under its OUs
        (nested OUs included) but the excluded ones; the management account only when
        named in ``accounts``."""
        named = set(assignment.accounts)
        excluded = set(assignment.exclude_accounts)
        found = []
        for account in self.accounts:
            under = any(
                account.ou == path or account.ou.startswith(f"{path}/") for path in assignment.ous
            )
            if account.name in named or (
                under and account.name not in excluded and account.role != AccountRole.MANAGEMENT
            ):
                found.append(account)
        return found

    def _service_gap_problems(self) -> list[str]:
        """A governed region without a service the security tooling turns on everywhere."""
        problems = []
        for i, region in enumerate(self.governed_regions):
            missing = [name for name, gaps in SECURITY_SERVICE_GAPS.items() if region in gaps]
            if missing:
                problems.append(
                    f"governed_regions[{i}]: {' and '.join(missing)} "
                    f"{'is' if len(missing) == 1 else 'are'} not offered in {region!r}, and "
                    "the organisation settings and security tooling turn them on in every "
                    "governed region (the deploy would fail there); leave the region out of "
                    "governed_regions (the region-deny guardrail then closes it)"
                )
        return problems

    def _region_problems(self) -> list[str]:
        problems = []
        for i, region in enumerate(self.governed_regions):
            if region not in AWS_REGIONS:
                problems.append(f"governed_regions[{i}]: {region!r} is not an AWS region code")
        for region, count in Counter(self.governed_regions).items():
            if count > 1:
                problems.append(f"governed_regions: {region!r} is listed {count} times")
        problems += self._service_gap_problems()
        if self.home_region not in AWS_REGIONS:
            problems.append(f"home_region: {self.home_region!r} is not an AWS region code")
        elif self.home_region not in self.governed_regions:
            problems.append(
                f"home_region: {self.home_region!r} must be one of governed_regions "
                f"{self.governed_regions}"
            )
        if self.home_region in AWS_REGIONS - SECURITY_HUB_HOME_REGIONS:
            problems.append(
                f"home_region: {self.home_region!r} lacks Security Hub central configuration "
                "in CloudFormation, which the home region's security tooling deploys; choose "
                f"one of {', '.join(sorted(SECURITY_HUB_HOME_REGIONS))}"
            )
        elif self.packages is not None and self.home_region not in CODEARTIFACT_REGIONS:
            problems.append(
                f"packages: CodeArtifact is not offered in the home region "
                f"{self.home_region!r}, where the package repositories live; leave packages "
                f"out, or choose a home region of {', '.join(sorted(CODEARTIFACT_REGIONS))}"
            )
        target = self.log_archive.replication_region
        if target is not None:
            if target not in self.governed_regions:
                problems.append(
                    f"log_archive.replication_region: {target!r} must be one of "
                    f"governed_regions {self.governed_regions}"
                )
            elif target == self.home_region:
                problems.append(
                    f"log_archive.replication_region: {target!r} is the home region; "
                    "the replica must live in a second region"
                )
        return problems

    def _ou_problems(self) -> list[str]:
        problems = []
        paths = self.ou_paths()
        for path, count in Counter(paths).items():
            if count > 1:
                problems.append(f"organizational_units: {path!r} is defined {count} times")
        for path in paths:
            if path.count("/") + 1 > MAX_OU_DEPTH:
                problems.append(
                    f"organizational_units: {path!r} nests deeper than AWS Organizations "
                    f"allows ({MAX_OU_DEPTH} levels)"
                )
        # the Organization stack names each OU's resource, and the parameter that holds
        # each OU's (and the root's) id, after its path: no two may meet
        first: dict[str, str] = {f"OuId{logical_id(ROOT_OU)}": "the root's id parameter"}
        for path in dict.fromkeys(paths):  # the same path twice is a problem of its own
            for resource, what in (
                (ou_logical_id(path), repr(path)),
                (f"OuId{logical_id(path)}", f"the id parameter of {path!r}"),
            ):
                earlier = first.setdefault(resource, what)
                if earlier != what:
                    problems.append(
                        f"organizational_units: {path!r} would make {resource}, the same "
                        f"resource as {earlier}; rename it"
                    )
        return problems

    def _account_stack_problems(self) -> list[str]:
        stacks = self.organization.account_stacks
        problems = self._created_account_id_problems(stacks)
        load = Counter(account_stack_index(a.name, stacks) for a in self.accounts if a.id is None)
        fullest = max(load.values(), default=0)
        if fullest > MAX_NEW_ACCOUNTS_PER_STACK:
            needed = stacks * fullest // MAX_NEW_ACCOUNTS_PER_STACK + 1
            problems.append(
                f"organization.account_stacks: one of the {stacks} account stacks would create "
                f"{fullest} accounts, over the {MAX_NEW_ACCOUNTS_PER_STACK} that fit within "
                f"CloudFormation's 500 resources; raise it to at least {needed}"
            )
        return problems

    def _created_account_id_problems(self, stacks: int) -> list[str]:
        """An account stack gives each account it creates the logical id
        ``naming.created_account_logical_id`` makes, beside its own ``AccountSettings``: a
        new account must not be that resource, nor another new account of the same stack
        whose name differs only in punctuation."""
        problems: list[str] = []
        first: dict[tuple[int, str], tuple[int, str]] = {}
        for index, account in enumerate(self.accounts):
            if account.id is not None:
                continue
            resource = created_account_logical_id(account.name)
            where = f"accounts[{index}].name"
            if resource == ACCOUNT_SETTINGS_LOGICAL_ID:
                problems.append(
                    f"{where}: {account.name!r} would be {resource}, the account stack's own "
                    "resource; choose another name, or give the account's id if it exists"
                )
                continue
            key = (account_stack_index(account.name, stacks), resource)
            earlier = first.setdefault(key, (index, account.name))
            if earlier[1] != account.name:  # the same name twice is a problem of its own
                problems.append(
                    f"{where}: {account.name!r} would be the same resource ({resource}) of "
                    f"one account stack as accounts[{earlier[0]}]; rename one, or give the "
                    "account's id if it exists"
                )
        return problems

    def ou_ids(self) -> dict[str, str]:
        """OU path -> id, for the OUs the config gives an id."""
        ids: dict[str, str] = {}

        def walk(units: list[OrganizationalUnit], parent: str) -> None:
            for unit in units:
                path = f"{parent}/{unit.name}" if parent else unit.name
                if unit.id is not None:
                    ids[path] = unit.id
                walk(unit.children, path)

        walk(self.organizational_units, "")
        return ids

    def _member_baseline_problems(self) -> list[str]:
        problems = []
        m = self.member_baseline
        for i, path in enumerate(m.target_ous):
            if path != ROOT_OU:
                problems += self._ou_id_problems(
                    f"member_baseline.target_ous[{i}]",
                    path,
                    "a StackSet targets OUs by id (add the id once the OU exists)",
                )
        problems += self._audit_principal_problems()
        management = next((a.id for a in self.accounts if a.role == AccountRole.MANAGEMENT), None)
        for i, arn in enumerate(m.break_glass_principals):
            match = _PRINCIPAL_ARN.match(arn)
            if not match:
                problems.append(
                    f"member_baseline.break_glass_principals[{i}]: {arn!r} is not an IAM role or user ARN"
                )
            elif management is not None and match.group(1) != management:
                problems.append(
                    f"member_baseline.break_glass_principals[{i}]: {arn!r} is not in the "
                    f"management account {management}"
                )
        return problems

    def _audit_principal_problems(self) -> list[str]:
        problems = []
        audit = next((a.id for a in self.accounts if a.role == AccountRole.AUDIT), None)
        for field in ("audit_principals", "incident_responder_principals"):
            for i, arn in enumerate(getattr(self.member_baseline, field) or []):
                where = f"member_baseline.{field}[{i}]"
                match = _AUDIT_PRINCIPAL.match(arn)
                if not match:
                    problems.append(
                        f"{where}: {arn!r} is not an IAM role ARN like "
                        "arn:aws:iam::<audit account>:role/<path/>name ('*' only in the name)"
                    )
                elif audit is not None and match.group(1) != audit:
                    problems.append(f"{where}: {arn!r} is not in the audit account {audit}")
                elif not match.group(2).strip("*/"):
                    problems.append(
                        f"{where}: {arn!r} names every role of the account; name the roles"
                    )
        return problems

    def _evidence_guardrail_below_root(self) -> bool:
        """SCP-EVIDENCE-PROTECT attaches below the root by default, to each top-level OU
        and each account in the root; disabled or given other targets, it does not."""
        g = self.guardrails
        return "SCP-EVIDENCE-PROTECT" not in (*g.disabled, *g.attachments)

    def _trusted_permission_sets(self) -> list[tuple[str, str]]:
        """(permission set, member_baseline field) for each set whose roles the audit
        account's roles trust by the kit's pattern ``*AWSReservedSSO_<set>_*`` (the
        default, or given so). Set names may hold ``_``, so the pattern admits the roles of
        any set whose name starts with ``<set>_`` too."""
        found = []
        for field, default in DEFAULT_TRUSTED_SETS.items():
            given = getattr(self.member_baseline, field)
            for principal in given or [_identity_center_role("*", default)]:
                match = _SSO_ROLE_PATTERN.search(principal)
                if match:
                    found.append((match.group(1), field))
        return found

    def _trusted_principals(self, field: str) -> list[str]:
        given: list[str] = getattr(self.member_baseline, field)
        audit = self.account_id_for(AccountRole.AUDIT)
        return given or [_identity_center_role(audit, DEFAULT_TRUSTED_SETS[field])]

    def audit_principals(self) -> list[str]:
        """Who in the audit account may assume the audit and support roles."""
        return self._trusted_principals("audit_principals")

    def incident_responder_principals(self) -> list[str]:
        """Who in the audit account may assume the incident-responder role."""
        return self._trusted_principals("incident_responder_principals")

    def network_share_ous(self) -> list[str]:
        """OU paths the hub is shared with."""
        n = self.network
        return self.guardrails.workload_ous if n.share_with is None else n.share_with

    def _network_problems(self) -> list[str]:
        return self._zone_problems() + self._hub_problems() + self._share_problems()

    def _zone_problems(self) -> list[str]:
        """AZs the config names: in a governed region, and that region's own."""
        problems = []
        for region, zones in self.network.availability_zones.items():
            where = f"network.availability_zones.{region}"
            if region not in self.governed_regions:
                problems.append(f"{where}: {region!r} is not a governed region")
            for zone in zones:
                if (
                    not _AZ.match(zone)
                    or not zone.startswith(region)
                    or len(zone) != len(region) + 1
                ):
                    problems.append(f"{where}: {zone!r} is not an AZ of {region} like {region}a")
        return problems

    def _hub_problems(self) -> list[str]:
        """The hub's own rules (``baseline.defaults.hub_problems``), named by config field."""
        n = self.network
        fields = {
            "egress_cidr": "network.egress_vpc_cidr",
            "workload_cidrs": "network.workload_cidrs",
            "allowed_domains": "network.firewall.allowed_domains",
        }
        problems = []
        for region in self.governed_regions:
            for problem in hub_problems(
                availability_zones=n.zones(region),
                egress_cidr=n.egress_vpc_cidr,
                workload_cidrs=n.workload_cidrs,
                firewall=n.hub and n.firewall.enabled,
                allowed_domains=n.firewall.allowed_domains,
            ):
                if problem.argument == "availability_zones":
                    where = f"network.availability_zones.{region}"
                else:
                    where = fields[problem.argument]
                index = "" if problem.index is None else f"[{problem.index}]"
                line = f"{where}{index}: {problem.message}"
                if line not in problems:  # the region-independent ones once
                    problems.append(line)
        if n.hub and n.firewall.enabled:
            for region in self.governed_regions:
                zones = len(n.zones(region))
                if zones > n.firewall.firewalls_quota:
                    problems.append(
                        f"network.availability_zones.{region}: {zones} zones make {zones} "
                        "firewalls (one per zone), over network.firewall.firewalls_quota "
                        f"({n.firewall.firewalls_quota}, the quota 'Firewalls per account per "
                        "Region'; a stack over it fails and, its firewalls protected from "
                        "deletion, cannot roll back): fewer zones, or raise the quota in AWS "
                        "and then firewalls_quota"
                    )
        routes = len(n.workload_cidrs) + 1  # and the default route
        if n.hub and routes > n.route_table_routes:
            problems.append(
                f"network.workload_cidrs: {len(n.workload_cidrs)} ranges and the default "
                f"route make {routes} routes in each public and firewall route table of the "
                f"egress VPC, over network.route_table_routes ({n.route_table_routes}, the "
                "quota 'Routes per route table'): summarise the ranges, or raise the quota "
                "in AWS and then route_table_routes"
            )
        return problems

    def _share_problems(self) -> list[str]:
        n = self.network
        problems: list[str] = []
        if n.hub:
            where = "network.share_with" if n.share_with is not None else "guardrails.workload_ous"
            for i, path in enumerate(self.network_share_ous()):
                if n.share_with is None and path not in self.ou_paths():
                    continue  # the guardrails' own check says it, once
                problems += self._ou_id_problems(
                    f"{where}[{i}]",
                    path,
                    "RAM shares the network hub with OUs by id (add the id once the OU "
                    "exists, or set network.hub: false until then)",
                )
        return problems

    def _ou_id_problems(self, where: str, path: str, why: str) -> list[str]:
        """An OU path that must exist in the config and carry an id (AWS takes only ids)."""
        if path not in self.ou_paths():
            return [f"{where}: {path!r} is not an OU path"]
        if path not in self.ou_ids():
            return [f"{where}: {path!r} has no id in organizational_units; {why}"]
        return []

    def _guardrail_problems(self) -> list[str]:
        problems = []
        known = {ROOT_OU, *self.ou_paths()}
        g = self.guardrails
        for field in ("workload_ous", "sandbox_ous", "suspended_ous"):
            default = field not in g.model_fields_set
            for i, path in enumerate(getattr(g, field)):
                if path not in known - {ROOT_OU}:
                    problems.append(
                        f"guardrails.{field}[{i}]: {path!r} is not an OU path defined in "
                        "organizational_units"
                        + (
                            f" (it is the default: set guardrails.{field} to your OU paths, "
                            "or to [] for none)"
                            if default
                            else ""
                        )
                    )
        for guardrail_id, targets in sorted(g.attachments.items()):
            if not targets:
                problems.append(
                    f"guardrails.attachments.{guardrail_id}: an empty list would turn the "
                    "guardrail off without naming it; use guardrails.disabled for that"
                )
            problems += self._target_problems(f"guardrails.attachments.{guardrail_id}", targets)
        seen: set[str] = set()
        sids: dict[tuple[str, str], str] = {}
        for i, custom in enumerate(g.custom):
            if custom.id in seen:
                problems.append(f"guardrails.custom[{i}].id: {custom.id!r} is defined twice")
            seen.add(custom.id)
            problems += self._target_problems(f"guardrails.custom[{i}].attach_to", custom.attach_to)
            for j, statement in enumerate(custom.statements):
                sid = statement.get("Sid")
                if not isinstance(sid, str):
                    continue
                where = f"guardrails.custom[{i}].statements[{j}]"
                first = sids.setdefault((custom.policy_type, sid), where)
                if first != where:
                    problems.append(
                        f"{where}.Sid: {sid!r} is already used by {first}; customs of one "
                        "policy type can share a policy, and its Sids must be unique"
                    )
        return problems

    def _target_problems(self, where: str, targets: list[str]) -> list[str]:
        """The targets of a guardrail: each the root, an OU path or an account with an id
        (a policy attaches to an id), and each once."""
        known = {ROOT_OU, *self.ou_paths()}
        problems = []
        first: dict[str, int] = {}
        for i, target in enumerate(targets):
            account = self.account_by_name(target)
            if target not in known and account is None:
                problems.append(
                    f"{where}[{i}]: {target!r} is neither {ROOT_OU!r}, an OU path nor an "
                    "account name"
                )
            elif target not in known and account is not None and account.id is None:
                problems.append(
                    f"{where}[{i}]: {target!r} has no id yet; attach to its OU, or add its id "
                    "once it exists"
                )
            if first.setdefault(target, i) != i:
                problems.append(
                    f"{where}[{i}]: {target!r} is listed twice (first at [{first[target]}])"
                )
        return problems

    def _account_problems(self) -> list[str]:
        problems = []
        known_ous = {*self.ou_paths(), ROOT_OU}
        for field in ("name", "email", "id"):
            seen: dict[str, int] = {}
            for i, account in enumerate(self.accounts):
                value = getattr(account, field)
                if value is None:
                    continue
                key = value.lower() if field == "email" else value
                if key in seen:
                    problems.append(
                        f"accounts[{i}].{field}: {value!r} is already used by accounts[{seen[key]}]"
                    )
                else:
                    seen[key] = i
        top_level = {path for path in self.ou_paths() if "/" not in path}
        for i, account in enumerate(self.accounts):
            if account.name in top_level:
                problems.append(
                    f"accounts[{i}].name: {account.name!r} is also a top-level OU; guardrail "
                    "targets and ids could not tell them apart, so rename one"
                )
            if account.ou not in known_ous:
                problems.append(
                    f"accounts[{i}].ou: {account.ou!r} is not an OU path defined in "
                    f"organizational_units (known: {', '.join(sorted(known_ous))})"
                )
            needs_id = account.role == AccountRole.MANAGEMENT or not self.bootstrap_phase
            if account.role in CORE_ROLES and account.id is None and needs_id:
                problems.append(
                    f"accounts[{i}].id: the {account.role.value} account needs its 12-digit "
                    "id: the baseline's stacks are deployed into it"
                )
            problems += _root_placement_problems(i, account, self._evidence_guardrail_below_root())
        for role in CORE_ROLES:
            holders = [i for i, a in enumerate(self.accounts) if a.role == role]
            if len(holders) != 1:
                where = f" (accounts{holders})" if holders else ""
                problems.append(
                    f"accounts: exactly one account must have role {role.value!r}, "
                    f"found {len(holders)}{where}"
                )
        return problems


def _root_placement_problems(i: int, account: Account, evidence_below_root: bool) -> list[str]:
    """The management account sits in the root; a new account cannot while the evidence
    guardrail attaches to each account there (its target is the account's id)."""
    if account.role == AccountRole.MANAGEMENT and account.ou != ROOT_OU:
        return [
            f"accounts[{i}].ou: the management account always sits in {ROOT_OU!r}, "
            f"got {account.ou!r}"
        ]
    if (
        evidence_below_root
        and account.ou == ROOT_OU
        and account.id is None
        and account.role != AccountRole.MANAGEMENT
    ):
        return [
            f"accounts[{i}].ou: a new account cannot be placed directly in the root: a "
            "guardrail for every member account (SCP-EVIDENCE-PROTECT) attaches to each "
            "top-level OU and to each account in the root by its id, which a new account "
            "does not have yet; place it in an OU"
        ]
    return []


def _managed_policy_problems(where: str, arns: list[str]) -> list[str]:
    """AWS-managed policy ARNs: each names a policy (arn:aws:iam::aws:policy/[path/]name),
    and each once."""
    problems = []
    for j, arn in enumerate(arns):
        if not _MANAGED_POLICY_ARN.match(arn):
            problems.append(
                f"{where}[{j}]: {arn!r} is not an AWS-managed policy ARN "
                "(arn:aws:iam::aws:policy/NAME)"
            )
        elif arns.index(arn) != j:
            problems.append(f"{where}[{j}]: {arn!r} is listed twice")
    return problems


def _format_location(loc: tuple[int | str, ...]) -> str:
    """``accounts[3].id``; a mapping's key that is itself wrong (pydantic's ``[key]``
    after it) as ``incident_response.containment (key 1)``."""
    out, previous = "", ""
    for part in loc:
        if part == "[key]":
            out = out.removesuffix(previous) + f" (key {previous.lstrip('.').strip('[]')})"
            continue
        previous = f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
        out += previous
    return out


#: the top-level ``accounts[i]`` only (not ``...assignments[3].accounts[0]``)
_ACCOUNT_INDEX = re.compile(r"(?<![\w.])accounts\[(\d+)\]")


def _named_accounts(line: str, data: Any) -> str:
    """``accounts[4]`` -> ``accounts[4] (orders-prod)``: a person looks for the name."""
    accounts = data.get("accounts") if isinstance(data, dict) else None
    if not isinstance(accounts, list):
        return line

    def name(match: re.Match[str]) -> str:
        index = int(match.group(1))
        entry = accounts[index] if index < len(accounts) else None
        named = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(named, str):
            return match.group(0)
        # a name with a line break or other control character is shown escaped: one line
        # per problem
        return f"{match.group(0)} ({named if named.isprintable() else repr(named)})"

    return _ACCOUNT_INDEX.sub(name, line)


def _problem_lines(error: ValidationError, data: Any = None) -> list[str]:
    lines = [_named_accounts(line, data) for line in _raw_problem_lines(error)]
    return list(dict.fromkeys(lines))  # a problem found twice is said once


#: why a boolean stands where text belongs, and what to do
_BOOLEAN = "(YAML reads yes, no, on, off, true and false as booleans): quote it"


def _raw_problem_lines(error: ValidationError) -> list[str]:
    lines: list[str] = []
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        path = _format_location(loc)
        ctx_error = (item.get("ctx") or {}).get("error")
        if isinstance(ctx_error, _RuleError):
            lines += [f"{path}.{p}" if path else p for p in ctx_error.problems]
            continue
        given = item.get("input")
        message = str(item["msg"]).removeprefix("Value error, ")
        # a mapping's key that is not text: a model's own keys (invalid_key, the key last in
        # the location), or a dict's (string_type, "[key]" last)
        key_error = item["type"] == "invalid_key" or (
            item["type"] == "string_type" and loc[-1:] == ("[key]",)
        )
        if key_error and (given is None or isinstance(given, bool)):
            parent = _format_location(loc[: -2 if loc[-1:] == ("[key]",) else -1])
            if given is None:
                lines.append(f"{parent or '(top level)'}: a key is empty (~ or null)")
            else:
                named = str(given).lower()
                lines.append(
                    f"{parent or '(top level)'} (key {named}): is {named}, not text {_BOOLEAN}"
                )
            continue
        if item["type"] == "extra_forbidden":
            message = "unknown key (check the spelling against docs/landing-zone.schema.json)"
        elif item["type"] == "missing":
            message = "required field is missing"
        elif item["type"] in ("int_type", "float_type") and isinstance(item.get("input"), bool):
            message = (
                f"is {str(item['input']).lower()}, not a number (YAML reads yes, no, on, off, "
                "true and false as booleans)"
            )
        elif item["type"] in ("int_type", "float_type") and isinstance(item.get("input"), str):
            message = f"{item['input']!r} is a string: give a number, without quotes"
        elif item["type"] == "string_type" and isinstance(given, bool):
            message = f"is {str(given).lower()}, not text {_BOOLEAN}"
        elif item["type"] == "string_type" and isinstance(item.get("input"), int):
            message = f'{item["input"]} is a number: quote it ("{item["input"]}")'
            if "account" in path or re.search(r"(^|[._])ids?(\[\d+\])?$", path):
                message += (
                    "; unquoted, YAML reads an account id as a number and drops its leading zeros"
                )
        lines.append(f"{path or '(top level)'}: {message}")
    return lines


def parse_config(data: Any, source: str = "<config>") -> LandingZoneConfig:
    """Validate already-parsed YAML data, raising :class:`ConfigError` on any problem."""
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}, not a mapping"
        raise ConfigError(source, [f"(top level): the file is {kind}"])
    try:
        return LandingZoneConfig.model_validate(data)
    except ValidationError as error:
        # the rules across fields (the model's own, located at the top) run only once every
        # field is valid
        fields_only = all(item["loc"] for item in error.errors(include_url=False))
        raise ConfigError(source, _problem_lines(error, data), fields_only=fields_only) from None


class _ConfigLoader(yaml.SafeLoader):
    """PyYAML's safe loader (plain data only, never a Python object), refusing a key given
    twice in one mapping: YAML lets the last one win silently, so a second
    ``security_notification_email`` at the end of a file would take every alert."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):  # the safe loader's own check follows
            seen: dict[Any, yaml.Node] = {}
            merges = 0
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    # `<<: *defaults` (the keys beside it override the merged ones); a
                    # second `<<` would replace the first, silently
                    merges += 1
                    if merges > 1:
                        raise yaml.constructor.ConstructorError(
                            None,
                            None,
                            "'<<' is given twice in one mapping: merge several with one list "
                            "(<<: [*a, *b])",
                            key_node.start_mark,
                        )
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    # counted by entry, not by node: an alias of a key is its node again
                    first = seen.get(key)
                    seen.setdefault(key, key_node)
                except TypeError:
                    continue  # an unhashable key: the constructor below refuses it
                if first is not None:
                    raise yaml.constructor.ConstructorError(
                        None,
                        None,
                        f"key {key!r} is given twice in one mapping (first at line "
                        f"{first.start_mark.line + 1}): YAML would keep only the last",
                        key_node.start_mark,
                    )
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        """A date YAML cannot read (``2024-13-01``) is refused where it stands."""
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as error:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"{node.value!r} is read as a date, and is none ({error}); quote it to keep "
                "it as text",
                node.start_mark,
            ) from None

    def construct_yaml_int(self, node: yaml.ScalarNode) -> Any:
        """A number of more digits than Python reads (4,300) is refused where it stands."""
        try:
            return super().construct_yaml_int(node)
        except ValueError:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"a number of {len(node.value):,} digits is more than a config holds",
                node.start_mark,
            ) from None


_ConfigLoader.add_constructor("tag:yaml.org,2002:timestamp", _ConfigLoader.construct_yaml_timestamp)
_ConfigLoader.add_constructor("tag:yaml.org,2002:int", _ConfigLoader.construct_yaml_int)


#: The most values a config may hold once its aliases are expanded. A YAML alias names a
#: value written once, but every reader of the data (the model, the guardrails' checks,
#: the templates) meets it again at each use: ten aliases of ten aliases, nine levels
#: deep, are a billion values in a file of a few lines. The 2,000-account config of
#: the benchmark holds about 17,000.
MAX_EXPANDED_VALUES = 1_000_000


def _expanded_size(root: yaml.Node) -> int:
    """How many values the document holds with every alias expanded; each node is
    counted once, its size then reused wherever an alias names it again.

    :raises yaml.composer.ComposerError: an alias inside the value it names (a loop)
        or more than :data:`MAX_EXPANDED_VALUES`.
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        if id(node) in open_nodes:
            raise yaml.composer.ComposerError(
                None,
                None,
                "an alias inside the value it names: a value without end",
                node.start_mark,
            )
        total = 1
        if isinstance(node, yaml.SequenceNode | yaml.MappingNode):
            open_nodes.add(id(node))
            children = (
                node.value
                if isinstance(node, yaml.SequenceNode)
                else [part for pair in node.value for part in pair]
            )
            for child in children:
                total += size(child)
                if total > MAX_EXPANDED_VALUES:
                    raise yaml.composer.ComposerError(
                        None,
                        None,
                        f"its aliases expand to more than {MAX_EXPANDED_VALUES:,} values; "
                        "write the values out or use fewer aliases of aliases",
                        node.start_mark,
                    )
            open_nodes.discard(id(node))
        sizes[id(node)] = total
        return total

    return size(root)


def read_yaml(text: str) -> Any:
    """The data of a config file's text, as the config reads it (see :class:`_ConfigLoader`).

    :raises yaml.YAMLError: not YAML, a tag that is not plain data, a key given twice, or
        aliases that expand to more than :data:`MAX_EXPANDED_VALUES` values.
    :raises ValueError: a number YAML cannot hold (an integer of more than 4,300 digits).
    :raises RecursionError: nesting deeper than the reader goes.
    """
    loader = _ConfigLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def load_config(path: str | Path) -> LandingZoneConfig:
    """Read and validate a landing-zone YAML file, raising :class:`ConfigError`."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(source, ["(file): not found"]) from None
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        raise ConfigError(source, [f"(file): cannot be read: {reason}"]) from None
    try:
        data = read_yaml(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown place"
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ConfigError(source, [f"(yaml): syntax error at {where}: {problem}"]) from None
    except RecursionError:
        raise ConfigError(source, ["(yaml): nested deeper than a config can be"]) from None
    except ValueError as error:
        raise ConfigError(source, [f"(yaml): cannot be read: {error}"]) from None
    config = parse_config(data, source)
    config._source_dir = Path(path).resolve().parent
    problems = config.file_problems()
    if problems:
        raise ConfigError(source, problems)
    return config


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the config file, for editors and docs."""
    schema = LandingZoneConfig.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Landing-zone configuration"
    return schema
