"""Public pages: the list of villages, a village's board, each matter's public page with the
objection and rating forms, its printable notice (HTML and PDF), the suggestion form reached from
the QR poster, the poster itself (HTML, SVG, PNG), receipt checks and the rules table."""

from __future__ import annotations

import io

import qrcode
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
from flask_babel import force_locale
from flask_babel import gettext as _

from sunvote.domain.administration import VILLAGE_APPOINTABLE
from sunvote.domain.assembly import ballot_id_refusal
from sunvote.domain.errors import LIST_SEPARATOR, N_, Conflict, DomainError, InvalidField, NotFound
from sunvote.domain.ledger.tables import BALLOT_FIELD_LABELS
from sunvote.domain.matter_filter import MatterFilter
from sunvote.domain.procedure import MatterState
from sunvote.domain.rules import RULES
from sunvote.domain.settings import PASS_RULE_LABELS, PassRule
from sunvote.domain.supervision import OUTCOME_LABELS, Outcome, objection_window_refusal
from sunvote.models import Matter, Village
from sunvote.models.base import utcnow
from sunvote.public import queries
from sunvote.public.forms import ObjectionForm, RatingForm
from sunvote.services import ledger, verification
from sunvote.services import suggestions as suggestion_service
from sunvote.services import supervision as supervision_service
from sunvote.services.matter_filter import MatterPage
from sunvote.services.matters import matter_by_number
from sunvote.services.register import current_terms
from sunvote.web import matter_filter, pdf, verifier_files
from sunvote.web.links import absolute_url
from sunvote.web.pages import file_response, refused, village_or_404
from sunvote.web.pdf import NoticeSheet
from sunvote.web.qr import qr_svg_text, receipt_qr_svg
from sunvote.web.templating import format_time, format_yuan, label, poll_not_voted

bp = Blueprint("public", __name__)

#: Matters per page of the board (a phone scrolls through about this many comfortably).
BOARD_PER_PAGE = 20


@bp.route("/")
def index():
    return render_template("public/index.html", townships=queries.townships())


@bp.route("/p/<code>/")
def village(code: str):
    """The villagers' board: the matters the filter lets through (``?category=&year=&state=
    &q=&page=``, docs/public-board.md), grouped by where they stand, with their six steps."""
    v = village_or_404(code)
    found: list[queries.Board] = []

    def find(f: MatterFilter) -> MatterPage:
        found.append(queries.village_board(v, f, utcnow()))
        return found[0].page

    listing, status = matter_filter.listed(matter_filter.asked(BOARD_PER_PAGE), find)
    # Names and roles only: ID and phone numbers never reach a public page.
    terms = current_terms(v, utcnow())
    names = queries.names({t.person_id for t in terms})  # one query, not one per officer
    officers: dict[str, list[str]] = {}
    for term in terms:
        officers.setdefault(term.role, []).append(names[term.person_id])
    suggestions, suggestions_total = suggestion_service.public_page(v, 1, 5)
    return render_template("public/village.html", village=v, groups=found[0].groups,
                           officers=officers,
                           roles=[r for r in VILLAGE_APPOINTABLE if r.value in officers],
                           ledger_status=queries.ledger_status(v),
                           suggestions=suggestions, suggestions_total=suggestions_total,
                           **listing), status


# --- A matter's public page ----------------------------------------------------------------------


def _matter(code: str, number: str) -> tuple[Village, Matter]:
    v = village_or_404(code)
    return v, matter_by_number(v, number[:20])


