"""CoGov Ledger HTTP API (FastAPI) and the public transparency page."""
