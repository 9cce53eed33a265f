"""Login and password forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length


class LoginForm(FlaskForm):
    """User name (usually a phone number) and password."""

    username = StringField(_l("用户名（手机号）"), validators=[DataRequired(), Length(max=40)])
    password = PasswordField(_l("密码"), validators=[DataRequired(), Length(max=200)])
    # A village-office computer others use too: a shorter idle time, and the login is gone
    # when the browser closes (sunvote/auth/sessions.py).
    shared = BooleanField(_l("这是公用电脑"))


class ChangePasswordForm(FlaskForm):
    """A new password, typed twice."""

    current = PasswordField(_l("当前密码"), validators=[DataRequired(), Length(max=200)])
    new = PasswordField(_l("新密码"), validators=[DataRequired(), Length(min=8, max=200)])
    again = PasswordField(_l("再次输入新密码"),
                          validators=[DataRequired(), EqualTo("new", message=_l("两次输入不一致"))])
