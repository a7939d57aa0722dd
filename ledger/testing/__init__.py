"""What tests, benchmarks and the demo share to stand a deployment up.

* :mod:`ledger.testing.bootstrap`: Ganache processes on free ports, the one deploy-and-admit
  bootstrap, the standard deployment (re-exported here);
* :mod:`ledger.testing.evm`: the in-process py-evm chain of the fast contract tests and the
  gas benchmark (imported on its own: it needs the ``dev`` extra).

Nothing here runs in the product's service or CLI; it is shipped so that a project embedding
the ledger can test against it the same way.
"""

from ledger.testing.bootstrap import (
    KEY_LABELS,
    MEMBER_IDS,
    STANDARD_COUNCIL,
    STANDARD_MEMBERS,
    Bootstrapped,
    Deployment,
    MemberSpec,
    admit_members,
    deploy_and_admit,
    deploy_standard,
    open_signers,
    register_data_key,
    start_ganache,
)

__all__ = [
    "KEY_LABELS",
    "MEMBER_IDS",
    "STANDARD_COUNCIL",
    "STANDARD_MEMBERS",
    "Bootstrapped",
    "Deployment",
    "MemberSpec",
    "admit_members",
    "deploy_and_admit",
    "deploy_standard",
    "open_signers",
    "register_data_key",
    "start_ganache",
]