def _render_matter(v: Village, m: Matter, objection_form: ObjectionForm | None = None,
                   rating_form: RatingForm | None = None, error: DomainError | None = None,
                   error_form: str | None = None, status: int = 200):
    now = utcnow()
    view = queries.matter_view(v, m)
    notice_open = (m.state == MatterState.PASSED.value and objection_window_refusal(
        now, m.notice_starts_at, m.notice_ends_at) is None)
    return render_template(
        "public/matter.html", village=v, matter=m, view=view, now=now,
        countdown=queries.countdown(m.notice_ends_at, now) if m.notice_ends_at else None,
        notice_open=notice_open, can_rate=m.state == MatterState.COMPLETED.value,
        objection_form=objection_form or ObjectionForm(formdata=None, prefix="objection"),
        rating_form=rating_form or RatingForm(formdata=None, prefix="rating"),
        form_error=error, error_form=error_form,
        outcome_label=lambda o: _(OUTCOME_LABELS[Outcome(o)]),
        from_suggestions=suggestion_service.numbers_in(m),
        PRIVATE_FILE_STEPS=queries.PRIVATE_FILE_STEPS), status


@bp.route("/p/<code>/m/<number>")
def matter(code: str, number: str):
    """One matter as villagers see it: six steps, results, notice, objections, implementation,
    satisfaction and the ledger's status; the objection and rating forms when they apply."""
    v, m = _matter(code, number)
    return _render_matter(v, m)


@bp.route("/p/<code>/m/<number>/object", methods=["POST"])
def object_(code: str, number: str):
    """A villager objects during the notice period. Refused: the page again with what was
    typed and the reason; nothing written."""
    v, m = _matter(code, number)
    form = ObjectionForm(prefix="objection")
    form.validate()
    try:
        if form.website.data:
            raise InvalidField("notice.objector", N_("提交未被接受"))
        supervision_service.file_objection(m.id, form.household.data, form.name.data,
                                           form.text.data, request.remote_addr or "unknown")
    except DomainError as error:
        return refused(error, _render_matter, v, m, objection_form=form, error_form="objection")
    flash(_("您的异议已登记。村务监督委员会将在答复期限内书面答复，答复会公布在本页。"),
          "success")
    return redirect(url_for("public.matter", code=v.code, number=m.number) + "#objections")


@bp.route("/p/<code>/m/<number>/rate", methods=["POST"])
def rate(code: str, number: str):
    """A household rates a completed matter, once."""
    v, m = _matter(code, number)
    form = RatingForm(prefix="rating")
    form.validate()
    try:
        if form.website.data:
            raise InvalidField("rating.household", N_("提交未被接受"))
        supervision_service.rate(m.id, form.household.data, form.name.data, form.score.data,
                                 request.remote_addr or "unknown")
    except DomainError as error:
        return refused(error, _render_matter, v, m, rating_form=form, error_form="rating")
    flash(_("谢谢！您的评价已记录。"), "success")
    return redirect(url_for("public.matter", code=v.code, number=m.number) + "#satisfaction")


@bp.route("/p/<code>/m/<number>/files/<sha256>")
def matter_file(code: str, number: str, sha256: str):
    """A document shown on the matter's public page (materials, minutes, evidence), by its
    SHA-256 — only files of this matter, so the hash alone opens nothing else."""
    _v, m = _matter(code, number)
    found = queries.public_file(m, sha256[:64])
    data = queries.file_bytes(sha256[:64]) if found else None
    if found is None or data is None:
        abort(404)
    return file_response(data, found[0], found[1], sandbox=True)


# --- The printable notice (公示) ---------------------------------------------------------------

#: States in which a matter's last published result stands (not sent back to a new vote).
PUBLISHED_STATES = frozenset({MatterState.PASSED.value, MatterState.IMPLEMENTING.value,
                              MatterState.COMPLETED.value, MatterState.REJECTED.value})


