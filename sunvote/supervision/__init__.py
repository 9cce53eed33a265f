"""The supervisory committee's pages (this issue: the village ledger's status and export)."""
