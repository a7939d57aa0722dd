"""The audit report as the API serves it (the same model the CLI writes with ``--json``)."""

from ledger.audit.findings import AuditReport, ContractCode, Finding, RuleResult, ScanStats, Severity

AuditReportPublic = AuditReport

__all__ = ["AuditReportPublic", "ContractCode", "Finding", "RuleResult", "ScanStats", "Severity"]
