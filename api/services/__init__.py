"""Caller-scoped operations per domain, between the thin routers and the library: who the
caller is, what they may see, the domain queries (answered from the event index and the
domain's reducer), and name look-ups."""
