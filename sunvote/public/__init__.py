"""Pages anyone can open without an account: village page, suggestion form, QR poster, rules."""
