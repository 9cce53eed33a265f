"""Public pages of suggestions (on the ``public`` blueprint): the form (no account), the list,
each suggestion's status page, the page that shows a new suggestion's number and private link,
and the private page its suggester opens with that link (docs/public-board.md, "Following a
suggestion")."""

from __future__ import annotations

from typing import Any

from flask import flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from sunvote.domain import suggestions as rules
from sunvote.domain.errors import N_, DomainError, InvalidField, NotFound, RateLimited
from sunvote.domain.pagination import parse_page
from sunvote.models import Suggestion, Village
from sunvote.public.forms import PublicSuggestionForm
from sunvote.public.views import bp
from sunvote.services import limits
from sunvote.services import suggestions as service
from sunvote.web.links import absolute_url
from sunvote.web.pages import refused, village_or_404
from sunvote.web.qr import qr_svg_text

#: Suggestions per page of the full list.
PER_PAGE = 20
#: The session key that carries a new suggestion's code from the form to the page showing it.
JUST_SUBMITTED = "suggestion_submitted"


def remember_submitted(village: Village, submitted: service.Submitted) -> str:
    """Keep the new suggestion's code in the suggester's session (never in a URL) and return
    the page that shows it."""
    session[JUST_SUBMITTED] = {"village": village.code,
                               "number": submitted.suggestion.number, "code": submitted.code}
    return url_for("public.suggestion_submitted", code=village.code,
                   number=submitted.suggestion.number)


@bp.route("/p/<code>/suggest", methods=["GET", "POST"])
def suggest(code: str):
    """The suggestion form: no account; limited per source address per hour."""
    v = village_or_404(code)
    form = PublicSuggestionForm()
    if request.method != "POST":
        return _suggest_page(v, form)
    form.validate()
    try:
        if form.website.data:
            raise InvalidField("suggestion.rate_limit", N_("提交未被接受"))
        submitted = service.submit_public_suggestion(
            v.id, form.text.data, form.name.data, form.contact.data,
            bool(form.party_member.data), bool(form.show_name.data),
            request.remote_addr or "unknown")
    except DomainError as error:
        return refused(error, _suggest_page, v, form)
    flash(_("谢谢！您的建议已提交，村务工作者会尽快处理。"), "success")
    # the number and the private link to follow it
    return redirect(remember_submitted(v, submitted))


def _suggest_page(v: Village, form: PublicSuggestionForm, error: DomainError | None = None,
                  status: int = 200):
    return render_template("public/suggest.html", village=v, form=form, error=error), status


def _token_page(response: Any) -> Any:
    """A page that holds a follow code or the suggester's contact: never cached, never sent on
    as a Referer."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _follow_link(village: Village, number: int, code: str) -> str:
    return absolute_url("public.suggestion_follow", code=village.code, number=number,
                        fragment={"t": code})


@bp.route("/p/<code>/suggestions")
def suggestions(code: str):
    """Every suggestion of the village, newest first, paged, each with its status."""
    v = village_or_404(code)
    try:
        page = parse_page(request.args.get("page"), None).page
    except DomainError as error:
        return render_template("public/suggestions.html", village=v, items=[], total=0, page=1,
                               pages=1, error=error), error.status
    items, total = service.public_page(v, page, PER_PAGE)
    pages = max(1, -(-total // PER_PAGE))
    return render_template("public/suggestions.html", village=v, items=items, total=total,
                           page=page, pages=pages)


@bp.route("/p/<code>/s/<number>")
def suggestion(code: str, number: str):
    """One suggestion's public page: text, name only if its suggester chose to show it,
    and where it stands (received; taken into a matter; not taken up, with the reason)."""
    v = village_or_404(code)
    s = service.suggestion_by_number(v, number[:20])
    return render_template("public/suggestion.html", village=v, s=s, status=service.status(s))


@bp.route("/p/<code>/s/<number>/new")
def suggestion_submitted(code: str, number: str):
    """After the form: the suggestion's number and the private link and QR code to follow it.
    Only the browser that submitted it sees the code (it is in that browser's session);
    anyone else is sent to the public page."""
    v = village_or_404(code)
    s = service.suggestion_by_number(v, number[:20])
    held = session.get(JUST_SUBMITTED)
    if not (isinstance(held, dict) and held.get("village") == v.code
            and held.get("number") == s.number and isinstance(held.get("code"), str)):
        return redirect(url_for("public.suggestion", code=v.code, number=s.number))
    link = _follow_link(v, s.number, held["code"])
    return _token_page(make_response(render_template(
        "public/suggestion_submitted.html", village=v, s=s, link=link, qr_svg=qr_svg_text(link),
        code_text=rules.format_code(held["code"]))))


@bp.route("/p/<code>/s/<number>/follow", methods=["GET"])
def suggestion_follow(code: str, number: str):
    """Where the private link leads (…/follow#t=CODE): static/js/token-link.js posts the code
    from the fragment; without script the suggester types it."""
    return _follow_page(village_or_404(code), number, "")


def _follow_page(v: Village, number: str, typed: str, error: DomainError | None = None,
                 status: int = 200) -> Any:
    """The page asking for the follow code (again, with the refusal, when it was wrong)."""
    return _token_page(make_response(render_template(
        "public/suggestion_follow.html", village=v, number=number[:20], typed=typed[:200],
        error=error), status))


@bp.route("/p/<code>/s/<number>/follow", methods=["POST"])
def suggestion_private(code: str, number: str):
    """The suggester's own page: what they submitted, name and contact included, and its
    status. An unknown number and a wrong code get the same refusal; wrong tries are counted
    per address (rules.FOLLOW_FAILURES in rules.FOLLOW_MINUTES)."""
    v = village_or_404(code)
    typed = request.form.get("t", "")
    typed = typed if isinstance(typed, str) else ""
    counter = limits.key("suggestion_follow", request.remote_addr or "-")
    try:
        if limits.exhausted(rules.FOLLOW_FAILURES, rules.FOLLOW_MINUTES, counter):
            raise RateLimited("suggestion.follow_code",
                              N_("查看码输错次数太多，请%(minutes)s分钟后再试"),
                              minutes=rules.FOLLOW_MINUTES)
        found = _followed(v, number[:20], _pasted(typed))
        if found is None:
            limits.count(rules.FOLLOW_FAILURES, rules.FOLLOW_MINUTES, counter)
            raise NotFound("suggestion.follow_code",
                           N_("建议编号或查看码不对，请核对提建议后得到的链接或查看码"))
    except DomainError as error:
        return refused(error, _follow_page, v, number, typed)
    return _token_page(make_response(render_template(
        "public/suggestion_private.html", village=v, s=found, status=service.status(found))))


def _pasted(text: str) -> str:
    """The code alone, or taken from the whole pasted link (after "#t=")."""
    if "t=" in text:
        text = text.rsplit("t=", 1)[1].split("&", 1)[0]
    return text


def _followed(village: Village, number: str, code: str) -> Suggestion | None:
    """The suggestion ``number`` if ``code`` is its follow code; None for any mismatch."""
    try:
        s = service.suggestion_by_number(village, number)
    except NotFound:
        rules.code_matches(code, rules.code_hash("0" * rules.CODE_LENGTH))  # same work
        return None
    return s if rules.code_matches(code, s.follow_hash) else None
