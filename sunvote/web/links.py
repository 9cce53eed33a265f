"""Links that leave the site (QR codes, printed notices, the OpenAPI document) built from the
configured base URL, never from the request's Host header; which Host values the app answers;
and the redaction of the secrets some of our URLs carry from every log line we write.

A link that carries a secret (an enrolment or invitation token, the hall's check-in QR) carries
it in the URL's fragment (``#t=…``), which browsers never send to a server or a proxy: a small
script (static/js/token-link.js) reads it and posts it. Links printed before that change still
work; their tokens are in the path, and :func:`redact` blanks them in our own logs."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Flask, Response, current_app, has_request_context, request
from werkzeug.exceptions import SecurityError

#: Host values always answered besides the base URL's host: the server itself (health checks,
#: a reverse proxy that passes its upstream's address as Host). Links never use them.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1")

#: What stands in for a secret in a logged URL.
REDACTED = "…"

#: The secret-bearing parts of our URLs: a path segment after one of these prefixes (except
#: the token-free routes that live under the same prefix), and these query parameters (a
#: ballot's receipt code: with the address that asked, it would tie a secret ballot to a phone;
#: the hall's live presence code). Also when percent-encoded inside another URL (the login
#: page's ``next``).
_SLASH = r"(?:/|%2[Ff])"
_SEGMENT = r"[^/?#&%\s\"]+"
_PATH_SECRET = re.compile(
    rf"({_SLASH}c{_SLASH}(?:enrol|join){_SLASH})"
    rf"(?!(?:device|checkin)(?:[/?#&%\s\"]|$)){_SEGMENT}"
    rf"|({_SLASH}v{_SLASH}{_SEGMENT}{_SLASH}meetings{_SLASH}{_SEGMENT}{_SLASH}checkin{_SLASH})"
    rf"{_SEGMENT}"
    rf"|({_SLASH}c{_SLASH}receipt{_SLASH}){_SEGMENT}"
    rf"|({_SLASH}p{_SLASH}{_SEGMENT}{_SLASH}receipt{_SLASH}){_SEGMENT}")
_QUERY_SECRET = re.compile(
    r"((?:^|[?&#]|%3[Ff]|%26|%23)(?:ballot|c|t|token)(?:=|%3[Dd]))(?:[^&#%\s\"]|%(?!26|23))*")


def redact(text: str) -> str:
    """``text`` (a URL, a request line, a log message) with every token our URLs may carry
    replaced by "…"."""
    text = _PATH_SECRET.sub(lambda m: next(g for g in m.groups() if g) + REDACTED, text)
    return _QUERY_SECRET.sub(lambda m: m.group(1) + REDACTED, text)


class RedactingFilter(logging.Filter):
    """A logging filter that redacts tokens from a record's message and its string arguments
    (werkzeug's request lines, Flask's "Exception on <path>")."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, Mapping):
            record.args = {k: redact(v) if isinstance(v, str) else v
                           for k, v in record.args.items()}
        return True


def install_log_redaction(*loggers: logging.Logger) -> None:
    """Add one :class:`RedactingFilter` to each logger (once)."""
    for logger in loggers:
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())


# --- The base URL and the Host header ---------------------------------------------------------


def check_base_url(url: str) -> str:
    """A base URL as configured, without its trailing slash; ValueError when it is not
    ``http(s)://host[:port][/path]`` (no user, query or fragment)."""
    parts = urlsplit(url.strip())
    if (parts.scheme not in ("http", "https") or not parts.hostname or parts.username
            or parts.password or parts.query or parts.fragment or "@" in parts.netloc):
        raise ValueError(f"{url!r} is not http(s)://host[:port][/path]")
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ValueError(f"{url!r} has a bad port") from None
    return f"{parts.scheme}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


def trusted_hosts(base_url: str | None, setting: str | None) -> list[str] | None:
    """Flask's TRUSTED_HOSTS from SUNVOTE_TRUSTED_HOSTS (names separated by spaces or commas;
    ".example.org" also trusts its subdomains; "*" checks nothing) or, when that is unset, the
    base URL's host and the loopback names. None (no check) when neither is set."""
    if setting is not None and setting.strip():
        names = [n for n in re.split(r"[\s,]+", setting.strip()) if n]
        return None if names == ["*"] else names
    if base_url:
        host = urlsplit(base_url).hostname
        assert host is not None  # check_base_url
        return [host, *LOOPBACK_HOSTS]
    return None


def init_app(app: Flask) -> None:
    """Check SUNVOTE_BASE_URL, derive TRUSTED_HOSTS, and redact tokens in the app's and
    werkzeug's logs."""
    base = app.config.get("BASE_URL")
    if base:
        try:
            app.config["BASE_URL"] = base = check_base_url(str(base))
        except ValueError as error:
            raise RuntimeError(f"SUNVOTE_BASE_URL: {error}") from None
        if app.config.get("SESSION_COOKIE_SECURE") and not base.startswith("https://"):
            raise RuntimeError("SUNVOTE_BASE_URL must be https:// when SUNVOTE_SECURE_COOKIES=1")
    elif app.config.get("SESSION_COOKIE_SECURE"):
        raise RuntimeError("SUNVOTE_BASE_URL must be set in production (SUNVOTE_SECURE_COOKIES=1):"
                           " the public https:// address that QR codes and printed links use")
    if app.config.get("TRUSTED_HOSTS") is None:
        app.config["TRUSTED_HOSTS"] = trusted_hosts(base, app.config.get("TRUSTED_HOSTS_SETTING"))
    app.register_error_handler(SecurityError, _unknown_host)
    install_log_redaction(app.logger, logging.getLogger("werkzeug"))


def _unknown_host(error: SecurityError) -> Response:
    """A Host header not in TRUSTED_HOSTS: 400, in plain text, since no page can be built for
    a request whose host is refused (every URL a page builds would ask for it)."""
    from sunvote.web.errors import HTTP_MESSAGES, both_languages

    rule, msgid = HTTP_MESSAGES[400]
    messages = both_languages(msgid, {})
    return Response(f"400 [{rule}] {messages['zh']} / {messages['en']}\n", status=400,
                    mimetype="text/plain")


def base_url() -> str:
    """Where this site is reached from outside, without a trailing slash: SUNVOTE_BASE_URL;
    else SERVER_NAME (tests); else, in development only (production refuses to start without
    SUNVOTE_BASE_URL), the address the request came to."""
    configured = current_app.config.get("BASE_URL")
    if configured:
        return str(configured).rstrip("/")
    server = current_app.config.get("SERVER_NAME")
    if server:
        root = str(current_app.config.get("APPLICATION_ROOT") or "/").rstrip("/")
        return f"{current_app.config['PREFERRED_URL_SCHEME']}://{server}{root}"
    if has_request_context():
        return request.root_url.rstrip("/")
    raise RuntimeError("SUNVOTE_BASE_URL is not set")


def absolute_url(endpoint: str, *, fragment: Mapping[str, str] | None = None,
                 **values: Any) -> str:
    """The absolute URL of ``endpoint`` (full name, e.g. "public.village") with ``values``, on
    the base URL, with ``fragment`` (e.g. {"t": token}) after "#": what every QR code, printed
    link and API document uses."""
    parts = urlsplit(base_url())
    adapter = current_app.url_map.bind(parts.netloc, script_name=parts.path or "/",
                                       url_scheme=parts.scheme)
    url = adapter.build(endpoint, values, force_external=True)
    if fragment:
        url += "#" + urlencode(fragment)
    return url
