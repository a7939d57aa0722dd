"""The demo scenario: a council, departments, contributors, datasets, grants and projects.

:func:`seed` is idempotent: it creates what is missing (keys, the deployment,
members, each capability's part, the demo API keys) and leaves the rest. Each
capability adds its part in its own module (``cogov.demo.data``,
``cogov.demo.fund``) with a ``seed(ctx)`` function. The demo belongs to the
composition root: it writes through ``ledger`` and issues ``api`` keys.
"""

from cogov.demo.scenario import (
    API_KEYS,
    CAPABILITIES,
    COUNCIL,
    MEMBERS,
    DemoContext,
    bootstrap,
    issue_api_keys,
    seed_capabilities,
    seed_members,
)

__all__ = [
    "API_KEYS",
    "CAPABILITIES",
    "COUNCIL",
    "MEMBERS",
    "DemoContext",
    "bootstrap",
    "issue_api_keys",
    "seed_capabilities",
    "seed_members",
]
