"""The sender (issue 18): delivers the outbox that events wrote (services/notices.py), and never
loses or doubles a notice. docs/notice-sender.md describes it; `sunvote notices send` runs it.

Each round:

1. **Sweep.** A notice left ``sending`` past its lease (``claimed_until``) belonged to a sender
   that stopped. If that sender had not yet begun delivering it (its attempt still ``claimed``),
   it goes back to ``queued``: it never left the process. If it had begun (attempt
   ``delivering``), nobody knows whether the provider got it: it becomes ``unknown``, which is
   never sent again by itself (that could send it twice); the clerk decides.
2. **Claim.** In one short transaction, the due notices (``queued``, ``next_attempt_at``
   passed), oldest first, up to the batch: on PostgreSQL ``SELECT … FOR UPDATE SKIP LOCKED``,
   so that two senders never take the same row; SQLite has one writer at a time
   (``BEGIN IMMEDIATE``). Each row's state changes from ``queued`` to ``sending`` only if it is
   still ``queued`` (checked by the UPDATE itself), with a lease and an attempt row
   (``claimed``). A notice whose provider has no credentials stays ``queued``, put back a
   minute, and the sender logs it.
3. **Deliver**, one notice at a time, outside any transaction, each provider no faster than its
   rate (a token bucket in this process). Just before a notice goes out its attempt is marked
   ``delivering`` in its own small transaction; a notice whose lease would run out during the
   request is released instead.
4. **Record** the outcome in a new transaction: ``sent`` (sent_at, the provider's reference),
   ``retry`` (attempts + 1, the next try after domain.notices.retry_delay, or ``failed`` when no
   try is left) or ``rejected`` (``failed``, the provider's code in last_error).

The event that wrote a notice is never touched: its transaction committed long before.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sunvote.domain.notices import SENT_CHANNELS, NoticeChannel, NoticeState, retry_delay
from sunvote.extensions import db
from sunvote.models import Notice, NoticeAttempt
from sunvote.models.base import utcnow
from sunvote.services import channels
from sunvote.services.channels import NotConfigured, Outcome, Outgoing
from sunvote.services.settings import township_settings
from sunvote.services.unit_of_work import WRITE_OPTION

log = logging.getLogger("sunvote.notices")

#: How long a notice whose provider has no credentials waits before it is looked at again.
NOT_CONFIGURED_WAIT = dt.timedelta(minutes=1)

# The attempt row's outcome while the notice is ``sending``.
CLAIMED = "claimed"  # taken by a sender, not yet handed to the provider
DELIVERING = "delivering"  # being handed to the provider now


def write_transaction() -> Session:
    """The session, in a new transaction that may write (SQLite: BEGIN IMMEDIATE, holding the
    write lock from its first read). A read-only transaction left open is ended first."""
    session = db.session()
    if session.in_transaction():
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("unsaved changes before the sender's transaction")
        session.rollback()
    session.connection(execution_options={WRITE_OPTION: True})
    return session


class TokenBucket:
    """At most ``rate`` messages a second on average, bursts of up to ``capacity``."""

    def __init__(self, rate: float, capacity: float | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.rate = rate
        self.capacity = capacity if capacity is not None else max(1.0, rate)
        self.tokens = self.capacity
        self.clock, self.sleep = clock, sleep
        self.last = clock()

    def take(self) -> float:
        """Take one token, waiting for it if need be; returns the seconds waited."""
        waited = 0.0
        while True:
            now = self.clock()
            self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
            self.last = now
            # A token refilled by exactly the pause may fall short of 1 by rounding; once the
            # pause is too small to move the clock, waiting longer would never end.
            if self.tokens >= 1 - 1e-9:
                self.tokens = max(0.0, self.tokens - 1)
                return waited
            pause = (1 - self.tokens) / self.rate
            self.sleep(pause)
            waited += pause


@dataclass
class Claim:
    """A notice this sender holds: what to send, through which provider, and its lease."""

    outgoing: Outgoing
    provider: str
    config: dict[str, Any]
    attempt_id: int
    claimed_until: dt.datetime


@dataclass
class Round:
    """What one round did, by outcome."""

    swept_unknown: int = 0
    swept_queued: int = 0
    claimed: int = 0
    waiting: int = 0  # provider without credentials
    released: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)


class Sender:
    """Delivers due notices. ``clock`` gives the time (tests move it with time-machine)."""

    def __init__(self, *, batch: int = 20, lease: dt.timedelta = dt.timedelta(minutes=5),
                 clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.batch = batch
        self.lease = lease
        self.clock = clock
        config = current_app.config
        self.base_url: str | None = config.get("BASE_URL")
        self.providers: dict[str, dict[str, Any]] = config.get("NOTICE_CHANNELS") or {}
        self.robots: dict[str, dict[str, dict[str, str]]] = config.get("NOTICE_ROBOTS") or {}
        self.buckets: dict[str, TokenBucket] = {}
        self.stopping = threading.Event()

    # --- configuration ---------------------------------------------------------------------

    def provider_config(self, provider: str, address: str | None) -> dict[str, Any] | None:
        """The settings ``provider`` delivers with: a robot's are the village's (its webhook and
        secret, SUNVOTE_NOTICE_ROBOTS) over the provider's rate and timeout."""
        base = self.providers.get(provider)
        if provider in (NoticeChannel.DINGTALK, NoticeChannel.WECOM):
            robot = self.robots.get(address or "", {}).get(provider)
            return None if robot is None else {**(base or {}), **robot}
        return base

    def bucket(self, provider: str) -> TokenBucket:
        if provider not in self.buckets:
            rate = float((self.providers.get(provider) or {}).get("rate") or 1.0)
            self.buckets[provider] = TokenBucket(rate)
        return self.buckets[provider]

    def timeout(self, config: dict[str, Any]) -> dt.timedelta:
        return dt.timedelta(seconds=float(config.get("timeout", 10)) + 1)

    # --- the round ---------------------------------------------------------------------------

    def run_once(self) -> Round:
        """Sweep, claim one batch, deliver it and record each outcome."""
        result = Round()
        result.swept_queued, result.swept_unknown = self.sweep()
        claims = self.claim(result)
        for claim in claims:
            if self.stopping.is_set():  # asked to stop: what is not begun goes back
                self.release(claim)
                result.released += 1
                continue
            outcome = self.deliver(claim)
            if outcome is None:
                result.released += 1
                continue
            result.outcomes[outcome.kind] = result.outcomes.get(outcome.kind, 0) + 1
        return result

    def drain(self) -> Round:
        """Rounds until no notice is due; the totals."""
        total = Round()
        while not self.stopping.is_set():
            one = self.run_once()
            total.swept_queued += one.swept_queued
            total.swept_unknown += one.swept_unknown
            total.claimed += one.claimed
            total.waiting += one.waiting
            total.released += one.released
            for kind, count in one.outcomes.items():
                total.outcomes[kind] = total.outcomes.get(kind, 0) + count
            if one.claimed == 0 and one.waiting == 0:
                break
        return total

    def serve(self, poll_seconds: float) -> None:
        """The service: drain, wait ``poll_seconds``, again, until :attr:`stopping` is set
        (SIGTERM: the notice being delivered is finished and recorded first)."""
        while not self.stopping.is_set():
            self.drain()
            self.stopping.wait(poll_seconds)

    # --- 1. sweep ------------------------------------------------------------------------------

    def sweep(self) -> tuple[int, int]:
        """Notices left ``sending`` past their lease: back to ``queued`` if their delivery had
        not begun, else ``unknown``. Returns (queued, unknown)."""
        now = self.clock()
        session = write_transaction()
        stale = list(session.execute(
            select(Notice.id, Notice.claimed_until, NoticeAttempt.id, NoticeAttempt.outcome)
            .join(NoticeAttempt, NoticeAttempt.notice_id == Notice.id)
            .where(Notice.state == NoticeState.SENDING, Notice.claimed_until < now,
                   NoticeAttempt.outcome.in_((CLAIMED, DELIVERING)))
            .with_for_update(skip_locked=True, of=Notice)))
        queued = unknown = 0
        for notice_id, token, attempt_id, outcome in stale:
            begun = outcome == DELIVERING
            values: dict[str, Any] = (
                {"state": NoticeState.UNKNOWN,
                 "last_error": "sender stopped during delivery: may or may not have arrived"}
                if begun else {"state": NoticeState.QUEUED, "next_attempt_at": now,
                               "claimed_until": None})
            changed = session.execute(update(Notice).where(
                Notice.id == notice_id, Notice.state == NoticeState.SENDING,
                Notice.claimed_until == token).values(**values)).rowcount  # type: ignore[attr-defined]
            if not changed:
                continue
            session.execute(update(NoticeAttempt).where(NoticeAttempt.id == attempt_id).values(
                outcome="unknown" if begun else "released", finished_at=now))
            if begun:
                unknown += 1
                log.warning("notice %s: sender stopped during its delivery; now unknown "
                            "(not sent again by itself)", notice_id)
            else:
                queued += 1
        session.commit()
        return queued, unknown

    # --- 2. claim ------------------------------------------------------------------------------

    def claim(self, result: Round) -> list[Claim]:
        now = self.clock()
        session = write_transaction()
        rows = list(session.execute(
            select(Notice.id, Notice.key, Notice.channel, Notice.address, Notice.text,
                   Notice.link, Notice.township_id, Notice.attempts)
            .where(Notice.state == NoticeState.QUEUED, Notice.next_attempt_at <= now,
                   Notice.channel.in_(sorted(SENT_CHANNELS)))
            .order_by(Notice.next_attempt_at, Notice.id).limit(self.batch)
            .with_for_update(skip_locked=True, of=Notice)))
        claims: list[Claim] = []
        sms_providers: dict[int | None, str] = {}
        waiting: dict[str, int] = {}
        until = now + self.lease
        for notice_id, key, channel, address, text, link, township_id, attempts in rows:
            provider = str(channel)
            if channel == NoticeChannel.SMS:
                if township_id not in sms_providers:
                    sms_providers[township_id] = str(
                        township_settings(township_id)["notice_sms_provider"]
                        if township_id is not None else "alibaba")
                provider = sms_providers[township_id]
            config = self.provider_config(provider, address)
            if not address or not channels.configured(provider, config):
                session.execute(update(Notice).where(
                    Notice.id == notice_id, Notice.state == NoticeState.QUEUED).values(
                    next_attempt_at=now + NOT_CONFIGURED_WAIT,
                    last_error=f"waiting: {provider} is not configured"))
                waiting[provider] = waiting.get(provider, 0) + 1
                continue
            assert config is not None
            changed = session.execute(update(Notice).where(
                Notice.id == notice_id, Notice.state == NoticeState.QUEUED).values(
                state=NoticeState.SENDING, claimed_until=until)).rowcount  # type: ignore[attr-defined]
            if not changed:  # another sender took it between our read and our write
                continue
            attempt = NoticeAttempt(notice_id=notice_id, number=attempts + 1, started_at=now,
                                    outcome=CLAIMED)
            session.add(attempt)
            session.flush()
            claims.append(Claim(
                Outgoing(notice_id, key, str(channel), address,
                         channels.message_text(text, self.base_url, link)),
                provider, config, attempt.id, until))
        session.commit()
        for provider, count in waiting.items():
            log.warning("%s notices wait on %s: it has no credentials (docs/operations.md, "
                        "Notices); they stay queued", count, provider)
        result.claimed += len(claims)
        result.waiting += sum(waiting.values())
        return claims

    # --- 3. deliver, 4. record -------------------------------------------------------------------

    def deliver(self, claim: Claim) -> Outcome | None:
        """Deliver one claimed notice and record what came of it; None if it was released
        (its lease would run out) instead."""
        self.bucket(claim.provider).take()
        begun = self.clock()
        if begun + self.timeout(claim.config) >= claim.claimed_until or not self.begin(claim):
            self.release(claim)
            return None
        started = time.monotonic()
        try:
            outcome = channels.deliver(claim.provider, claim.outgoing, claim.config)
        except NotConfigured:
            outcome = channels.retry(f"{claim.provider} is not configured")
        except Exception as exc:  # a defect in a channel: kept on the notice, tried again
            log.exception("notice %s: %s failed", claim.outgoing.notice_id, claim.provider)
            outcome = channels.retry(f"{claim.provider} {type(exc).__name__}: {exc}")
        elapsed = time.monotonic() - started
        self.record(claim, outcome)
        log.info("notice %s %s via %s to %s: %s %s (%.0f ms)", claim.outgoing.notice_id,
                 claim.outgoing.key, claim.provider, claim.outgoing.address, outcome.kind,
                 outcome.ref or outcome.detail or "", elapsed * 1000)
        return outcome

    def begin(self, claim: Claim) -> bool:
        """Mark the attempt ``delivering`` (committed before the request leaves): a sender
        stopped from here on leaves the notice ``unknown``. False if the notice is no longer
        this sender's."""
        session = write_transaction()
        ours = session.execute(select(Notice.id).where(
            Notice.id == claim.outgoing.notice_id, Notice.state == NoticeState.SENDING,
            Notice.claimed_until == claim.claimed_until)).first() is not None
        if ours:
            session.execute(update(NoticeAttempt).where(
                NoticeAttempt.id == claim.attempt_id).values(outcome=DELIVERING,
                                                             started_at=self.clock()))
        session.commit()
        return ours

    def release(self, claim: Claim) -> None:
        """Give back a claimed notice whose delivery has not begun."""
        session = write_transaction()
        changed = session.execute(update(Notice).where(
            Notice.id == claim.outgoing.notice_id, Notice.state == NoticeState.SENDING,
            Notice.claimed_until == claim.claimed_until).values(
            state=NoticeState.QUEUED, claimed_until=None)).rowcount  # type: ignore[attr-defined]
        if changed:
            session.execute(update(NoticeAttempt).where(
                NoticeAttempt.id == claim.attempt_id).values(outcome="released",
                                                             finished_at=self.clock()))
        session.commit()

    def record(self, claim: Claim, outcome: Outcome) -> None:
        """The outcome, in its own transaction. The notice is updated only while it is still
        this sender's (``sending``, or ``unknown`` if a sweep judged its lease over meanwhile,
        with this claim's lease): the answer is then known after all."""
        now = self.clock()
        session = write_transaction()
        notice = session.execute(select(Notice).where(
            Notice.id == claim.outgoing.notice_id,
            Notice.state.in_((NoticeState.SENDING, NoticeState.UNKNOWN)),
            Notice.claimed_until == claim.claimed_until).with_for_update()).scalar_one_or_none()
        if notice is not None:
            notice.claimed_until = None
            if outcome.kind == channels.SENT:
                notice.state, notice.sent_at = NoticeState.SENT, now
                notice.provider_ref, notice.last_error = outcome.ref, None
            else:
                notice.attempts += 1
                notice.last_error = outcome.detail
                delay = retry_delay(notice.attempts) if outcome.kind == channels.RETRY else None
                if delay is None:
                    notice.state, notice.next_attempt_at = NoticeState.FAILED, None
                else:
                    notice.state, notice.next_attempt_at = NoticeState.QUEUED, now + delay
        else:
            log.warning("notice %s changed while it was delivered; outcome %s kept on its "
                        "attempt only", claim.outgoing.notice_id, outcome.kind)
        session.execute(update(NoticeAttempt).where(NoticeAttempt.id == claim.attempt_id).values(
            outcome=outcome.kind, finished_at=now,
            detail=(outcome.ref if outcome.kind == channels.SENT else outcome.detail)))
        session.commit()
