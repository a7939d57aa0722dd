"""The auditor: verify the whole ledger from the chain alone, and report what was found.

``run_audit(ledger, manifest, options)`` fetches every event of the deployment
through the log scanner (:mod:`ledger.logs`), replays each contract's state, checks the rules (code,
state, fund, data, documents, index; ids in :data:`RULES`) and returns an
:class:`AuditReport`; :mod:`ledger.audit.report` renders it as JSON or HTML.
"""

from ledger.audit.findings import RULES, AuditReport, Finding, Rule, Severity
from ledger.audit.runner import AuditOptions, run_audit

__all__ = ["RULES", "AuditOptions", "AuditReport", "Finding", "Rule", "Severity", "run_audit"]
