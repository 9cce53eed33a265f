"""The DingTalk group robot (自定义机器人): a signed webhook. The request adds ``timestamp``
(milliseconds) and ``sign`` = urlencode(base64(HMAC-SHA256(secret, "timestamp\\nsecret"))) to
the webhook URL and posts ``{"msgtype": "text", "text": {"content": …}}``; the answer is
``{"errcode": 0, "errmsg": "ok"}``. The robot takes no idempotency key."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import urllib.parse
from typing import Any

from sunvote.services.channels.base import NotConfigured, Outcome, Outgoing
from sunvote.services.channels.webhook import post_text

#: 130101: sent too fast (20 a minute per robot); 310000 covers a wrong signature, a stale
#: timestamp or a keyword/IP rule: the robot's settings being fixed, so tried again.
RETRY_ERRCODES = frozenset({130101, 310000, -1})


def signed_url(url: str, secret: str, timestamp_ms: int) -> str:
    """The webhook URL with DingTalk's ``timestamp`` and ``sign``."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(),
                      hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest))
    return f"{url}{'&' if '?' in url else '?'}timestamp={timestamp_ms}&sign={sign}"


def deliver(outgoing: Outgoing, config: dict[str, Any]) -> Outcome:
    if not config.get("url"):
        raise NotConfigured("dingtalk")
    url = config["url"]
    if config.get("secret"):
        url = signed_url(url, config["secret"], int(time.time() * 1000))
    return post_text(url, outgoing.message, float(config.get("timeout", 10)), "dingtalk",
                     RETRY_ERRCODES)
