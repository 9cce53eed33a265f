"""Suggestions after intake (step 1): where one stands, who may decline it and why, the private
follow code given to a villager who suggested on the public form (docs/public-board.md)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from enum import StrEnum

from sunvote.domain.errors import N_, Conflict, DomainError, NotPermitted
from sunvote.domain.roles import Role
from sunvote.domain.text import clean_text


class SuggestionStatus(StrEnum):
    """Where a suggestion stands: received, taken into a matter, or not taken up."""

    RECEIVED = "received"
    TAKEN = "taken"
    DECLINED = "declined"


STATUS_LABELS: dict[SuggestionStatus, str] = {
    SuggestionStatus.RECEIVED: N_("已收到，待处理"),
    SuggestionStatus.TAKEN: N_("已纳入事项"),
    SuggestionStatus.DECLINED: N_("未采纳"),
}

#: Who may decline a suggestion: those who run the village's step 1 (the township's reviewer may
#: open a matter on assignment, but does not answer villagers' suggestions for the village).
DECLINERS = frozenset({Role.CLERK, Role.COMMITTEE_DIRECTOR, Role.PARTY_SECRETARY})

#: The longest reason, in characters.
REASON_MAX = 500

#: Wrong follow codes (or unknown numbers) one address may try in FOLLOW_MINUTES minutes.
FOLLOW_FAILURES = 10
FOLLOW_MINUTES = 15

#: The follow code's alphabet: lowercase letters and digits without 0/o, 1/l/i (read aloud,
#: typed from paper); 16 of them are about 79 bits.
CODE_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
CODE_LENGTH = 16


def status_of(merged: bool, declined: bool) -> SuggestionStatus:
    """The status of a suggestion that is (or is not) merged into a matter or declined."""
    if merged:
        return SuggestionStatus.TAKEN
    if declined:
        return SuggestionStatus.DECLINED
    return SuggestionStatus.RECEIVED


def open_refusal(status: SuggestionStatus) -> Conflict | None:
    """Why the suggestion may no longer be taken into a matter or declined, or None: a
    suggestion is answered once, by a matter or by a reason."""
    if status is SuggestionStatus.TAKEN:
        return Conflict("suggestion.answered", N_("该建议已经并入事项，不能再处理"))
    if status is SuggestionStatus.DECLINED:
        return Conflict("suggestion.answered", N_("该建议已答复为未采纳，不能再处理"))
    return None


def decline_refusal(roles: frozenset[Role] | set[Role],
                    status: SuggestionStatus) -> DomainError | None:
    """Why these roles may not decline a suggestion in this status, or None (the page shows
    the decline form only when this is None for some pending suggestion)."""
    if not roles & DECLINERS:
        return NotPermitted("suggestion.decline",
                            N_("只有村务工作者、村委会主任或村党支部书记可以答复建议未采纳"))
    return open_refusal(status)


def check_reason(reason: object) -> str:
    """The reason for not taking a suggestion up: required, one to REASON_MAX characters."""
    text = clean_text(reason, N_("未采纳理由"), max_length=REASON_MAX, multiline=True)
    assert text is not None
    return text


def normalise_code(text: object) -> str:
    """A follow code as typed: case, spaces and hyphens do not matter; "" if not text."""
    if not isinstance(text, str):
        return ""
    return "".join(ch for ch in text.lower() if ch not in " -\t")[:64]


def new_code(choice: Callable[[str], str]) -> str:
    """A new follow code; ``choice`` picks one character (``secrets.choice``)."""
    return "".join(choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def code_hash(code: str) -> str:
    """What is stored of a follow code: its SHA-256 (the code has 79 bits; the table never
    holds the code itself)."""
    return hashlib.sha256(f"sunvote-suggestion-follow:{code}".encode()).hexdigest()


def code_matches(code: object, stored_hash: str | None) -> bool:
    """Whether the typed ``code`` is the one whose hash was stored (constant time)."""
    typed = normalise_code(code)
    if stored_hash is None or len(typed) != CODE_LENGTH:
        return False
    return hmac.compare_digest(code_hash(typed), stored_hash)


def format_code(code: str) -> str:
    """The code in groups of four, to read and type: ``abcd-efgh-jkmn-pqrs``."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))
