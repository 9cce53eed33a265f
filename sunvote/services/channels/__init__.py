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

from dataclasses import dataclass
from typing import Any, Literal

SENT: Literal["sent"] = "sent"
RETRY: Literal["retry"] = "retry"
REJECTED: Literal["rejected"] = "rejected"


@dataclass(frozen=True)
class Outgoing:
    """One notice as a channel sees it: its idempotency key, where it goes (a phone number, an
    e-mail address, or the village code of a group robot), and the whole message."""

    notice_id: int
    key: str
    channel: str
    address: str
    message: str


@dataclass(frozen=True)
class Outcome:
    """What came of one delivery: ``kind`` is sent, retry or rejected; ``ref`` the provider's
    reference of a sent message; ``detail`` the provider's code and words (kept, cut to fit)."""

    kind: Literal["sent", "retry", "rejected"]
    ref: str | None = None
    detail: str | None = None


def sent(ref: str | None) -> Outcome:
    return Outcome(SENT, ref=(ref or "")[:120] or None)


def retry(detail: str) -> Outcome:
    return Outcome(RETRY, detail=detail[:300])


def rejected(detail: str) -> Outcome:
    return Outcome(REJECTED, detail=detail[:300])


def message_text(text: str, base_url: str | None, link: str) -> str:
    """What every channel sends: the notice's text, then the absolute link of the page that acts
    on it (SUNVOTE_BASE_URL + the notice's path)."""
    base = (base_url or "").rstrip("/")
    return f"{text} {base}{link}" if link else text


class NotConfigured(Exception):
    """The channel has no credentials: its notices stay queued (never dropped)."""


def provider_for(channel: str, sms_provider: str) -> str:
    """The provider a notice on ``channel`` goes to (an SMS: the township's setting)."""
    return sms_provider if channel == "sms" else channel


#: The settings each provider cannot deliver without.
REQUIRED: dict[str, tuple[str, ...]] = {
    "alibaba": ("access_key_id", "access_key_secret", "sign_name", "template_code"),
    "tencent": ("secret_id", "secret_key", "sdk_app_id", "sign_name", "template_id"),
    "email": ("host", "from"),
    "dingtalk": ("url",),
    "wecom": ("url",),
}


def configured(provider: str, config: dict[str, Any] | None) -> bool:
    """Whether ``provider`` has what it needs to deliver (else its notices wait, queued)."""
    return config is not None and all(config.get(name) for name in REQUIRED[provider])


def deliver(provider: str, outgoing: Outgoing, config: dict[str, Any]) -> Outcome:
    """Deliver ``outgoing`` through ``provider`` (alibaba, tencent, email, dingtalk, wecom) with
    ``config`` (app.config["NOTICE_CHANNELS"]'s entry for it, or the village's robot entry).
    Raises NotConfigured when the provider has no credentials."""
    from sunvote.services.channels import dingtalk, email, sms_alibaba, sms_tencent, wecom

    modules = {"alibaba": sms_alibaba, "tencent": sms_tencent, "email": email,
               "dingtalk": dingtalk, "wecom": wecom}
    outcome: Outcome = modules[provider].deliver(outgoing, config)
    return outcome
