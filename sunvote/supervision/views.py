"""The supervisory committee's pages: the village ledger (newest checkpoint, cosignatures,
equivocation evidence, the last server-side verification, the export download) and the step-6
workspace (objections to answer, implementation to confirm, matters to sign off). The village
committee's implementation-update form is a form of the matter page (matters/views.py)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from sunvote.domain.errors import DomainError
from sunvote.domain.ledger.records import b64
from sunvote.domain.roles import Role
from sunvote.domain.supervision import OUTCOME_LABELS, SUPERVISORS, Outcome
from sunvote.domain.verification import verification_refusal, witness_request_refusal
from sunvote.models import (
    Village,
)
from sunvote.models.base import utcnow
from sunvote.services import exports, ledger, limits, supervision, verification, witness
from sunvote.services.access import require_village_access
from sunvote.supervision import queries
from sunvote.web.pages import person_id, refused, village_or_404

bp = Blueprint("supervision", __name__)

def _page(village: Village, roles: frozenset[Role]):
    head = ledger.head(village.id)
    cosigned = queries.latest_cosignatures(village)
    witness.check_kept_checkpoint(village)  # a restored database shows red at once
    evidence = witness.evidence_for([village.origin])
    return render_template(
        "supervision/ledger.html", village=village, head=head,
        root=b64(head.root) if head else "", cosigned=cosigned, evidence=evidence,
        log_key=ledger.active_key(village.id).vkey,
        witness_keys=exports.witness_vkeys(village),
        last=verification.last_verification(village),
        may_verify=verification_refusal(roles, None, utcnow()) is None,
        may_ask_witness=witness_request_refusal(roles, False) is None)


@bp.route("/v/<code>/ledger")
@login_required
def ledger_page(code: str):
    village = village_or_404(code)
    return _page(village, require_village_access(person_id(), village, utcnow()))


@bp.route("/v/<code>/ledger/verify", methods=["POST"])
@login_required
def verify_now(code: str):
    """Run the offline verifier on a fresh export of this server's own data."""
    village = village_or_404(code)
    now = utcnow()
    roles = require_village_access(person_id(), village, now)
    last = verification.last_verification(village)
    refusal = verification_refusal(roles, last.verified_at if last else None, now)
    if refusal is not None:
        raise refusal
    verification.run_verification(village, person_id(), now)
    return redirect(url_for("supervision.ledger_page", code=code))


@bp.route("/v/<code>/ledger/witness", methods=["POST"])
@login_required
def ask_witness(code: str):
    """Ask this instance's township witness to cosign the newest checkpoint."""
    village = village_or_404(code)
    now = utcnow()
    roles = require_village_access(person_id(), village, now)
    counter = limits.key("witness", str(village.id))
    refusal = witness_request_refusal(roles, limits.exhausted(1, 1, counter))
    if refusal is not None:
        raise refusal
    limits.count(1, 1, counter)
    try:
        row = witness.send(village)
    except DomainError as error:
        return refused(error, _back_to_ledger, code)
    flash(_("乡镇见证方已签名：第%(size)s条记录为止", size=row.size), "success")
    return _back_to_ledger(code)


def _back_to_ledger(code: str, error: DomainError | None = None, status: int = 302):
    """Back to the ledger page (a redirect: ``status`` is not its own), with the refusal, if
    any, shown there."""
    if error is not None:
        flash(error.render(_), "error")
    return redirect(url_for("supervision.ledger_page", code=code))


# --- The supervisory committee's workspace (step 6) ---------------------------------------------


@bp.route("/v/<code>/supervise")
@login_required
def workspace(code: str):
    """Everything waiting for the supervisory committee: paper ballots to confirm, objections to
    answer (with their deadlines), implementation updates to confirm, matters to sign off, open
    matters to watch for breaches, and the ledger's verification status."""
    village = village_or_404(code)
    roles = require_village_access(person_id(), village, utcnow())
    return _workspace(village, roles)


def _workspace(village: Village, roles: frozenset[Role], error: DomainError | None = None,
               status: int = 200):
    todo = supervision.workspace(village)
    return render_template("supervision/workspace.html", village=village, todo=todo,
                           supervisor=bool(roles & SUPERVISORS), now=utcnow(),
                           last=verification.last_verification(village), error=error,
                           may_verify=verification_refusal(roles, None, utcnow()) is None,
                           OUTCOME_LABELS=OUTCOME_LABELS, Outcome=Outcome), status


@bp.route("/v/<code>/supervise/objections/<int:objection>", methods=["POST"])
@login_required
def reply(code: str, objection: int):
    village = village_or_404(code)
    roles = require_village_access(person_id(), village, utcnow())
    if queries.objection(village, objection) is None:
        abort(404)
    try:
        supervision.reply_objection(person_id(), objection,
                                    request.form.get("outcome", ""), request.form.get("reply"))
    except DomainError as error:
        return refused(error, _workspace, village, roles)
    flash(_("已答复异议，记入账本"), "success")
    return redirect(url_for("supervision.workspace", code=code) + "#objections")


@bp.route("/v/<code>/supervise/updates/<int:update>", methods=["POST"])
@login_required
def confirm(code: str, update: int):
    village = village_or_404(code)
    roles = require_village_access(person_id(), village, utcnow())
    row = queries.update(village, update)
    if row is None:
        abort(404)
    try:
        supervision.confirm_update(person_id(), update)
    except DomainError as error:
        return refused(error, _workspace, village, roles)
    flash(_("已确认实施进度，记入账本"), "success")
    if request.form.get("back") == "matter":  # confirmed from the matter page: back to it
        return redirect(url_for("matters.matter", code=code, number=row.matter.number)
                        + "#implementation")
    return redirect(url_for("supervision.workspace", code=code) + "#updates")
