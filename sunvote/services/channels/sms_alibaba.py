"""Alibaba Cloud SMS (Dysmsapi 2017-05-25, SendSms) through Alibaba's official SDK
(alibabacloud_dysmsapi20170525): it signs each request with the ACS3-HMAC-SHA256 signature.
The endpoint is configurable (``dysmsapi.aliyuncs.com`` in production; a local server in tests,
with protocol http). The notice's idempotency key goes as OutId (Alibaba returns it with the
delivery receipt; it does not deduplicate on it)."""

from __future__ import annotations

import json
from typing import Any

from sunvote.services.channels.base import NotConfigured, Outcome, Outgoing, rejected, retry, sent

#: Codes that refuse this one number: the notice fails, naming the code.
REJECT_CODES = frozenset({
    "isv.MOBILE_NUMBER_ILLEGAL", "isv.MOBILE_COUNT_OVER_LIMIT", "isv.BLACK_KEY_CONTROL_LIMIT",
    "isv.PARAM_LENGTH_LIMIT", "isv.INVALID_PARAMETERS", "isv.DENY_IP_RANGE",
})
#: Codes that pass: throttling, the provider's own trouble, or credentials being fixed. The
#: notice is tried again with backoff (domain.notices.retry_delay), and fails after the last try.
RETRY_CODES = frozenset({
    "isv.BUSINESS_LIMIT_CONTROL", "isv.DAY_LIMIT_CONTROL", "Throttling", "Throttling.User",
    "isp.SYSTEM_ERROR", "isp.RAM_PERMISSION_DENY", "isv.OUT_OF_SERVICE", "isv.AMOUNT_NOT_ENOUGH",
    "SignatureDoesNotMatch", "InvalidAccessKeyId.NotFound", "isv.SMS_SIGNATURE_ILLEGAL",
    "isv.SMS_TEMPLATE_ILLEGAL", "isv.TEMPLATE_MISSING_PARAMETERS", "ServiceUnavailable",
})


def classify(code: str, message: str) -> Outcome:
    """An answer that is not OK: retry or rejected (an unknown code rejects, visibly)."""
    detail = f"alibaba {code}: {message}"
    return retry(detail) if code in RETRY_CODES or code.startswith("isp.") else rejected(detail)


def deliver(outgoing: Outgoing, config: dict[str, Any]) -> Outcome:
    if not config.get("access_key_id") or not config.get("access_key_secret"):
        raise NotConfigured("alibaba")
    from alibabacloud_dysmsapi20170525 import models
    from alibabacloud_dysmsapi20170525.client import Client
    from alibabacloud_tea_openapi.utils_models import Config
    from darabonba.runtime import RuntimeOptions

    endpoint: str = config.get("endpoint") or "dysmsapi.aliyuncs.com"
    protocol = "http" if endpoint.startswith("http://") else "https"
    client = Client(Config(access_key_id=config["access_key_id"],
                           access_key_secret=config["access_key_secret"],
                           endpoint=endpoint.removeprefix("http://").removeprefix("https://"),
                           protocol=protocol))
    timeout_ms = int(float(config.get("timeout", 10)) * 1000)
    request = models.SendSmsRequest(
        phone_numbers=outgoing.address, sign_name=config.get("sign_name"),
        template_code=config.get("template_code"),
        template_param=json.dumps({config.get("template_param") or "content": outgoing.message},
                                  ensure_ascii=False),
        out_id=outgoing.key)
    try:
        response = client.send_sms_with_options(request, RuntimeOptions(
            read_timeout=timeout_ms, connect_timeout=timeout_ms, autoretry=False,
            max_attempts=1))
    except Exception as exc:  # network, timeout, 5xx, or an error answer the SDK raises
        code = getattr(exc, "code", None)
        status = getattr(exc, "status_code", None) or getattr(exc, "statusCode", None)
        message = str(getattr(exc, "message", None) or exc)[:200]
        if code and isinstance(status, int) and status < 500:
            return classify(str(code), message)
        return retry(f"alibaba {status or type(exc).__name__}: {code or ''} {message}".strip())
    body = response.body
    if body is None or body.code is None:
        return retry("alibaba: answer without a code")
    if body.code == "OK":
        return sent(body.biz_id)
    return classify(body.code, body.message or "")
