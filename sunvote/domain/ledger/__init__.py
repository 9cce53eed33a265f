"""Pure cryptographic core of the tamper-evident ledger (no Flask, no database)."""
