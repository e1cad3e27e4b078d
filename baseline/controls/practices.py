"""Every best practice of the Well-Architected Security Pillar, and who answers it.

The kit answers a practice with its controls (``baseline.controls``), its guardrails
(``baseline.guardrails``) and files of this repository that a test checks (the pipeline,
the locks, the threat model). What stays with the customer is said in ``customer`` with
the runbook section that says how (``runbook``: a page of ``docs/`` and its anchor). A
practice that nothing of the kit answers has a customer step; the tests fail on a
practice with neither, on a runbook anchor that no heading has, and on a repository file
that does not exist.

Plain data: no CDK.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RepositoryEvidence:
    """A file of this repository that answers a practice, and the test that checks it."""

    path: str
    checked_by: str


@dataclass(frozen=True)
class Practice:
    """One Security Pillar best practice."""

    id: str
    title: str
    #: What the customer does for this practice, in one sentence; empty when the kit's
    #: controls and guardrails answer it whole.
    customer: str = ""
    #: ``docs/<page>.md#<anchor>``: where the customer's step is written.
    runbook: str = ""
    repository: tuple[RepositoryEvidence, ...] = ()


_WORKFLOWS = (
    RepositoryEvidence(".github/workflows/ci.yml", "tests/test_workflows.py"),
    RepositoryEvidence(".github/workflows/deploy.yml", "tests/test_workflows.py"),
)
_LOCKS = (
    RepositoryEvidence("requirements.lock", "tests/test_supply_chain.py"),
    RepositoryEvidence("package-lock.json", "tests/test_supply_chain.py"),
)
_OPERATING = "docs/operating.md"

PRACTICES: tuple[Practice, ...] = (
    # SEC01 Security foundations
    Practice("SEC01-BP01", "Separate workloads using accounts"),
    Practice("SEC01-BP02", "Secure account root user and properties"),
    Practice(
        "SEC01-BP03",
        "Identify and validate control objectives",
        customer=(
            "Decide which objectives and frameworks bind the organisation, and read "
            "`python -m baseline report` at every release against them."
        ),
        runbook=f"{_OPERATING}#evaluating-new-security-services-and-features",
        repository=(RepositoryEvidence("docs/controls.md", "tests/test_docs.py"),),
    ),
    Practice(
        "SEC01-BP04",
        "Stay up to date with security threats and recommendations",
        customer="Follow AWS security bulletins and the benchmark releases; triage monthly.",
        runbook=f"{_OPERATING}#keeping-up-with-threats-and-recommendations",
    ),
    Practice("SEC01-BP05", "Reduce security management scope"),
    Practice("SEC01-BP06", "Automate deployment of standard security controls"),
    Practice(
        "SEC01-BP07",
        "Identify threats and prioritize mitigations using a threat model",
        customer="Review the landing zone's threat model at each release and after incidents.",
        runbook=f"{_OPERATING}#threat-modelling",
        repository=(RepositoryEvidence("docs/threat-model.md", "tests/test_evidence_pack.py"),),
    ),
    Practice(
        "SEC01-BP08",
        "Evaluate and implement new security services and features regularly",
        customer="Review new AWS security features quarterly and trial them in a sandbox OU.",
        runbook=f"{_OPERATING}#evaluating-new-security-services-and-features",
    ),
    # SEC02 Identity management
    Practice(
        "SEC02-BP01",
        "Use strong sign-in mechanisms",
        customer="Require phishing-resistant MFA in the identity provider for every person.",
        runbook="docs/identity.md#people-one-sign-in-through-iam-identity-center",
    ),
    Practice("SEC02-BP02", "Use temporary credentials"),
    Practice(
        "SEC02-BP03",
        "Store and use secrets securely",
        customer="Workload teams keep every secret in Secrets Manager (SecureSecret), rotated.",
        runbook=f"{_OPERATING}#secrets-and-certificates",
    ),
    Practice("SEC02-BP04", "Rely on a centralized identity provider"),
    Practice(
        "SEC02-BP05",
        "Audit and rotate credentials periodically",
        customer="Hold the monthly access review and act on the credential findings.",
        runbook="docs/identity.md#credential-hygiene-and-the-monthly-access-review",
    ),
    Practice(
        "SEC02-BP06",
        "Employ user groups and attributes",
        customer="Give access to groups, not people, and pass the identity provider's "
        "attributes into sessions (identity_center: assignments, access_control_attributes).",
        runbook="docs/identity.md#people-one-sign-in-through-iam-identity-center",
    ),
    # SEC03 Permissions management
    Practice(
        "SEC03-BP01",
        "Define access requirements",
        customer="Write down who needs which permission set on which accounts, in the config.",
        runbook=f"{_OPERATING}#access-reviews",
    ),
    Practice("SEC03-BP02", "Grant least privilege access"),
    Practice(
        "SEC03-BP03",
        "Establish emergency access process",
        customer="Keep the break-glass credentials under dual control; test them quarterly.",
        runbook="docs/identity.md#emergency-access-the-break-glass-role",
    ),
    Practice(
        "SEC03-BP04",
        "Reduce permissions continuously",
        customer="Remove what the unused-access findings and the quarterly review show.",
        runbook=f"{_OPERATING}#access-reviews",
    ),
    Practice("SEC03-BP05", "Define permission guardrails for your organization"),
    Practice(
        "SEC03-BP06",
        "Manage access based on lifecycle",
        customer="Joiners, movers and leavers change groups in the identity provider, same day.",
        runbook=f"{_OPERATING}#access-reviews",
    ),
    Practice("SEC03-BP07", "Analyze public and cross-account access"),
    Practice("SEC03-BP08", "Share resources securely within your organization"),
    Practice(
        "SEC03-BP09",
        "Share resources securely with a third party",
        customer="Agree each vendor's external id and scope; list them in third_party_roles.",
        runbook="docs/identity.md#machines-roles-and-federation-never-access-keys",
    ),
    # SEC04 Detection
    Practice("SEC04-BP01", "Configure service and application logging"),
    Practice("SEC04-BP02", "Capture logs, findings, and metrics in standardized locations"),
    Practice("SEC04-BP03", "Correlate and enrich security alerts"),
    Practice("SEC04-BP04", "Initiate remediation for non-compliant resources"),
    # SEC05 Protecting networks
    Practice("SEC05-BP01", "Create network layers"),
    Practice("SEC05-BP02", "Control traffic flow within your network layers"),
    Practice(
        "SEC05-BP03",
        "Implement inspection-based protection",
        customer=(
            "Where network.hub is off, turn it on, or inspect the traffic of every VPC that "
            "reaches the internet with a Network Firewall and AWS's managed threat signatures."
        ),
        runbook="docs/network.md#without-the-hub",
    ),
    Practice(
        "SEC05-BP04",
        "Automate network protection",
        customer=(
            "Where network.hub is off, turn it on, or give every VPC that reaches the "
            "internet a Network Firewall and a DNS Firewall with AWS's managed rules."
        ),
        runbook="docs/network.md#without-the-hub",
    ),
    # SEC06 Protecting compute
    Practice("SEC06-BP01", "Perform vulnerability management"),
    Practice("SEC06-BP02", "Provision compute from hardened images"),
    Practice("SEC06-BP03", "Reduce manual management and interactive access"),
    Practice(
        "SEC06-BP04",
        "Validate software integrity",
        customer="Workload teams sign what they build and verify signatures before deploying.",
        runbook=f"{_OPERATING}#software-integrity",
        repository=_LOCKS,
    ),
    Practice("SEC06-BP05", "Automate compute protection"),
    # SEC07 Data classification
    Practice(
        "SEC07-BP01",
        "Understand your data classification scheme",
        customer="Define the classification scheme and who owns each data set.",
        runbook=f"{_OPERATING}#data-classification",
    ),
    Practice(
        "SEC07-BP02",
        "Apply data protection controls based on data sensitivity",
        customer="Place sensitive data in the accounts and OUs whose controls match it.",
        runbook=f"{_OPERATING}#data-classification",
    ),
    Practice("SEC07-BP03", "Automate identification and classification"),
    Practice("SEC07-BP04", "Define scalable data lifecycle management"),
    # SEC08 Protecting data at rest
    Practice("SEC08-BP01", "Implement secure key management"),
    Practice("SEC08-BP02", "Enforce encryption at rest"),
    Practice("SEC08-BP03", "Automate data at rest protection"),
    Practice("SEC08-BP04", "Enforce access control"),
    # SEC09 Protecting data in transit
    Practice(
        "SEC09-BP01",
        "Implement secure key and certificate management",
        customer="Issue and renew certificates through ACM; keep private keys out of code.",
        runbook=f"{_OPERATING}#secrets-and-certificates",
    ),
    Practice("SEC09-BP02", "Enforce encryption in transit"),
    Practice(
        "SEC09-BP03",
        "Authenticate network communications",
        customer="Authenticate service-to-service traffic (SigV4, mutual TLS) in the workloads.",
        runbook=f"{_OPERATING}#secrets-and-certificates",
    ),
    # SEC10 Incident response
    Practice(
        "SEC10-BP01",
        "Identify key personnel and external resources",
        customer="Keep the on-call list, the escalation path and AWS Support contacts current.",
        runbook="docs/incident-response.md#response-objectives-and-who-to-call",
    ),
    Practice(
        "SEC10-BP02",
        "Develop incident management plans",
        customer="Own the incident plan, with named roles, and review it twice a year.",
        runbook=f"{_OPERATING}#incident-management-plan",
        repository=(
            RepositoryEvidence("docs/incident-response.md", "tests/test_incident_response_doc.py"),
        ),
    ),
    Practice("SEC10-BP03", "Prepare forensic capabilities"),
    Practice(
        "SEC10-BP04",
        "Develop and test security incident response playbooks",
        customer="Adapt the playbooks to the organisation and rehearse them each quarter.",
        runbook="docs/incident-response.md#playbooks",
        repository=(
            RepositoryEvidence("docs/incident-response.md", "tests/test_incident_response_doc.py"),
        ),
    ),
    Practice("SEC10-BP05", "Pre-provision access"),
    Practice("SEC10-BP06", "Pre-deploy tools"),
    Practice(
        "SEC10-BP07",
        "Run simulations",
        customer="Run a game day each quarter and after each change of the alert path.",
        runbook="docs/incident-response.md#game-day-rehearse-the-alert-path",
        repository=(RepositoryEvidence("baseline/gameday.py", "tests/test_gameday.py"),),
    ),
    Practice(
        "SEC10-BP08",
        "Establish a framework for learning from incidents",
        customer="Hold a blameless review after every incident and track its actions.",
        runbook=f"{_OPERATING}#learning-from-incidents",
    ),
    # SEC11 Application security
    Practice(
        "SEC11-BP01",
        "Train for application security",
        customer="Train platform engineers, workload teams and responders, yearly, hands-on.",
        runbook=f"{_OPERATING}#security-training",
    ),
    Practice(
        "SEC11-BP02",
        "Automate testing throughout the development and release lifecycle",
        customer="Workload pipelines run their own tests and scanners before they deploy.",
        runbook="docs/pipeline.md#what-the-pipeline-checks",
        repository=_WORKFLOWS,
    ),
    Practice(
        "SEC11-BP03",
        "Perform regular penetration testing",
        customer="Commission a penetration test yearly and after major changes.",
        runbook=f"{_OPERATING}#penetration-testing",
    ),
    Practice(
        "SEC11-BP04",
        "Conduct code reviews",
        customer="Protect main: every change by pull request, reviewed by the code owners.",
        runbook=f"{_OPERATING}#code-reviews",
    ),
    Practice(
        "SEC11-BP05",
        "Centralize services for packages and dependencies",
        customer="Point every build's pip and npm at the internal repository.",
        runbook="docs/packages.md#using-the-repository-from-a-workload",
    ),
    Practice(
        "SEC11-BP06",
        "Deploy software programmatically",
        customer="Create the GitHub environments with their reviewers, and deploy only from there.",
        runbook="docs/pipeline.md#setting-up-the-pipeline",
        repository=_WORKFLOWS,
    ),
    Practice(
        "SEC11-BP07",
        "Regularly assess security properties of the pipelines",
        customer="Review the pipeline's roles, environments and pinned actions each quarter.",
        runbook="docs/pipeline.md#reviewing-the-pipeline",
        repository=(
            RepositoryEvidence(".github/workflows/deploy.yml", "tests/test_workflows.py"),
            *_LOCKS,
        ),
    ),
    Practice(
        "SEC11-BP08",
        "Build a program that embeds security ownership in workload teams",
        customer="Name a security champion in each workload team; review findings monthly.",
        runbook=f"{_OPERATING}#security-ownership-in-workload-teams",
    ),
)
