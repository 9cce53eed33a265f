"""The WeCom (企业微信) group robot: its webhook URL carries the robot's key
(``…/cgi-bin/webhook/send?key=…``); it takes ``{"msgtype": "text", "text": {"content": …}}``
and answers ``{"errcode": 0, "errmsg": "ok"}``. No signature and no idempotency key."""

from __future__ import annotations

from typing import Any

from sunvote.services.channels.base import NotConfigured, Outcome, Outgoing
from sunvote.services.channels.webhook import post_text

#: 45009: over the robot's limit (20 a minute); -1: system busy; 93000: the webhook key is
#: wrong or the robot was removed (being fixed).
RETRY_ERRCODES = frozenset({45009, -1, 93000})


def deliver(outgoing: Outgoing, config: dict[str, Any]) -> Outcome:
    if not config.get("url"):
        raise NotConfigured("wecom")
    return post_text(config["url"], outgoing.message, float(config.get("timeout", 10)), "wecom",
                     RETRY_ERRCODES)
