"""Every environment variable SunVote reads, in one place, with its default."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from sunvote.domain.errors import DomainError
from sunvote.domain.keyfiles import empty_secret
from sunvote.domain.settings import SETTINGS, validate_setting

ENV_PREFIX = "SUNVOTE_"


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(ENV_PREFIX + name)
    return value if value not in (None, "") else default


def _int_env(name: str, default: int) -> int:
    """A whole-number setting: a value that is not one stops start-up naming the variable,
    instead of a bare ValueError traceback."""
    value = _env(name)
    if value is None:
        return default
    if not (value.isascii() and value.isdigit()):
        raise RuntimeError(f"{ENV_PREFIX}{name} must be a whole number, not {value!r}")
    return int(value)


def instance_path() -> str:
    """SUNVOTE_INSTANCE_PATH, else ``./instance`` under the directory SunVote is started from:
    where the SQLite file, the secrets, uploads and exports live, as an absolute path.

    Never Flask's own default, which depends on how the package was installed
    (``<venv>/var/sunvote-instance`` after ``pip install .``, ``<source>/instance`` after
    ``pip install -e .``): reinstalling the other way silently moved the instance folder, and
    the next start found an empty database (issue 15). A relative SUNVOTE_INSTANCE_PATH is
    taken from the current directory too (Flask refuses a relative one)."""
    return str(Path(_env("INSTANCE_PATH") or "instance").resolve())


def earlier_instance_path(current: Path) -> Path | None:
    """Flask's install-dependent instance folder, which SunVote used before ``./instance``, if it
    holds a database or secrets and is not ``current``: ``sunvote demo`` names it so that an
    earlier demo's data is found again (SUNVOTE_INSTANCE_PATH), never moved or read."""
    from flask.sansio.scaffold import find_package

    prefix, package_path = find_package("sunvote")
    earlier = (Path(prefix) / "var" / "sunvote-instance" if prefix is not None
               else Path(package_path) / "instance")
    if earlier.resolve() == current.resolve():
        return None
    if any((earlier / name).exists() for name in ("sunvote.sqlite3", "ledger_passphrase")):
        return earlier
    return None


