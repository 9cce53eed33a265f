"""Error pages and JSON errors: every refusal names its rule, in Chinese and English."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Flask, jsonify, render_template, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import force_locale, gettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from sunvote.domain.errors import N_, DomainError, render

#: Messages for plain HTTP errors, by status.
HTTP_MESSAGES: dict[int, tuple[str, str]] = {
    400: ("input.invalid", N_("请求内容不正确")),
    403: ("access.village", N_("您没有权限访问此页面")),
    404: ("input.invalid", N_("页面或记录不存在")),
    405: ("input.invalid", N_("不支持这种请求方式")),
    409: ("procedure.step_order", N_("请求与当前状态冲突")),
    413: ("input.invalid", N_("上传的文件太大")),
    429: ("suggestion.rate_limit", N_("请求太频繁，请稍后再试")),
}


def wants_json() -> bool:
    """JSON for /api/ paths and for clients that prefer JSON over HTML."""
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes[
        "text/html"]


def both_languages(msgid: str, params: dict[str, Any]) -> dict[str, str]:
    """The message in Chinese and in English."""
    out = {}
    for lang in ("zh", "en"):
        with force_locale(lang):
            out[lang] = render(msgid, params, gettext)
    return out


def error_response(status: int, rule: str, msgid: str, params: dict[str, Any] | None = None):
    """An error page (or JSON body) naming ``rule`` with the message in both languages."""
    messages = both_languages(msgid, params or {})
    if wants_json():
        return jsonify(error={"status": status, "rule": rule, "message": render(
            msgid, params or {}, gettext), "zh": messages["zh"], "en": messages["en"]}), status
    return render_template("errors/error.html", status=status, rule=rule,
                           message=render(msgid, params or {}, gettext),
                           messages=messages), status


def has_nul(path: str, fields: Iterable[tuple[str, str]], body: bytes | None) -> bool:
    """Whether a request carries a NUL character: in its path, a query or form field's name or
    value, or a JSON body (raw or escaped as \\u0000). No text SunVote keeps may hold one, and
    PostgreSQL refuses it in a string (a 500 before this check)."""
    if "\x00" in path or any("\x00" in key or "\x00" in value for key, value in fields):
        return True
    return body is not None and (b"\x00" in body or b"\\u0000" in body)


class DatabaseIntConverter(IntegerConverter):
    """``<int:…>`` in a URL, up to the largest database integer: a bigger number is no route
    (404) rather than an out-of-range query (PostgreSQL: a DataError, a 500)."""

    def __init__(self, map: Any, fixed_digits: int = 0, min: int | None = None,
                 max: int | None = 2**31 - 1, signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


class GuardedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, where a body nested too deeply for the parser is malformed JSON (a 400, or
    None from ``get_json(silent=True)``) rather than a RecursionError (a 500)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


def register_error_handlers(app: Flask) -> None:
    """Map domain errors, CSRF failures and HTTP errors to pages or JSON; refuse NUL input and
    JSON nested too deeply to parse."""
    app.json = GuardedJSONProvider(app)

    @app.before_request
    def _refuse_nul():
        fields = [*request.args.items(multi=True)]
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            fields += request.form.items(multi=True)
        body = request.get_data(cache=True) if request.is_json else None
        if has_nul(request.path, fields, body):
            return error_response(400, "input.invalid",
                                  N_("输入中不能含有空字符（NUL）"))
        return None

    @app.errorhandler(DomainError)
    def _domain(error: DomainError):
        return error_response(error.status, error.rule, error.msgid, error.params)

    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError):
        return error_response(400, "access.csrf", N_("表单已过期或来源不明，请重新打开页面提交"))

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        status = error.code or 500
        rule, msgid = HTTP_MESSAGES.get(status, ("input.invalid", N_("服务器出错了")))
        return error_response(status, rule, msgid)
