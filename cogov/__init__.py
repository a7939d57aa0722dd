"""``cogov``: the command line of CoGov Ledger.

Exit codes scripts can rely on:

====  =====================================================================
0     success
1     a check failed (``compile --check`` found a difference, an audit finding)
2     usage error (bad option or argument)
3     the chain is unavailable, or is not the deployment's chain
4     the contract refused (a revert, with the custom error named)
5     configuration or keystore problem
6     any other ledger error
====  =====================================================================
"""

from __future__ import annotations

import sys

from cogov.app import app
from cogov.output import run

__all__ = ["app", "main"]


def main() -> None:
    sys.exit(run(app))