def _notice(code: str, number: str) -> tuple[Village, Matter, queries.MatterView, NoticeSheet]:
    v, m = _matter(code, number)
    if m.notice_starts_at is None:
        raise NotFound("input.invalid", N_("该事项尚未票决，还没有公示"))
    if m.state not in PUBLISHED_STATES:  # an upheld objection sent it back to a new vote
        raise Conflict("input.invalid", N_("该事项的表决结果已被退回重新票决，原公示已失效"))
    view = queries.matter_view(v, m)
    result = view.last_poll
    rows: list[tuple[str, str]] = [(_("事项编号"), m.number), (_("事项名称"), m.title)]
    if m.category:
        rows.append((_("事项类别"), f"{m.category}. {label('category', m.category)}"))
    if m.amount_fen is not None:
        rows.append((_("涉及金额"), f"¥ {format_yuan(m.amount_fen)}"))
    if m.filing_no:
        rows.append((_("备案号"), m.filing_no))
    if m.summary:
        rows.append((_("方案摘要"), m.summary))
    verdict = _("通过") if m.notice_ends_at is not None else _("未通过")
    if result is not None:
        p = result.poll
        # No "·" here: the PDF's built-in Song font has no glyph for it.
        rows.append((_("票决会议"), f"{p.meeting.title}（{format_time(p.meeting.starts_at)}）"))
        rows.append((_("表决结果"), _(
            "%(verdict)s：同意%(yes)s票，反对%(no)s票，弃权%(abstain)s票，未投票%(not_voted)s人；"
            "到会%(present)s人，应到%(members)s人", verdict=verdict, yes=p.yes, no=p.no,
            abstain=p.abstain, not_voted=poll_not_voted(p), present=p.present,
            members=p.members)))
        rule = _(PASS_RULE_LABELS[PassRule(p.rule)])
        if result.needed is not None:
            rule += _("，至少%(n)s票同意", n=result.needed)
        rows.append((_("表决规则"), rule))
        rows.append((_("表决方式"), _(p.mode.label)))
        if result.tally_seq is not None:
            rows.append((_("账本记录"), _("本村账本第%(n)s条（计票结果）", n=result.tally_seq)))
    else:
        rows.append((_("表决结果"), verdict))
    if m.notice_ends_at is not None:
        period = _("%(start)s 至 %(end)s", start=format_time(m.notice_starts_at),
                   end=format_time(m.notice_ends_at))
        how = _("公示期内，本村村民对表决结果有异议的，可扫描右侧二维码在“%(village)s”公开栏"
                "该事项页面填写户号、姓名和异议内容，或向村务监督委员会书面提出。"
                "村务监督委员会将在期限内书面答复并公布。", village=v.name)
    else:
        period = _("表决未通过，不设公示期；结果于%(start)s公布",
                   start=format_time(m.notice_starts_at))
        how = _("对本结果有疑问的，可向村务监督委员会反映。")
    rows.append((_("公示期"), period))
    url = absolute_url("public.matter", code=v.code, number=m.number)
    sheet = NoticeSheet(heading=_("公示"), village=v.name, township=v.township.name,
                        subtitle=_("村民代表会议票决结果公示"), rows=rows, how_to_object=how,
                        url=url, footer=_("账本公钥（用于离线验证）：%(key)s",
                                          key=view.ledger.log_key),
                        published=_("%(village)s 公布于 %(at)s", village=v.name,
                                    at=format_time(m.notice_starts_at)))
    return v, m, view, sheet


@bp.route("/p/<code>/m/<number>/notice")
def notice(code: str, number: str):
    """The printable A4 notice of a matter's vote result, with the village's QR code."""
    v, m, _view, sheet = _notice(code, number)
    return render_template("public/notice.html", village=v, matter=m, sheet=sheet,
                           qr_svg=qr_svg_text(sheet.url))


@bp.route("/p/<code>/m/<number>/notice.pdf")
def notice_pdf(code: str, number: str):
    """The same notice as a PDF (A4, its Chinese font embedded; in Chinese whatever the page's
    language: it is an official village paper)."""
    font = pdf.app_font()
    with force_locale("zh"):
        _v, m, _view, sheet = _notice(code, number)
    return file_response(pdf.notice(sheet, font), f"公示-{m.number}.pdf",
                         "application/pdf")


def _poster_url(v: Village) -> str:
    return absolute_url("public.village", code=v.code)


@bp.route("/p/<code>/poster")
def poster(code: str):
    """A printable A4 poster with the village's QR code, for the notice board."""
    v = village_or_404(code)
    svg = qr_svg_text(_poster_url(v))
    return render_template("public/poster.html", village=v, qr_svg=svg, url=_poster_url(v),
                           log_key=ledger.active_key(v.id).vkey,
                           verifier_url=verifier_files.township_verifier_url(v),
                           verifier_sha256=verifier_files.published_sha256())