def load_config(instance: Path) -> dict[str, Any]:
    """The Flask configuration from the environment; ``instance`` is the app's instance folder."""
    instance.mkdir(parents=True, exist_ok=True)
    database_url = _env("DATABASE_URL", f"sqlite:///{instance / 'sunvote.sqlite3'}")
    assert database_url is not None
    return {
        # SUNVOTE_DATABASE_URL: SQLAlchemy URL; PostgreSQL is postgresql+psycopg://user@host/db.
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # SUNVOTE_SQLITE_BUSY_TIMEOUT_MS: how long a SQLite writer waits for the lock.
        "SQLITE_BUSY_TIMEOUT_MS": _int_env("SQLITE_BUSY_TIMEOUT_MS", 10000),
        # SUNVOTE_SECRET_KEY: signs sessions and CSRF tokens; by default generated once per
        # instance and kept in instance/secret_key (mode 0600), never a constant.
        "SECRET_KEY": secret("SECRET_KEY", instance, "secret_key"),
        # SUNVOTE_LEDGER_PASSPHRASE: encrypts the ledger's private keys at rest. By default
        # generated once and kept in instance/ledger_passphrase (0600), apart from the database,
        # so that a copy of the database alone cannot sign. Losing it means new keys (rotation).
        # None here when neither is set: create_app generates the file only while the database
        # holds no sealed keys (services.keys.open_passphrase). Empty values are refused.
        "LEDGER_PASSPHRASE": secret("LEDGER_PASSPHRASE", instance, "ledger_passphrase",
                                    create=False),
        "LEDGER_PASSPHRASE_FILE": str(instance / "ledger_passphrase"),
        # SUNVOTE_LANGUAGE: the default UI language, zh (Chinese) or en.
        "BABEL_DEFAULT_LOCALE": _env("LANGUAGE", "zh"),
        "BABEL_DEFAULT_TIMEZONE": _env("TIMEZONE", "Asia/Shanghai"),
        "LANGUAGES": ("zh", "en"),
        # SUNVOTE_MAX_UPLOAD_MB: the largest request (uploads included).
        "MAX_CONTENT_LENGTH": _int_env("MAX_UPLOAD_MB", 20) * 1024 * 1024,
        # SUNVOTE_SUGGESTIONS_PER_HOUR: public suggestions accepted per source address per hour.
        "SUGGESTIONS_PER_HOUR": _int_env("SUGGESTIONS_PER_HOUR", 5),
        # SUNVOTE_RATELIMIT_STORAGE_URI: where the limits on refused attempts (logins, cloud
        # voting) are counted: "memory://" (the default) counts in each process; with several
        # gunicorn workers use Redis, e.g. "redis://127.0.0.1:6379" (docs/operations.md).
        "RATELIMIT_STORAGE_URI": _env("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_STRATEGY": "moving-window",
        # Storage errors are raised as limits.errors.StorageError; services/limits.py then
        # counts in this process's memory until the storage answers again.
        "RATELIMIT_STORAGE_OPTIONS": {"wrap_exceptions": True},
        # SUNVOTE_RATELIMIT_KEY_PREFIX: begins every key of those counters, for installations
        # sharing one Redis.
        "RATELIMIT_KEY_PREFIX": _env("RATELIMIT_KEY_PREFIX", "sunvote"),
        # SUNVOTE_TRUSTED_PROXIES: how many reverse proxies in front of SunVote set
        # X-Forwarded-For and X-Forwarded-Proto (1 behind one nginx). 0, the default, ignores
        # those headers: anyone can send them, so trusting them without a proxy would let a
        # client pick the address its limits are counted under.
        "TRUSTED_PROXIES": _int_env("TRUSTED_PROXIES", 0),
        # SUNVOTE_SECURE_COOKIES=1 behind HTTPS (production).
        "SESSION_COOKIE_SECURE": _env("SECURE_COOKIES", "0") == "1",
        # SUNVOTE_BASE_URL: the public address, e.g. https://sunvote.example.gov.cn; every
        # absolute link (QR codes, printed notices, the OpenAPI document) is built on it, never
        # on the request's Host header. Required with SUNVOTE_SECURE_COOKIES=1; `sunvote demo`
        # derives it from --host/--port (sunvote/web/links.py).
        "BASE_URL": _env("BASE_URL"),
        # SUNVOTE_PDF_FONT: a TrueType font file (.ttf, or .ttc: its first face) with Chinese
        # glyphs, embedded in every printed PDF. Unset: the WenQuanYi Micro Hei shipped inside
        # the package (sunvote/fonts/). A missing file refuses to print (documents.font_missing).
        "PDF_FONT": _env("PDF_FONT"),
        # SUNVOTE_TRUSTED_HOSTS: the Host header values answered (others get 400), separated by
        # spaces or commas, ".example.org" with its subdomains, "*" for any. Unset: the base
        # URL's host plus localhost and 127.0.0.1 (no check when SUNVOTE_BASE_URL is unset).
        "TRUSTED_HOSTS_SETTING": _env("TRUSTED_HOSTS"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # A login session ends after SUNVOTE_SESSION_IDLE_MINUTES without a request (30), after
        # SUNVOTE_SHARED_SESSION_IDLE_MINUTES on a computer marked shared at login (10), and
        # SUNVOTE_SESSION_HOURS after login whatever happens (12; the session cookie's signature
        # expires then too). There is no "remember me". See sunvote/auth/sessions.py.
        "SESSION_IDLE_MINUTES": positive_int("SESSION_IDLE_MINUTES", 30),
        "SHARED_SESSION_IDLE_MINUTES": positive_int("SHARED_SESSION_IDLE_MINUTES", 10),
        "SESSION_HOURS": positive_int("SESSION_HOURS", 12),
        # Each request of a login writes its time into the session anyway; static files set
        # no cookie (they stay cacheable).
        "SESSION_REFRESH_EACH_REQUEST": False,
        "WTF_CSRF_TIME_LIMIT": None,
        # SUNVOTE_DEFAULT_<SETTING>: the starting value of a township setting for townships
        # created from now on, written into their rows at creation
        # (e.g. SUNVOTE_DEFAULT_PUBLIC_NOTICE_DAYS=7); checked against the law.
        "SETTING_DEFAULTS": setting_defaults(),
        # A village server whose township witness runs elsewhere: where to send add-checkpoint
        # ("{township}" is replaced by the township code) and the witness's verifier key (to
        # check its cosignatures and to name it in exports). Unset: this instance's own witness.
        "WITNESS_URL": _env("WITNESS_URL"),
        "WITNESS_KEY": _env("WITNESS_KEY"),
        # SUNVOTE_WITNESSES: further witnesses (e.g. the district's), space-separated
        # "<add-checkpoint URL>=<verifier key>" pairs; each round asks every one of them.
        "WITNESSES": _env("WITNESSES"),
        # SUNVOTE_WITNESS_STORE: the witness's memory, this instance's kept cosigned checkpoints
        # and rollback/fork evidence, in their own SQLite file apart from the database, so that
        # restoring an old copy of the database cannot roll them back. Keep it out of the
        # database's backups and restores (docs/operations.md).
        "WITNESS_STORE": _env("WITNESS_STORE", str(instance / "witness-store.sqlite3")),
        # SUNVOTE_VERIFIER_DIR: the browser verifier (sunvote-verifier.html, built by
        # tools/build_verifier.py) and the Python wheel (sunvote-*.whl) that a township server
        # offers at /t/<township>/verifier (docs/browser-verifier.md).
        "VERIFIER_DIR": _env("VERIFIER_DIR", str(instance / "verifier")),
        # SUNVOTE_LOG_ORIGIN_PREFIX: begins the origin line of every village log created from
        # now on (<prefix>/<township>/<village>), so that no two installations share an origin;
        # e.g. the server's domain name. By default "sunvote-<random hex>", generated once and
        # kept in instance/log_origin_prefix. Existing logs keep the origin they began with.
        "LOG_ORIGIN_PREFIX": _env("LOG_ORIGIN_PREFIX") or instance_origin_prefix(instance),
        # SUNVOTE_NOTICE_ROBOTS: a JSON file naming each village's discussion-group robots,
        # {"<village code>": {"dingtalk": {"url": "<webhook>", "secret": "SEC…"},
        #                     "wecom": {"url": "<webhook>"}}} (docs/operations.md). Secrets:
        # kept out of the database and the ledger. Unset: no village has a group robot.
        "NOTICE_ROBOTS": notice_robots(_env("NOTICE_ROBOTS")),
        # Meeting video (docs/video.md). SUNVOTE_ICE_SERVERS: the STUN and TURN servers the
        # browsers use, as JSON, a list of RTCIceServer objects, e.g.
        # [{"urls": ["stun:turn.example.cn:3478", "turn:turn.example.cn:3478?transport=udp"]}].
        # Unset: none (the hall and the phones must reach each other directly: a local network).
        # SUNVOTE_TURN_SECRET: coturn's static-auth-secret; a TURN entry without "credential"
        # then gets a password valid SUNVOTE_TURN_TTL_SECONDS (12 h) for each page, so no
        # lasting TURN password is in a page. SUNVOTE_ICE_TRANSPORT_POLICY: "all" (default)
        # or "relay" (every connection through TURN: to test TURN, or to hide addresses).
        "ICE_SERVERS": ice_servers(_env("ICE_SERVERS")),
        "TURN_SECRET": _env("TURN_SECRET"),
        "TURN_TTL_SECONDS": positive_int("TURN_TTL_SECONDS", 12 * 3600),
        "ICE_TRANSPORT_POLICY": ice_transport_policy(_env("ICE_TRANSPORT_POLICY", "all")),
        # SUNVOTE_JANUS_URL: Janus's HTTP API (e.g. http://127.0.0.1:8088/janus), bound to
        # loopback or a private network: set, every meeting's video goes through Janus (the
        # SFU: the hall uploads one stream whatever the number of phones); unset, the hall
        # connects to each phone (mesh, up to 6 phones). docs/video.md, docs/operations.md.
        # SUNVOTE_JANUS_TIMEOUT: seconds SunVote waits for Janus's answer (default 10).
        # SUNVOTE_JANUS_ADMIN_KEY: the VideoRoom plugin's admin_key, if its jcfg sets one
        # (then only SunVote can create rooms).
        "JANUS_ADMIN_KEY": _env("JANUS_ADMIN_KEY"),
        "JANUS_URL": janus_url(_env("JANUS_URL")),
        "JANUS_TIMEOUT": positive_int("JANUS_TIMEOUT", 10),
        # The sender's providers (`sunvote notices send`, docs/operations.md "Notices"): each
        # entry's credentials, endpoint and rate (messages a second, SUNVOTE_NOTICE_RATE_<NAME>).
        # A provider without credentials leaves its notices queued and logs why; nothing is
        # dropped. Secrets: environment only, never the database or the ledger.
        "NOTICE_CHANNELS": notice_channels(),
    }


def notice_channels() -> dict[str, dict[str, Any]]:
    """The sender's provider settings from SUNVOTE_* variables (see load_config):

    - Alibaba Cloud SMS: SUNVOTE_ALIBABA_SMS_ACCESS_KEY_ID, _ACCESS_KEY_SECRET, _SIGN_NAME,
      _TEMPLATE_CODE, _TEMPLATE_PARAM (the template's variable, "content"), _ENDPOINT
      (dysmsapi.aliyuncs.com; "http://host:port" for a local server);
    - Tencent Cloud SMS: SUNVOTE_TENCENT_SMS_SECRET_ID, _SECRET_KEY, _SDK_APP_ID, _SIGN_NAME,
      _TEMPLATE_ID, _REGION (ap-guangzhou), _ENDPOINT (sms.tencentcloudapi.com);
    - e-mail: SUNVOTE_SMTP_HOST, _PORT, _USER, _PASSWORD, _FROM, _TLS (starttls, ssl or none),
      _SUBJECT;
    - for each provider (alibaba, tencent, email, dingtalk, wecom): SUNVOTE_NOTICE_RATE_<NAME>,
      messages a second (defaults below), and SUNVOTE_NOTICE_TIMEOUT seconds for one request.
    The group robots' webhooks and secrets are in SUNVOTE_NOTICE_ROBOTS."""
    timeout = _env("NOTICE_TIMEOUT", "10")
    rates = {"alibaba": "100", "tencent": "100", "email": "10", "dingtalk": "0.3",
             "wecom": "0.3"}
    channels: dict[str, dict[str, Any]] = {
        "alibaba": {"access_key_id": _env("ALIBABA_SMS_ACCESS_KEY_ID"),
                    "access_key_secret": _env("ALIBABA_SMS_ACCESS_KEY_SECRET"),
                    "sign_name": _env("ALIBABA_SMS_SIGN_NAME"),
                    "template_code": _env("ALIBABA_SMS_TEMPLATE_CODE"),
                    "template_param": _env("ALIBABA_SMS_TEMPLATE_PARAM", "content"),
                    "endpoint": _env("ALIBABA_SMS_ENDPOINT", "dysmsapi.aliyuncs.com")},
        "tencent": {"secret_id": _env("TENCENT_SMS_SECRET_ID"),
                    "secret_key": _env("TENCENT_SMS_SECRET_KEY"),
                    "sdk_app_id": _env("TENCENT_SMS_SDK_APP_ID"),
                    "sign_name": _env("TENCENT_SMS_SIGN_NAME"),
                    "template_id": _env("TENCENT_SMS_TEMPLATE_ID"),
                    "region": _env("TENCENT_SMS_REGION", "ap-guangzhou"),
                    "endpoint": _env("TENCENT_SMS_ENDPOINT", "sms.tencentcloudapi.com")},
        "email": {"host": _env("SMTP_HOST"), "port": _env("SMTP_PORT"),
                  "user": _env("SMTP_USER"), "password": _env("SMTP_PASSWORD"),
                  "from": _env("SMTP_FROM"), "tls": _env("SMTP_TLS", "starttls"),
                  "subject": _env("SMTP_SUBJECT", "阳光票决通知")},
        "dingtalk": {}, "wecom": {},
    }
    for name, entry in channels.items():
        rate = _env(f"NOTICE_RATE_{name.upper()}", rates[name])
        try:
            entry["rate"] = float(rate or "")
            entry["timeout"] = float(timeout or "")
        except ValueError:
            raise RuntimeError(f"{ENV_PREFIX}NOTICE_RATE_{name.upper()} and "
                               f"{ENV_PREFIX}NOTICE_TIMEOUT must be numbers") from None
        if entry["rate"] <= 0 or entry["timeout"] <= 0:
            raise RuntimeError(f"{ENV_PREFIX}NOTICE_RATE_{name.upper()} and "
                               f"{ENV_PREFIX}NOTICE_TIMEOUT must be above 0")
    return channels


def ice_servers(text: str | None) -> list[dict[str, Any]]:
    """SUNVOTE_ICE_SERVERS (see load_config), checked for shape: a malformed value stops
    start-up naming the variable, rather than every video call failing later."""
    if not text:
        return []
    try:
        servers = json.loads(text)
    except ValueError:
        raise RuntimeError(f"{ENV_PREFIX}ICE_SERVERS is not JSON") from None
    def url_ok(url: object) -> bool:
        return isinstance(url, str) and url.split(":", 1)[0] in ("stun", "stuns", "turn", "turns")
    if not isinstance(servers, list) or not all(
            isinstance(s, dict) and set(s) <= {"urls", "username", "credential"}
            and (url_ok(s.get("urls")) or (isinstance(s.get("urls"), list) and s["urls"]
                                           and all(url_ok(u) for u in s["urls"])))
            and all(isinstance(s.get(k, ""), str) for k in ("username", "credential"))
            for s in servers):
        raise RuntimeError(f"{ENV_PREFIX}ICE_SERVERS: expected a JSON list of "
                           "{\"urls\": \"stun:…\"|\"turn:…\"|[…], \"username\": …, "
                           "\"credential\": …}")
    return servers


def ice_transport_policy(value: str | None) -> str:
    """SUNVOTE_ICE_TRANSPORT_POLICY: all or relay."""
    if value not in ("all", "relay"):
        raise RuntimeError(f"{ENV_PREFIX}ICE_TRANSPORT_POLICY must be all or relay, not {value!r}")
    return value


def janus_url(value: str | None) -> str | None:
    """SUNVOTE_JANUS_URL: an http(s) URL of Janus's HTTP API, or unset (mesh)."""
    if not value:
        return None
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        raise RuntimeError(f"{ENV_PREFIX}JANUS_URL must be Janus's HTTP API, like "
                           f"http://127.0.0.1:8088/janus, not {value!r}")
    return value.rstrip("/")


def notice_robots(path: str | None) -> dict[str, dict[str, dict[str, str]]]:
    """The group robots of SUNVOTE_NOTICE_ROBOTS (see load_config), checked for shape."""
    if not path:
        return {}
    robots = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(robots, dict) or not all(
            isinstance(v, dict) and set(v) <= {"dingtalk", "wecom"}
            and all(isinstance(r, dict) and isinstance(r.get("url"), str) for r in v.values())
            for v in robots.values()):
        raise RuntimeError("SUNVOTE_NOTICE_ROBOTS: expected {village code: {\"dingtalk\"|"
                           "\"wecom\": {\"url\": …, \"secret\": …}}}")
    return robots


def setting_defaults() -> dict[str, object]:
    """Township-setting defaults overridden from the environment, validated like any setting."""
    overrides: dict[str, object] = {}
    for spec in SETTINGS:
        raw = _env("DEFAULT_" + spec.key.upper().replace(".", "_"))
        if raw is not None:
            overrides[spec.key] = validate_setting(spec.key, raw)
    return overrides


def positive_int(name: str, default: int) -> int:
    """SUNVOTE_<name> as a whole number of at least 1 (``default`` when unset)."""
    raw = _env(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        raise RuntimeError(f"{ENV_PREFIX}{name} must be a whole number of at least 1, not {raw!r}")
    return int(raw)


def normalise_database_url(url: str) -> str:
    """Let operators write postgres:// or postgresql:// and still get the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class StartupRefused(RuntimeError):
    """The instance must not start: ``refusal`` says why (rule code and message)."""

    def __init__(self, refusal: DomainError) -> None:
        self.refusal = refusal
        super().__init__(refusal_text(refusal))


def refusal_text(refusal: DomainError) -> str:
    """``[rule] 中文 / English``: for start-up and the CLI, where no request picks a language."""
    from babel.support import Translations

    english = Translations.load(str(Path(__file__).resolve().parent / "translations"), ["en"])
    return (f"[{refusal.rule}] {refusal.render(lambda s: s)} / "
            f"{refusal.render(english.gettext)}")


def secret(name: str, instance: Path, filename: str, *, create: bool = True) -> str | None:
    """SUNVOTE_<name> if set, else the secret kept in the instance folder (created on first use
    when ``create``; None when missing and not ``create``). Empty values are refused."""
    value = os.environ.get(ENV_PREFIX + name)
    if value is not None:
        refusal = empty_secret(ENV_PREFIX + name, value)
        if refusal is not None:
            raise StartupRefused(refusal)
        return value
    path = instance / filename
    if not path.exists() and not create:
        return None
    return instance_secret(instance, filename)


def instance_secret(instance: Path, name: str) -> str:
    """Read a secret kept in the instance folder, creating it (mode 0600) on first use; an empty
    file is refused (it would be an empty key)."""
    path = instance / name
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(secrets.token_urlsafe(48))
    value = path.read_text(encoding="ascii").strip()
    refusal = empty_secret(str(path), value)
    if refusal is not None:
        raise StartupRefused(refusal)
    return value


def instance_origin_prefix(instance: Path) -> str:
    """This installation's random origin prefix, created on first use in the instance folder."""
    path = instance / "log_origin_prefix"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(f"sunvote-{secrets.token_hex(8)}\n")
    return path.read_text(encoding="ascii").strip()
