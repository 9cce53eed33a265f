"""Public pages: the list of villages, a village's page, the suggestion form reached from the QR
poster, the poster itself (HTML, SVG, PNG), and the rules table."""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import select

from sunvote.domain.administration import VILLAGE_APPOINTABLE
from sunvote.domain.errors import N_, DomainError, InvalidField
from sunvote.domain.ledger.records import b64
from sunvote.domain.procedure import MatterState
from sunvote.domain.rules import RULES
from sunvote.extensions import db
from sunvote.models import Ballot, Matter, Meeting, Poll, Township, Village
from sunvote.models.base import utcnow
from sunvote.services import ledger, verification
from sunvote.services import suggestions as suggestion_service
from sunvote.services.register import current_terms
from sunvote.web.forms import PublicSuggestionForm
from sunvote.web.views import village_or_404

bp = Blueprint("public", __name__)


@bp.route("/")
def index():  # type: ignore[no-untyped-def]
    townships = list(db.session.execute(select(Township).order_by(Township.code)).scalars())
    return render_template("public/index.html", townships=townships)


@bp.route("/p/<code>/")
def village(code: str):  # type: ignore[no-untyped-def]
    """What any villager sees: the matters and where each stands (issue 6 adds the full board)."""
    v = village_or_404(code)
    matters = list(db.session.execute(
        select(Matter).where(Matter.village_id == v.id).order_by(Matter.number.desc())
    ).scalars())
    head = ledger.head(v.id)
    # Names and roles only: ID and phone numbers never reach a public page.
    officers: dict[str, list[str]] = {}
    for term in current_terms(v, utcnow()):
        officers.setdefault(term.role, []).append(term.person.name)
    return render_template("public/village.html", village=v, matters=matters,
                           MatterState=MatterState, head=head, officers=officers,
                           roles=[r for r in VILLAGE_APPOINTABLE if r.value in officers],
                           root=b64(head.root) if head else "",
                           log_key=ledger.active_key(v.id).vkey)


@bp.route("/p/<code>/suggest", methods=["GET", "POST"])
def suggest(code: str):  # type: ignore[no-untyped-def]
    """The suggestion form: no account; limited per source address per hour."""
    v = village_or_404(code)
    form = PublicSuggestionForm()
    error: DomainError | None = None
    status = 200
    if request.method == "POST":
        form.validate()
        try:
            if form.website.data:
                raise InvalidField("suggestion.rate_limit", N_("提交未被接受"))
            suggestion_service.submit_public_suggestion(
                v.id, form.text.data, form.name.data, form.contact.data,
                bool(form.party_member.data), bool(form.show_name.data),
                request.remote_addr or "unknown")
        except DomainError as e:
            db.session.rollback()
            error, status = e, e.status
        else:
            flash(_("谢谢！您的建议已提交，村务工作者会尽快处理。"), "success")
            return redirect(url_for("public.village", code=v.code))
    return render_template("public/suggest.html", village=v, form=form, error=error), status


def _poster_url(v: Village) -> str:
    return url_for("public.village", code=v.code, _external=True)


@bp.route("/p/<code>/poster")
def poster(code: str):  # type: ignore[no-untyped-def]
    """A printable A4 poster with the village's QR code, for the notice board."""
    v = village_or_404(code)
    svg = qr_svg_text(_poster_url(v))
    return render_template("public/poster.html", village=v, qr_svg=svg, url=_poster_url(v),
                           log_key=ledger.active_key(v.id).vkey)


def qr_svg_text(data: str) -> str:
    """A QR code of ``data`` as inline SVG (the poster, the hall screen's check-in code)."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=10,
                        border=2)
    return image.to_string(encoding="unicode")


@bp.route("/p/<code>/qr.svg")
def qr_svg(code: str):  # type: ignore[no-untyped-def]
    v = village_or_404(code)
    return Response(qr_svg_text(_poster_url(v)), mimetype="image/svg+xml")


@bp.route("/p/<code>/qr.png")
def qr_png(code: str):  # type: ignore[no-untyped-def]
    v = village_or_404(code)
    buffer = io.BytesIO()
    qrcode.make(_poster_url(v), box_size=10, border=2).save(buffer)
    return Response(buffer.getvalue(), mimetype="image/png")


@bp.route("/p/<code>/ledger.zip")
def ledger_export(code: str):  # type: ignore[no-untyped-def]
    """The village's ledger export (a zip), for anyone to verify offline."""
    village = village_or_404(code)
    return send_file(verification.cached_export_zip(village), mimetype="application/zip",
                     as_attachment=True, download_name=f"sunvote-ledger-{village.code}.zip",
                     max_age=0)


@bp.route("/p/<code>/receipt")
def receipt(code: str):  # type: ignore[no-untyped-def]
    """Anyone checks a ballot receipt code: whether the ballot is in the village's ledger, at
    which record, with what content; and downloads the receipt file to verify offline."""
    v = village_or_404(code)
    ballot_code = (request.args.get("ballot") or "").strip()[:64]
    found = _ballot(v, ballot_code) if ballot_code else None
    checked = None
    if found is not None and found.ledger_seq is not None:
        from sunvote.domain.ledger.note import Verifier
        from sunvote.domain.ledger.proofs import parse_receipt, verify_receipt

        data = ledger.receipt(v.id, found.ledger_seq)
        key = Verifier.from_vkey(ledger.active_key(v.id).vkey)
        try:
            verify_receipt(parse_receipt(data), key, origin=v.origin)
            checked = True
        except ValueError:  # the proof and format errors are ValueErrors: "not proven"
            checked = False
    return render_template("public/receipt.html", village=v, ballot_code=ballot_code,
                           ballot=found, checked=checked)


def _ballot(v: Village, ballot_code: str) -> Ballot | None:
    return db.session.execute(
        select(Ballot).join(Poll, Poll.id == Ballot.poll_id).join(
            Meeting, Meeting.id == Poll.meeting_id)
        .where(Ballot.code == ballot_code, Meeting.village_id == v.id)).scalar_one_or_none()


@bp.route("/p/<code>/receipt/<ballot_code>.receipt")
def receipt_file(code: str, ballot_code: str):  # type: ignore[no-untyped-def]
    """The receipt file (record + tlog-proof) for `sunvote ledger verify receipt`."""
    v = village_or_404(code)
    found = _ballot(v, ballot_code[:64])
    if found is None or found.ledger_seq is None:
        abort(404)
    response = Response(ledger.receipt(v.id, found.ledger_seq), mimetype="text/plain")
    response.headers["Content-Disposition"] = (
        f"attachment; filename=ballot-{found.code[:12]}.receipt")
    return response


@bp.route("/rules")
def rules():  # type: ignore[no-untyped-def]
    """Every rule SunVote enforces or warns about, with its source."""
    return render_template("public/rules.html", rules=RULES)
