"""Login, logout and password change."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from sunvote.auth import sessions
from sunvote.auth.forms import ChangePasswordForm, LoginForm
from sunvote.domain.administration import (
    TOWNSHIP_APPOINTABLE,
    TOWNSHIP_ISSUED_LOGINS,
    login_resetters,
)
from sunvote.domain.login import KNOWN_BROWSER_DAYS, login_refused
from sunvote.domain.roles import Role, Scope
from sunvote.extensions import db, login_manager
from sunvote.models import Account
from sunvote.services import accounts

bp = Blueprint("auth", __name__)

login_manager.login_view = "auth.login"
login_manager.login_message = "请先登录"  # translated when shown, see templates/_macros/flash
login_manager.login_message_category = "info"

# First of SunVote's request hooks (this blueprint is registered first): a session that is over
# is forgotten before any view or hook sees its account (sunvote/auth/sessions.py).
bp.before_app_request(sessions.check_session)
bp.after_app_request(sessions.no_store)


#: Where a person who must change their password may still go.
_ALLOWED_BEFORE_CHANGE = {"auth.change_password", "auth.logout", "static"}


@bp.before_app_request
def _require_password_change():
    """A password set by someone else (a reset) must be replaced before anything else."""
    if (request.endpoint not in _ALLOWED_BEFORE_CHANGE and current_user.is_authenticated
            and current_user.must_change_password):
        return redirect(url_for("auth.change_password"))
    return None


def _safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None: never redirect to another host after
    login. Browsers drop tabs and newlines from URLs (``/\t/evil.example`` becomes
    ``//evil.example``), so any control character or space refuses it, as do ``//`` and ``\\``
    and anything urlsplit reads as having a scheme or a host."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    status = 200
    error = None
    if form.validate_on_submit():
        known = request.cookies.get(accounts.KNOWN_BROWSER_COOKIE)
        account = accounts.authenticate(form.username.data or "", form.password.data or "",
                                        address=request.remote_addr or "-", known=known)
        if account is not None:
            sessions.start(account, shared=bool(form.shared.data))
            if account.must_change_password:
                response = redirect(url_for("auth.change_password"))
            else:
                response = redirect(_safe_next(request.args.get("next")) or url_for("matters.home"))
            response.set_cookie(accounts.KNOWN_BROWSER_COOKIE,
                                accounts.known_browser(known, account.id),
                                max_age=KNOWN_BROWSER_DAYS * 24 * 3600, httponly=True,
                                samesite="Lax", secure=current_app.config["SESSION_COOKIE_SECURE"])
            return response
        # unknown user, wrong password, disabled, or waiting: one answer (no enumeration)
        error, status = login_refused(), login_refused().status
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form, error=error), status


@bp.route("/password/forgot")
def forgot_password():
    """For a person who forgot their password: who can reset it, and what happens then. Nobody
    resets a password by e-mail or text message here; the person who keeps the register does it
    face to face, and every reset is a ledger record."""
    village_roles = [r for r in Role if r.scope is Scope.VILLAGE and r is not Role.ASSEMBLY]
    rows = [
        ([r for r in village_roles if r not in TOWNSHIP_ISSUED_LOGINS],
         login_resetters(frozenset(), in_village=True)),
        ([r for r in village_roles if r in TOWNSHIP_ISSUED_LOGINS],
         login_resetters(TOWNSHIP_ISSUED_LOGINS, in_village=True)),
        (list(TOWNSHIP_APPOINTABLE), login_resetters(frozenset(), in_village=False)),
    ]
    return render_template("auth/forgot.html", rows=rows)


@bp.route("/logout", methods=["POST"])
def logout():
    """Log out here and everywhere else this account is logged in."""
    if current_user.is_authenticated:
        accounts.log_out(current_user.id)
    sessions.end()
    return redirect(url_for("public.index"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        accounts.change_password(current_user.id, form.current.data or "", form.new.data or "")
        # The change ended every session of the account, this one too; the person just typed
        # their password, so this browser goes on in a new session.
        account = db.session.get(Account, current_user.id)
        assert account is not None
        sessions.start(account, shared=sessions.is_shared())
        flash(_("密码已修改"), "success")
        return redirect(url_for("matters.home"))
    return render_template("auth/password.html", form=form), (400 if request.method == "POST"
                                                               else 200)