@bp.route("/p/<code>/qr.svg")
def qr_svg(code: str):
    v = village_or_404(code)
    return Response(qr_svg_text(_poster_url(v)), mimetype="image/svg+xml")


@bp.route("/p/<code>/qr.png")
def qr_png(code: str):
    v = village_or_404(code)
    buffer = io.BytesIO()
    qrcode.make(_poster_url(v), box_size=10, border=2).save(buffer)
    return Response(buffer.getvalue(), mimetype="image/png")


@bp.route("/p/<code>/ledger.zip")
def ledger_export(code: str):
    """The village's ledger export (a zip), for anyone to verify offline."""
    village = village_or_404(code)
    return send_file(verification.cached_export_zip(village), mimetype="application/zip",
                     as_attachment=True, download_name=f"sunvote-ledger-{village.code}.zip",
                     max_age=0)


@bp.route("/p/<code>/ledger/consistency")
def ledger_consistency(code: str):
    """The RFC 6962 consistency proof between the log's sizes ``from`` and ``to`` (default: now),
    the file ``sunvote ledger consistency`` writes: for a phone's verifier that saw an older
    checkpoint. Nothing to trust here: it is checked against checkpoints signed by the log key."""
    village = village_or_404(code)
    older, newer, proof = ledger.public_consistency_file(
        village.id, request.args.get("from"), request.args.get("to"))
    response = file_response(proof, f"sunvote-{village.code}-consistency-{older}-{newer}.proof",
                             "text/plain")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/p/<code>/receipt")
def receipt(code: str):
    """Anyone checks a ballot receipt code: whether the ballot is in the village's ledger, at
    which record, with what content; and downloads the receipt file to verify offline."""
    v = village_or_404(code)
    ballot_code = (request.args.get("ballot") or "").strip()
    if ballot_code:
        error = ballot_id_refusal(ballot_code)
        if error is not None:
            return render_template("public/receipt.html", village=v, ballot_code=ballot_code[:64],
                                   ballot=None, checked=None, error=error), error.status
    found = queries.ballot(v, ballot_code) if ballot_code else None
    if found is not None and found.ledger_seq is None:
        # Not in the ledger yet (a secret ballot before its poll closes, a paper ballot before
        # its confirmation): answered exactly like an unknown code, so that the page cannot
        # confirm to a vote buyer that a code handed over before the close is real.
        found = None
    checked = None
    mismatch_fields = ""
    if found is not None and found.ledger_seq is not None:
        checked = queries.check_receipt(v, found)
        mismatch_fields = _(LIST_SEPARATOR).join(_(BALLOT_FIELD_LABELS[name])
                                                  for name in checked.differences)
    receipt_qr = None
    if checked is not None and found is not None and found.ledger_seq is not None:
        receipt_qr = receipt_qr_svg(ledger.receipt(v.id, found.ledger_seq).decode("utf-8"))
    return render_template("public/receipt.html", village=v, ballot_code=ballot_code,
                           ballot=found, checked=checked, mismatch_fields=mismatch_fields,
                           receipt_qr=receipt_qr)


@bp.route("/p/<code>/receipt/<ballot_code>.receipt")
def receipt_file(code: str, ballot_code: str):
    """The receipt file (record + tlog-proof) for `sunvote ledger verify receipt`."""
    v = village_or_404(code)
    found = queries.ballot(v, ballot_code[:64])
    if found is None or found.ledger_seq is None:
        abort(404)
    response = Response(ledger.receipt(v.id, found.ledger_seq), mimetype="text/plain")
    response.headers["Content-Disposition"] = (
        f"attachment; filename=ballot-{found.code[:12]}.receipt")
    return response


@bp.route("/rules")
def rules():
    """Every rule SunVote enforces or warns about, with its source."""
    return render_template("public/rules.html", rules=RULES)
