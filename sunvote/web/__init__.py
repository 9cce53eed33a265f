"""What the blueprints share and no blueprint owns: the place a URL names or 404, refusals shown
on their page again, downloads (pages.py), forms' fields, errors, links, QR codes, PDF layouts,
sealed ballots, static files and template helpers. Not a blueprint (docs/architecture.md)."""
