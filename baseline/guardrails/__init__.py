"""Guardrail policies as data: the SCP and RCP libraries, the packer, and the selection.

:func:`select` turns a config into the enabled guardrails and where each attaches;
:func:`packed_policies` packs them into AWS Organizations policies within the limits.
"""

from __future__ import annotations

import dataclasses
import difflib

from baseline import naming
from baseline.config import ROOT_OU, AccountRole, ConfigError, LandingZoneConfig
from baseline.guardrails.model import LIMITS, ROOT, Guardrail, PolicyType, minify
from baseline.guardrails.org_policies import organization_policies
from baseline.guardrails.packer import PackedPolicy, PackingError, pack, statement_capacity
from baseline.guardrails.rcps import rcp_library
from baseline.guardrails.scps import CoreAccount, GuardrailContext, scp_library

__all__ = [
    "ROOT",
    "Guardrail",
    "GuardrailContext",
    "PackedPolicy",
    "PackingError",
    "PolicyType",
    "check",
    "context_for",
    "library",
    "minify",
    "packed_policies",
    "problems",
    "select",
]

assert ROOT == ROOT_OU  # one name for the organisation root, in the config and here


def context_for(config: LandingZoneConfig) -> GuardrailContext:
    """The guardrails' view of a config."""
    g = config.guardrails

    def core(role: AccountRole) -> CoreAccount | None:
        account = config.account_for(role)
        return CoreAccount(account.name, account.id) if account.id is not None else None

    identity_admin = None
    center = config.identity_center
    if center is not None and center.delegated_administrator is not None:
        account = config.account_by_name(center.delegated_administrator)
        if account is not None and account.id is not None:
            identity_admin = CoreAccount(account.name, account.id)
    packages = None
    if config.packages is not None:
        holder = next((a for a in config.accounts if a.role == AccountRole.SHARED_SERVICES), None)
        if holder is not None and holder.id is not None:
            packages = CoreAccount(holder.name, holder.id)
    return GuardrailContext(
        prefix=config.organization.prefix,
        organization_id=config.organization.id or "o-unknown-until-created",
        governed_regions=tuple(config.governed_regions),
        workload_ous=tuple(g.workload_ous),
        sandbox_ous=tuple(g.sandbox_ous),
        suspended_ous=tuple(g.suspended_ous),
        log_archive=core(AccountRole.LOG_ARCHIVE),
        audit=core(AccountRole.AUDIT),
        network=core(AccountRole.NETWORK),
        identity_admin=identity_admin,
        forensics=next(
            (
                CoreAccount(a.name, a.id)
                for a in config.accounts
                if a.role == AccountRole.FORENSICS and a.id is not None
            ),
            None,
        ),
        packages=packages,
        package_domain=(
            (config.packages.domain or naming.package_domain(config.organization.prefix))
            if packages is not None and config.packages is not None
            else None
        ),
        network_hub=config.network.hub,
        below_root=(
            *(path for path in config.ou_paths() if "/" not in path),
            *(a.name for a in config.accounts if a.ou == ROOT and a.role != AccountRole.MANAGEMENT),
        ),
    )


def library(config: LandingZoneConfig) -> list[Guardrail]:
    """Every guardrail the kit offers for this organisation, before any is disabled."""
    context = context_for(config)
    guardrails = [*scp_library(context)]
    if config.organization.id is not None:  # the perimeter names the organisation
        guardrails += rcp_library(context)
    for custom in config.guardrails.custom:
        guardrails.append(
            Guardrail(
                id=custom.id,
                purpose=custom.purpose,
                policy_type=PolicyType[custom.policy_type],
                best_practices=("SEC03-BP05",),
                statements=tuple(custom.statements),
                attach_to=tuple(custom.attach_to),
                exemptions=("as written in the config",),
            )
        )
    return guardrails


def select(config: LandingZoneConfig) -> tuple[list[Guardrail], dict[str, list[str]]]:
    """The enabled guardrails and, for each, its targets (config overrides applied)."""
    all_guardrails = library(config)
    # an id the library writes for another config (an RCP before the organisation exists,
    # the hub's guardrail without the hub) is no mistake: it only has nothing to act on
    known = _library_ids(config)
    unknown = sorted(set(config.guardrails.disabled) - known) + sorted(
        set(config.guardrails.attachments) - known
    )
    if unknown:
        raise PackingError(
            f"guardrails: unknown guardrail ids {unknown}; known: {', '.join(sorted(known))}"
        )
    enabled = [g for g in all_guardrails if g.id not in config.guardrails.disabled]
    attachments = {
        g.id: list(config.guardrails.attachments.get(g.id, g.attach_to)) for g in enabled
    }
    return enabled, {gid: targets for gid, targets in attachments.items() if targets}


def packed_policies(config: LandingZoneConfig) -> list[PackedPolicy]:
    """The SCPs and RCPs to create for this organisation, packed within the limits."""
    enabled, attachments = select(config)
    return pack(enabled, attachments, prefix=config.organization.prefix)


