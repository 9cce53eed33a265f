"""The channels the sender delivers notices on (issue 18), one module per protocol: Alibaba Cloud
SMS and Tencent Cloud SMS (their official SDKs), the DingTalk and WeCom group robots (signed
webhooks), and e-mail over SMTP. Each module has ``deliver(outgoing, config) -> Outcome``.

A delivery ends in one of three outcomes: ``sent`` (the provider accepted it; its reference
kept), ``retry`` (a passing failure: timeout, 5xx, rate limited, the provider's own trouble),
``rejected`` (the provider refused this recipient, with its code: the notice fails visibly).
Which provider codes mean which is decided in each channel module, next to the protocol.

Nothing here touches the database: the sender (services/notice_sender.py) hands each delivery a
plain :class:`Outgoing` taken from the notice row, outside any transaction.
"""

from __future__ import annotations

from typing import Any

from sunvote.services.channels import dingtalk, email, sms_alibaba, sms_tencent, wecom
from sunvote.services.channels.base import (
    REJECTED,
    REQUIRED,
    RETRY,
    SENT,
    NotConfigured,
    Outcome,
    Outgoing,
    configured,
    message_text,
    rejected,
    retry,
    sent,
)

__all__ = ["REJECTED", "REQUIRED", "RETRY", "SENT", "NotConfigured", "Outcome", "Outgoing",
           "configured", "deliver", "message_text", "rejected", "retry", "sent"]


def deliver(provider: str, outgoing: Outgoing, config: dict[str, Any]) -> Outcome:
    """Deliver ``outgoing`` through ``provider`` (alibaba, tencent, email, dingtalk, wecom) with
    ``config`` (app.config["NOTICE_CHANNELS"]'s entry for it, or the village's robot entry).
    Raises NotConfigured when the provider has no credentials."""
    modules = {"alibaba": sms_alibaba, "tencent": sms_tencent, "email": email,
               "dingtalk": dingtalk, "wecom": wecom}
    outcome: Outcome = modules[provider].deliver(outgoing, config)
    return outcome
