"""Login sessions: how one begins (rotated: nothing from before login survives, a new CSRF token),
what it keeps, when it ends (logout, a password change or reset, disabling the account, idle
time, its lifetime), and ``Cache-Control: no-store`` on the pages of people logged in.

Flask keeps the session in a signed cookie, so the server cannot delete a copy of it. Instead
each session carries the account's ``session_epoch`` from its login (``Account.get_id()`` is
``<id>:<epoch>``) and the times it began and was last used; the user loader below refuses a
session whose epoch is no longer the account's or whose time is up
(:func:`sunvote.domain.sessions.session_refusal`). docs/architecture.md, "Sessions".
"""

from __future__ import annotations

import datetime as dt

from flask import Response, current_app, flash, g, request, session
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from sunvote.domain.sessions import SessionEnded, SessionLimits, revoked, session_refusal
from sunvote.extensions import db, login_manager
from sunvote.models import Account
from sunvote.models.base import utcnow

#: What a session keeps besides Flask-Login's keys: when it began and was last used (whole
#: seconds since 1970, UTC), and whether it is on a computer marked shared at login.
STARTED_AT = "sv_started"
SEEN_AT = "sv_seen"
SHARED = "sv_shared"

#: Pages that show ID numbers, phone numbers, temporary passwords or a member's phone
#: enrolment and invitations: never stored by a browser or a proxy, logged in or not (every
#: page of a logged-in user is not stored either, see ``no_store``).
NO_STORE_BLUEPRINTS = frozenset({"admin", "auth", "cloud"})

_ENDED = "sunvote_session_ended"


def limits() -> SessionLimits:
    """The configured limits (SUNVOTE_SESSION_IDLE_MINUTES and the rest, sunvote/config.py)."""
    config = current_app.config
    return SessionLimits(idle=dt.timedelta(minutes=int(config["SESSION_IDLE_MINUTES"])),
                         shared_idle=dt.timedelta(
                             minutes=int(config["SHARED_SESSION_IDLE_MINUTES"])),
                         lifetime=dt.timedelta(hours=int(config["SESSION_HOURS"])))


def _seconds(moment: dt.datetime) -> int:
    return int(moment.timestamp())


def _moment(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def start(account: Account, *, shared: bool) -> None:
    """Log ``account`` in on this browser with a fresh session: whatever the session held
    before (anything a visitor planted, the old CSRF token) is dropped first. On a shared
    computer the session cookie is a browser-session cookie (gone when the browser closes);
    otherwise it expires with the session's lifetime."""
    session.clear()
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)
    login_user(account, remember=False, fresh=True)
    now = _seconds(utcnow())
    session[STARTED_AT] = now
    session[SEEN_AT] = now
    session[SHARED] = shared
    session.permanent = not shared


def is_shared() -> bool:
    """Whether this browser's session was begun on a computer marked shared."""
    return bool(session.get(SHARED))


def end() -> None:
    """Forget this browser's session entirely (the login and everything else in it)."""
    logout_user()
    session.clear()
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)


@login_manager.user_loader
def load_account(user_id: str) -> Account | None:
    """The account of this session, or None when the session is over: its epoch is no longer
    the account's (logged out elsewhere, password changed or reset, disabled), the account is
    disabled, or its idle time or lifetime has passed. Marks the session as used now."""
    account_id, sep, epoch = user_id.partition(":")
    if not (sep and account_id.isascii() and account_id.isdigit()
            and epoch.isascii() and epoch.isdigit()):
        return None
    account = db.session.get(Account, int(account_id))
    if account is None or account.disabled or account.session_epoch != int(epoch):
        return None
    started, seen = session.get(STARTED_AT), session.get(SEEN_AT)
    if not isinstance(started, int) or not isinstance(seen, int):
        # Not begun by start(): e.g. Flask-Login's remember-me cookie, which SunVote never
        # sets (it would outlive every limit here).
        return None
    now = utcnow()
    refusal = session_refusal(_moment(started), _moment(seen), is_shared(), now, limits())
    if refusal is not None:
        g.setdefault(_ENDED, refusal)
        return None
    session[SEEN_AT] = _seconds(now)
    return account


def _flash_ended(refusal: SessionEnded) -> None:
    """Say why the session ended, in the page's language and the other, with the rule."""
    from sunvote.web.errors import both_languages

    messages = both_languages(refusal.msgid, refusal.params)
    lang = "en" if str(get_locale() or "zh").startswith("en") else "zh"
    other = "zh" if lang == "en" else "en"
    flash(f"{messages[lang]}（{messages[other]}）{_('依据规则')} {refusal.rule}", "error")


def check_session() -> None:
    """Before every request but static files: a session whose login is over is forgotten, and
    the browser is told why. The view then sees an anonymous visitor (a page that needs a login
    sends them to the login page)."""
    if request.endpoint == "static" or "_user_id" not in session:
        return
    if current_user.is_authenticated:  # loads (and checks) the account
        return
    refusal = g.pop(_ENDED, None) or revoked()
    end()
    _flash_ended(refusal)


def no_store(response: Response) -> Response:
    """``Cache-Control: no-store`` on every response to a logged-in user and on every page of
    the register, logins and phone voting (NO_STORE_BLUEPRINTS); static files stay cacheable.
    A browser's back button or a shared computer's cache then shows nothing of a session that
    has ended."""
    if request.endpoint == "static":
        return response
    logged_in = "_user_id" in session and current_user.is_authenticated
    if logged_in or request.blueprint in NO_STORE_BLUEPRINTS:
        response.headers["Cache-Control"] = "no-store"
        response.headers.setdefault("Pragma", "no-cache")
    return response