def _library_ids(config: LandingZoneConfig) -> set[str]:
    """The id of every guardrail the library can write, whether or not this config has the
    accounts (or the organisation id) it needs yet."""
    placeholder = CoreAccount("placeholder", "000000000000")
    context = dataclasses.replace(
        context_for(config),
        log_archive=placeholder,
        audit=placeholder,
        network=placeholder,
        identity_admin=placeholder,
        forensics=placeholder,
        packages=placeholder,
        package_domain="placeholder",
        network_hub=True,
    )
    return {g.id for g in (*scp_library(context), *rcp_library(context))}


def _sid_problems(config: LandingZoneConfig) -> list[str]:
    """Custom statements whose Sid a library statement already has at one of their targets.

    The packer puts the guardrails of a target together, so the two statements can end up
    in one policy, which AWS refuses: a Sid is unique within a policy.
    """
    enabled, attachments = select(config)
    custom_ids = {custom.id for custom in config.guardrails.custom}
    library_sids: dict[tuple[PolicyType, str], dict[str, str]] = {}  # Sid -> guardrail id
    for guardrail in enabled:
        if guardrail.id in custom_ids:
            continue
        for target in attachments.get(guardrail.id, ()):
            sids = library_sids.setdefault((guardrail.policy_type, target), {})
            for statement in guardrail.statements:
                if isinstance(statement.get("Sid"), str):
                    sids.setdefault(statement["Sid"], guardrail.id)
    found = []
    for i, custom in enumerate(config.guardrails.custom):
        policy_type = PolicyType[custom.policy_type]
        targets = attachments.get(custom.id, ())  # none when it is disabled
        for j, statement in enumerate(custom.statements):
            sid = statement.get("Sid")
            if not isinstance(sid, str):
                continue
            for target in targets:
                owner = library_sids.get((policy_type, target), {}).get(sid)
                if owner is not None:
                    found.append(
                        f"guardrails.custom[{i}].statements[{j}].Sid: {sid!r} is also the Sid of "
                        f"a statement of {owner}, which attaches to {target!r} too; a Sid must be "
                        "unique within a policy, so choose another"
                    )
                    break
    return found


def _custom_size_problems(config: LandingZoneConfig) -> list[str]:
    """Custom statements too large for any policy of their type, named by their field (the
    packer, which sees guardrails and targets, would name a policy instead)."""
    found = []
    for i, custom in enumerate(config.guardrails.custom):
        policy_type = PolicyType[custom.policy_type]
        capacity = statement_capacity(LIMITS[policy_type][0])
        for j, statement in enumerate(custom.statements):
            length = len(minify(statement))
            if length > capacity:
                found.append(
                    f"guardrails.custom[{i}].statements[{j}]: {length} characters minified; "
                    f"an {custom.policy_type} holds at most {capacity} besides its envelope, so "
                    "split it into several statements"
                )
    return found


def problems(config: LandingZoneConfig) -> list[str]:
    """What only the guardrail library can say of a config, one line per problem.

    An unknown guardrail id in ``guardrails.disabled`` or ``guardrails.attachments``, a
    custom guardrail with a library guardrail's id or a library statement's Sid, and
    guardrails that cannot fit the AWS Organizations limits of a target. No CDK needed.
    """
    found: list[str] = []
    reserved = _library_ids(config)
    known = sorted(reserved)
    for i, custom in enumerate(config.guardrails.custom):
        if custom.id in reserved:
            found.append(
                f"guardrails.custom[{i}].id: {custom.id!r} is a library guardrail id; choose "
                "another (to drop or move the library guardrail, use guardrails.disabled or "
                "guardrails.attachments)"
            )

    def unknown(where: str, guardrail_id: str) -> None:
        close = difflib.get_close_matches(guardrail_id, known, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        found.append(
            f"{where}: {guardrail_id!r} is not a guardrail id (docs/guardrails.md lists them){hint}"
        )

    for i, guardrail_id in enumerate(config.guardrails.disabled):
        if guardrail_id not in known:
            unknown(f"guardrails.disabled[{i}]", guardrail_id)
    for guardrail_id in sorted(config.guardrails.attachments):
        if guardrail_id not in known:
            unknown(f"guardrails.attachments.{guardrail_id}", guardrail_id)
    if found:
        return found
    found += _sid_problems(config) + _custom_size_problems(config)
    if found:
        return found
    try:
        packed_policies(config)
        organization_policies(config)
    except PackingError as error:
        found.append(f"guardrails: {error}")
    return found


def check(config: LandingZoneConfig, source: str) -> LandingZoneConfig:
    """The config, if the guardrails it asks for exist and fit; else :class:`ConfigError`."""
    lines = problems(config)
    if lines:
        raise ConfigError(source, lines)
    return config
