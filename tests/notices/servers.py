"""Local stand-ins for the notice providers, started by the tests on port 0: an SMTP server
(aiosmtpd) and HTTP servers for Alibaba Cloud SMS, Tencent Cloud SMS, the DingTalk robot and the
WeCom robot. Each HTTP server recomputes the provider's documented request signature from the
request it received and its own copy of the secret — written here from the providers' documents,
independently of the clients (SDKs or sunvote/services/channels) — compares it byte for byte,
and answers as the provider does: success bodies and its error codes.

Each can be told to answer 5xx or time out (``fail``: a list of faults for the next requests,
or ``always``), to reject one number (``reject``), or to be slow (``delay``). ``keys`` counts
every idempotency key (Alibaba OutId, Tencent SessionContext, Message-ID, the robot's message
text) the server accepted, so that a test can check none arrived twice.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def _rfc3986(value: str) -> str:
    return urllib.parse.quote(value, safe="-_.~")


# --- The providers' signatures, as their documents give them ----------------------------------


def alibaba_signature_error(method: str, target: str, headers: Any, body: bytes,
                            key_id: str, secret: str) -> str | None:
    """Alibaba Cloud's V3 signature (ACS3-HMAC-SHA256): None if the request carries the
    signature recomputed here, else why not.

    CanonicalRequest = method \\n "/" \\n sorted RFC 3986-encoded query \\n each signed header
    "name:value\\n" \\n signed header names joined by ";" \\n hex SHA-256 of the body;
    signature = hex HMAC-SHA256(secret, "ACS3-HMAC-SHA256\\n" + hex SHA-256(CanonicalRequest))."""
    auth = headers.get("Authorization", "")
    if not auth.startswith("ACS3-HMAC-SHA256 "):
        return "no ACS3-HMAC-SHA256 authorization"
    parts = dict(item.split("=", 1) for item in auth.removeprefix("ACS3-HMAC-SHA256 ")
                 .split(","))
    signed = parts.get("SignedHeaders", "").split(";")
    if parts.get("Credential") != key_id:
        return "unknown access key"
    needed = {"host", "x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce",
              "x-acs-content-sha256"}
    if not needed <= set(signed) or signed != sorted(signed):
        return "signed headers incomplete"
    if headers.get("x-acs-content-sha256") != _sha256(body):
        return "body hash"
    url = urllib.parse.urlsplit(target)
    query = sorted(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
    canonical = "\n".join([
        method, url.path or "/",
        "&".join(f"{_rfc3986(k)}={_rfc3986(v)}" for k, v in query),
        "".join(f"{name}:{headers.get(name, '').strip()}\n" for name in signed),
        ";".join(signed), _sha256(body)])
    string_to_sign = "ACS3-HMAC-SHA256\n" + _sha256(canonical.encode())
    expected = hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()
    return None if hmac.compare_digest(expected, parts.get("Signature", "")) else "signature"


def tencent_signature_error(headers: Any, body: bytes, secret_id: str,
                            secret_key: str) -> str | None:
    """Tencent Cloud's TC3-HMAC-SHA256 (API 3.0, POST): None if the request carries the
    signature recomputed here, else why not.

    CanonicalRequest = "POST\\n/\\n\\n" + each signed header "name:value\\n" (lower case) + "\\n"
    + signed names + "\\n" + hex SHA-256 of the body; StringToSign = "TC3-HMAC-SHA256\\n" +
    timestamp + "\\n" + date/sms/tc3_request + "\\n" + hex SHA-256(CanonicalRequest); the key is
    HMAC chained over "TC3"+SecretKey, the UTC date, "sms", "tc3_request"."""
    auth = headers.get("Authorization", "")
    if not auth.startswith("TC3-HMAC-SHA256 "):
        return "no TC3-HMAC-SHA256 authorization"
    parts = dict(item.strip().split("=", 1) for item in auth.removeprefix("TC3-HMAC-SHA256 ")
                 .split(","))
    timestamp = headers.get("X-TC-Timestamp", "")
    date = dt.datetime.fromtimestamp(int(timestamp or 0), dt.UTC).strftime("%Y-%m-%d")
    if parts.get("Credential") != f"{secret_id}/{date}/sms/tc3_request":
        return "credential"
    if abs(time.time() - int(timestamp or 0)) > 300:
        return "timestamp"
    signed = parts.get("SignedHeaders", "").split(";")
    if not {"content-type", "host"} <= set(signed):
        return "signed headers incomplete"
    canonical = "\n".join([
        "POST", "/", "",
        "".join(f"{name}:{headers.get(name, '').strip().lower()}\n" for name in signed),
        ";".join(signed), _sha256(body)])
    string_to_sign = "\n".join(["TC3-HMAC-SHA256", timestamp, f"{date}/sms/tc3_request",
                                _sha256(canonical.encode())])
    key = _hmac(_hmac(_hmac(("TC3" + secret_key).encode(), date), "sms"), "tc3_request")
    expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return None if hmac.compare_digest(expected, parts.get("Signature", "")) else "signature"


def dingtalk_signature_error(target: str, secret: str) -> str | None:
    """The DingTalk robot's sign: the raw ``sign`` query value must be, byte for byte,
    urlencode(base64(HMAC-SHA256(secret, timestamp + "\\n" + secret))), with a timestamp (ms)
    within an hour of now."""
    raw = dict(item.split("=", 1) for item in urllib.parse.urlsplit(target).query.split("&")
               if "=" in item)
    timestamp = raw.get("timestamp", "")
    if not timestamp.isdigit() or abs(time.time() * 1000 - int(timestamp)) > 3600_000:
        return "timestamp"
    digest = _hmac(secret.encode(), f"{timestamp}\n{secret}")
    expected = urllib.parse.quote_plus(base64.b64encode(digest).decode())
    return None if hmac.compare_digest(expected, raw.get("sign", "")) else "sign"


# --- The HTTP providers -------------------------------------------------------------------------


class Provider:
    """One provider's local server. ``kind``: alibaba, tencent, dingtalk or wecom."""

    def __init__(self, kind: str, **secrets: str) -> None:
        self.kind = kind
        self.secrets = secrets
        self.fail: list[str] = []  # faults for the next requests: "5xx" or "timeout"
        self.always: str | None = None  # a fault for every request
        self.reject: set[str] = set()  # numbers refused as invalid
        self.reject_whole = False  # Tencent: refuse with an Error answer, not a SendStatus
        self.delay = 0.0  # seconds before answering a good request
        self.hang = 3.0  # how long a "timeout" fault keeps the client waiting
        self.keys: Counter[str] = Counter()  # idempotency keys accepted
        self.bad_signatures = 0
        self.requests = 0
        self.messages: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> Provider:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _fault(self) -> str | None:
        with self.lock:
            self.requests += 1
            if self.fail:
                return self.fail.pop(0)
            return self.always

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fault = provider._fault()
                if fault == "timeout":
                    time.sleep(provider.hang)
                    return
                if fault == "5xx":
                    self._answer(503, {"message": "Service Unavailable"})
                    return
                status, answer = getattr(provider, f"_{provider.kind}")(self, body)
                self._answer(status, answer)

            def _answer(self, status: int, answer: dict[str, Any]) -> None:
                data = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    # As each provider labels it (the Tencent SDK reads errors only from
                    # "application/json").
                    self.send_header("Content-Type", "application/json" if provider.kind
                                     == "tencent" else "application/json;charset=utf-8")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up (its timeout, or a killed sender)
                    pass

        return Handler

    def _accept(self, key: str, message: dict[str, Any]) -> None:
        with self.lock:
            self.keys[key] += 1
            self.messages.append(message)
        if self.delay:
            time.sleep(self.delay)

    def _bad(self) -> None:
        with self.lock:
            self.bad_signatures += 1

    def _alibaba(self, request: BaseHTTPRequestHandler, body: bytes) -> tuple[int, dict]:
        if alibaba_signature_error("POST", request.path, request.headers, body,
                                   self.secrets["key_id"], self.secrets["secret"]):
            self._bad()
            return 400, {"RequestId": "r", "Code": "SignatureDoesNotMatch",
                         "Message": "Specified signature is not matched with our calculation."}
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(request.path).query))
        if request.headers.get("x-acs-action") != "SendSms":
            return 400, {"Code": "InvalidAction.NotFound", "Message": "action"}
        if query.get("PhoneNumbers") in self.reject:
            return 200, {"RequestId": "r", "Code": "isv.MOBILE_NUMBER_ILLEGAL",
                         "Message": "非法手机号"}
        self._accept(query.get("OutId", ""), query)
        return 200, {"RequestId": "r", "Code": "OK", "Message": "OK",
                     "BizId": f"biz-{_sha256(query.get('OutId', '').encode())[:12]}"}

    def _tencent(self, request: BaseHTTPRequestHandler, body: bytes) -> tuple[int, dict]:
        if tencent_signature_error(request.headers, body, self.secrets["secret_id"],
                                   self.secrets["secret_key"]):
            self._bad()
            return 200, {"Response": {"Error": {
                "Code": "AuthFailure.SignatureFailure",
                "Message": "The provided credentials could not be validated."},
                "RequestId": "r"}}
        payload = json.loads(body)
        number = payload["PhoneNumberSet"][0]
        if number.removeprefix("+86") in self.reject:
            if self.reject_whole:
                return 200, {"Response": {"Error": {
                    "Code": "InvalidParameterValue.IncorrectPhoneNumber",
                    "Message": "手机号格式错误"}, "RequestId": "r"}}
            return 200, {"Response": {"SendStatusSet": [{
                "SerialNo": "", "PhoneNumber": number, "Fee": 0,
                "SessionContext": payload.get("SessionContext", ""),
                "Code": "FailedOperation.PhoneNumberInBlacklist",
                "Message": "phone number in blacklist", "IsoCode": "CN"}], "RequestId": "r"}}
        self._accept(payload.get("SessionContext", ""), payload)
        return 200, {"Response": {"SendStatusSet": [{
            "SerialNo": f"2019:{_sha256(payload['SessionContext'].encode())[:12]}",
            "PhoneNumber": number, "Fee": 1, "SessionContext": payload["SessionContext"],
            "Code": "Ok", "Message": "send success", "IsoCode": "CN"}], "RequestId": "r"}}

    def _dingtalk(self, request: BaseHTTPRequestHandler, body: bytes) -> tuple[int, dict]:
        if dingtalk_signature_error(request.path, self.secrets["secret"]):
            self._bad()
            return 200, {"errcode": 310000, "errmsg": "sign not match"}
        payload = json.loads(body)
        if payload.get("msgtype") != "text":
            return 200, {"errcode": 40035, "errmsg": "缺少参数 msgtype"}
        self._accept(payload["text"]["content"], payload)
        return 200, {"errcode": 0, "errmsg": "ok"}

    def _wecom(self, request: BaseHTTPRequestHandler, body: bytes) -> tuple[int, dict]:
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(request.path).query))
        if (urllib.parse.urlsplit(request.path).path != "/cgi-bin/webhook/send"
                or not hmac.compare_digest(query.get("key", ""), self.secrets["key"])):
            self._bad()
            return 200, {"errcode": 93000, "errmsg": "invalid webhook url"}
        payload = json.loads(body)
        if payload.get("msgtype") != "text":
            return 200, {"errcode": 40008, "errmsg": "invalid message type"}
        self._accept(payload["text"]["content"], payload)
        return 200, {"errcode": 0, "errmsg": "ok"}


@contextmanager
def provider(kind: str, **secrets: str) -> Iterator[Provider]:
    server = Provider(kind, **secrets).start()
    try:
        yield server
    finally:
        server.stop()


# --- SMTP ---------------------------------------------------------------------------------------


class Mailbox:
    """aiosmtpd handler: keeps each message, counts Message-IDs, refuses ``reject``
    addresses at RCPT with 550."""

    def __init__(self) -> None:
        self.reject: set[str] = set()
        self.messages: list[Envelope] = []
        self.keys: Counter[str] = Counter()

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if address in self.reject:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        from email import message_from_bytes

        content = envelope.content if isinstance(envelope.content, bytes) else b""
        message = message_from_bytes(content)
        self.keys[str(message["Message-ID"])] += 1
        self.messages.append(envelope)
        return "250 Message accepted for delivery"


class PortZeroController(Controller):
    """aiosmtpd's threaded controller on port 0: the port the system gave is read back before
    the controller's own readiness check connects to it."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    controller = PortZeroController(mailbox, hostname="127.0.0.1", port=0)
    controller.start()
    try:
        yield mailbox, controller.port
    finally:
        controller.stop()
