"""The village ledger page: newest checkpoint, cosignatures, equivocation evidence, the last
server-side verification, and the export download."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from sunvote.domain.errors import DomainError
from sunvote.domain.ledger.records import b64
from sunvote.extensions import db
from sunvote.models import EquivocationEvidence, LedgerCosigned, Village
from sunvote.models.base import utcnow
from sunvote.services import exports, ledger, verification, witness
from sunvote.services.access import require_village_access
from sunvote.web.views import village_or_404

bp = Blueprint("supervise", __name__)

def _page(village: Village):  # type: ignore[no-untyped-def]
    head = ledger.head(village.id)
    cosigned = list(db.session.execute(
        select(LedgerCosigned).where(LedgerCosigned.village_id == village.id)
        .order_by(LedgerCosigned.size.desc()).limit(5)).scalars())
    evidence = list(db.session.execute(
        select(EquivocationEvidence).where(EquivocationEvidence.origin == village.origin)
        .order_by(EquivocationEvidence.id.desc())).scalars())
    return render_template(
        "supervise/ledger.html", village=village, head=head,
        root=b64(head.root) if head else "", cosigned=cosigned, evidence=evidence,
        log_key=ledger.active_key(village.id).vkey,
        witness_keys=exports.witness_vkeys(village),
        last=verification.last_verification(village))


@bp.route("/v/<code>/ledger")
@login_required
def ledger_page(code: str):  # type: ignore[no-untyped-def]
    village = village_or_404(code)
    require_village_access(int(current_user.person_id), village, utcnow())
    return _page(village)


@bp.route("/v/<code>/ledger/verify", methods=["POST"])
@login_required
def verify_now(code: str):  # type: ignore[no-untyped-def]
    """Run the offline verifier on a fresh export of this server's own data."""
    village = village_or_404(code)
    require_village_access(int(current_user.person_id), village, utcnow())
    verification.run_verification(village, int(current_user.person_id))
    return redirect(url_for("supervise.ledger_page", code=code))


@bp.route("/v/<code>/ledger/witness", methods=["POST"])
@login_required
def ask_witness(code: str):  # type: ignore[no-untyped-def]
    """Ask this instance's township witness to cosign the newest checkpoint."""
    village = village_or_404(code)
    require_village_access(int(current_user.person_id), village, utcnow())
    try:
        row = witness.send(village)
    except DomainError as error:
        db.session.rollback()
        flash(error.render(_), "error")
    else:
        flash(_("乡镇见证方已签名：第%(size)s条记录为止", size=row.size), "success")
    return redirect(url_for("supervise.ledger_page", code=code))
