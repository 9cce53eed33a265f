"""The township's verifier page and downloads (docs/browser-verifier.md): the one-file browser
verifier and the Python wheel. A village's own server could serve a verifier that lies about
its log; the township's serves these, and the village's poster prints the page's SHA-256."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, send_file

from sunvote.models import Village
from sunvote.web import verifier_files
from sunvote.web.pages import township_or_404

bp = Blueprint("verifier", __name__)


@bp.app_template_global()
def township_verifier_url(village: Village) -> str:
    """For the village pages' "verify it yourself": where the township offers the verifier."""
    return verifier_files.township_verifier_url(village)


@bp.app_template_global()
def verifier_sha256() -> str:
    """The SHA-256 this release's verifier page has (printed on posters)."""
    return verifier_files.published_sha256()


@bp.route("/t/<code>/verifier")
def page(code: str):
    """What the verifier is, its SHA-256 (the one printed on posters and the installed file's),
    and the downloads."""
    township = township_or_404(code)
    html = verifier_files.page_file()
    return render_template("verifier/page.html", township=township, html=html,
                           published=verifier_files.published_sha256(),
                           wheels=verifier_files.wheels())


@bp.route("/t/<code>/verifier/sunvote-verifier.html")
def html_file(code: str):
    """The one-file browser verifier, as a download (opened from the disk, it needs nothing)."""
    township_or_404(code)
    found = verifier_files.page_file()
    if found is None:
        abort(404)
    return send_file(found.path, mimetype="text/html", as_attachment=True,
                     download_name=verifier_files.HTML_NAME, max_age=0)


@bp.route("/t/<code>/verifier/<name>")
def wheel(code: str, name: str):
    """The Python verifier as a wheel (``pip install <file>``)."""
    township_or_404(code)
    found = verifier_files.wheel(name)
    if found is None:
        abort(404)
    return send_file(found.path, mimetype="application/zip", as_attachment=True,
                     download_name=found.name, max_age=0)
