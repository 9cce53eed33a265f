"""What every channel shares: the notice as a channel sees it (:class:`Outgoing`), the outcome
of a delivery, the message text, and which settings each provider needs."""

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
