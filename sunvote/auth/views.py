"""Login, logout and password change."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from sunvote.auth.forms import ChangePasswordForm, LoginForm
from sunvote.domain.login import KNOWN_BROWSER_DAYS, login_refused
from sunvote.extensions import db, login_manager
from sunvote.models import Account
from sunvote.services import accounts

bp = Blueprint("auth", __name__)

login_manager.login_view = "auth.login"
login_manager.login_message = "请先登录"  # translated when shown, see templates/_macros/flash
login_manager.login_message_category = "info"


@login_manager.user_loader
def load_account(account_id: str) -> Account | None:
    """The logged-in account, unless it has been disabled since."""
    if not account_id.isdigit():
        return None
    account = db.session.get(Account, int(account_id))
    return account if account is not None and not account.disabled else None


#: Where a person who must change their password may still go.
_ALLOWED_BEFORE_CHANGE = {"auth.change_password", "auth.logout", "static"}


@bp.before_app_request
def _require_password_change():  # type: ignore[no-untyped-def]
    """A password set by someone else (a reset) must be replaced before anything else."""
    if (current_user.is_authenticated and current_user.must_change_password
            and request.endpoint not in _ALLOWED_BEFORE_CHANGE):
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
def login():  # type: ignore[no-untyped-def]
    form = LoginForm()
    status = 200
    error = None
    if form.validate_on_submit():
        known = request.cookies.get(accounts.KNOWN_BROWSER_COOKIE)
        account = accounts.authenticate(form.username.data or "", form.password.data or "",
                                        address=request.remote_addr or "-", known=known)
        if account is not None:
            login_user(account)
            if account.must_change_password:
                response = redirect(url_for("auth.change_password"))
            else:
                response = redirect(_safe_next(request.args.get("next")) or url_for("web.home"))
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


@bp.route("/logout", methods=["POST"])
def logout():  # type: ignore[no-untyped-def]
    logout_user()
    return redirect(url_for("public.index"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():  # type: ignore[no-untyped-def]
    form = ChangePasswordForm()
    if form.validate_on_submit():
        accounts.change_password(current_user.id, form.current.data or "", form.new.data or "")
        flash(_("密码已修改"), "success")
        return redirect(url_for("web.home"))
    return render_template("auth/password.html", form=form), (400 if request.method == "POST"
                                                               else 200)
