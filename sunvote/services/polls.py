"""The assembly's polls: open a poll on an agenda matter (the quorum re-checked), close it with
the tally (secret ballots sealed in a shuffled batch) and the matter's result, or void a poll that
cannot be tallied. Meetings and attendance are in services/assembly.py, ballots in
services/ballots.py.

Each function is one use case: one transaction, its ledger records inside it (record bodies are
specified in docs/ledger-format.md; the offline verifier re-checks every rule).
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
from collections.abc import Sequence
from fractions import Fraction

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from sunvote.domain.assembly import (
    Channel,
    MeetingAction,
    PollAction,
    PollState,
    Tally,
    VoteMode,
    check_quorum,
    count,
    poll_opening_refusal,
    poll_tally_refusal,
    poll_transition,
    poll_void_refusal,
    secret_ballot_body,
)
from sunvote.domain.errors import N_, Conflict, DomainError, InvalidField, NotFound
from sunvote.domain.procedure import MatterState
from sunvote.domain.settings import PassRule, encode_setting
from sunvote.domain.text import clean_text
from sunvote.extensions import db
from sunvote.models import (
    Attendance,
    Ballot,
    Matter,
    Meeting,
    MeetingItem,
    PaperBatch,
    Participation,
    Poll,
    Recusal,
    Village,
)
from sunvote.models.base import utcnow
from sunvote.services import ledger, notice_events
from sunvote.services.assembly import (
    actor_fields,
    load_person,
    lock_meeting,
    meeting_may,
    present_count,
    runner_role,
)
from sunvote.services.matters import record_vote
from sunvote.services.settings import township_settings
from sunvote.services.supervision import publish_result
from sunvote.services.unit_of_work import lock_village, use_case


def lock_poll(poll_id: int) -> tuple[Poll, Meeting, Village]:
    """The poll, its matter and its meeting, read in one statement after their village is
    locked, and the village."""
    found = db.session.execute(select(Meeting.village_id)
                               .join(Poll, Meeting.id == Poll.meeting_id)
                               .where(Poll.id == poll_id)).scalar_one_or_none()
    if found is None:
        raise NotFound("input.invalid", N_("没有这项表决"))
    village = lock_village(found)
    poll, meeting = db.session.execute(
        select(Poll, Meeting).join(Meeting, Meeting.id == Poll.meeting_id)
        .where(Poll.id == poll_id).options(joinedload(Poll.matter))
        .execution_options(populate_existing=True)).one()
    return poll, meeting, village


# --- Opening ------------------------------------------------------------------------------------


@use_case
def open_poll(actor_id: int, meeting_id: int, matter_id: int, mode: VoteMode = VoteMode.NAMED,
              now: dt.datetime | None = None) -> Poll:
    """Open the vote on an agenda matter, re-checking the quorum on the members present now."""
    now = now or utcnow()
    meeting, village = lock_meeting(meeting_id)
    role = runner_role(actor_id, village, now)
    meeting_may(meeting, MeetingAction.OPEN_POLL)
    item = db.session.execute(select(MeetingItem).where(
        MeetingItem.meeting_id == meeting.id, MeetingItem.matter_id == matter_id)
    ).scalar_one_or_none()
    if item is None:
        raise InvalidField("assembly.agenda", N_("该事项不在本次会议议程上"))
    matter = item.matter
    refusal = poll_opening_refusal(matter.number, matter.state == MatterState.FILED.value,
                                   open_poll_meetings([matter.id]).get(matter.id))
    if refusal is not None:
        raise refusal
    if any(p.matter_id == matter.id for p in meeting.polls):
        raise Conflict("assembly.poll_state", N_("本次会议已经对该事项表决过"))
    if any(p.state.unfinished for p in meeting.polls):
        raise Conflict("assembly.poll_state", N_("请先结束正在进行的表决"))
    settings = township_settings(village.township_id)
    quorum = settings["quorum"]
    assert isinstance(quorum, Fraction)
    members = len(meeting.members)
    present = present_count(meeting)
    check_quorum(present, members, quorum)
    rule = settings.pass_rule_for(matter.category or 10)
    counts_present = bool(settings["recusal_counts_present"])
    upto = db.session.execute(select(func.max(Attendance.id)).where(
        Attendance.meeting_id == meeting.id)).scalar_one() or 0
    poll = Poll(meeting_id=meeting.id, number=len(meeting.polls) + 1, matter_id=matter.id,
                mode=mode, state=PollState.OPEN, present=present, members=members,
                attendance_upto=upto,
                quorum=encode_setting(quorum), rule=rule.value,
                recusal_counts_present=counts_present, opened_at=now, opened_by_id=actor_id)
    db.session.add(poll)
    db.session.flush()
    ledger.append(village, "poll.open", {
        "meeting": meeting.number, "poll": poll.number, "matter": matter.number,
        "mode": mode.value, "present": present, "members": members,
        "quorum": encode_setting(quorum), "rule": rule.value,
        "recusal_counts_present": counts_present,
        **actor_fields(load_person(actor_id), role.value, now)})
    notice_events.poll_opened(poll, meeting, matter, village, now)
    return poll


def open_poll_meetings(matter_ids: Sequence[int]) -> dict[int, int]:
    """For each of ``matter_ids`` with a poll open (or suspended) at some meeting: the number of
    that meeting (the first such poll's). What domain.assembly.poll_opening_refusal is asked with,
    by
    open_poll and by the room page that decides whether to offer "open poll"."""
    rows = db.session.execute(
        select(Poll.matter_id, Meeting.number).join(Meeting, Poll.meeting_id == Meeting.id)
        .where(Poll.matter_id.in_(matter_ids),
               Poll.state.in_([s for s in PollState if s.unfinished]))
        .order_by(Poll.id)).all()
    found: dict[int, int] = {}
    for matter_id, number in rows:
        found.setdefault(matter_id, number)
    return found


def opened_before(poll: Poll) -> bool:
    """Whether another poll on ``poll``'s matter, opened before it, is still open (or suspended):
    two open polls on one matter written by an earlier version; only the first is counted."""
    return db.session.execute(select(Poll.id).where(
        Poll.matter_id == poll.matter_id, Poll.id < poll.id,
        Poll.state.in_([s for s in PollState if s.unfinished]))).first() is not None


def tally_refusal(poll: Poll) -> DomainError | None:
    """Why the open ``poll`` cannot be closed and counted (it can then only be voided), or None:
    domain.assembly.poll_tally_refusal, asked by close_poll and by the room page."""
    matter = poll.matter
    return poll_tally_refusal(matter.number, matter.state == MatterState.FILED.value,
                              opened_before(poll))


# --- Closing and the tally ----------------------------------------------------------------------


@use_case
def close_poll(actor_id: int, poll_id: int, now: dt.datetime | None = None,
               rng: random.Random | None = None) -> Tally:
    """Close the poll, count it, sign the tally and move the matter: passed → supervision (step
    6), rejected → it may be re-proposed. Secret ballots are appended now, shuffled, without
    identity or time. Refused while paper ballots await confirmation."""
    now = now or utcnow()
    poll, meeting, village = lock_poll(poll_id)
    role = runner_role(actor_id, village, now)
    closed = poll_transition(poll.state, PollAction.CLOSE)
    if (untallied := tally_refusal(poll)) is not None:  # one open poll per matter (item 6)
        raise untallied
    if db.session.execute(select(PaperBatch.id).where(
            PaperBatch.poll_id == poll.id, PaperBatch.confirmed_at.is_(None))).first():
        raise Conflict("assembly.paper_unconfirmed",
                       N_("还有纸质票未经村务监督委员会确认，不能结束表决"))
    ballots = list(db.session.execute(select(Ballot).where(Ballot.poll_id == poll.id)
                                      .order_by(Ballot.id)).scalars())
    recused = int(db.session.execute(select(func.count()).select_from(Recusal).where(
        Recusal.poll_id == poll.id)).scalar_one())
    tally = count([b.choice for b in ballots], present=poll.present,
                  members=poll.members, recused=recused, rule=PassRule(poll.rule),
                  recusal_counts_present=poll.recusal_counts_present)
    actor = load_person(actor_id)
    ledger.append(village, "poll.close", {
        "meeting": meeting.number, "poll": poll.number, "ballots": len(ballots),
        **actor_fields(actor, role.value, now)})
    if poll.mode == VoteMode.SECRET:
        _seal_secret_ballots(poll, meeting, village, ballots, rng or secrets.SystemRandom())
    matter = db.session.get(Matter, poll.matter_id)
    assert matter is not None
    ledger.append(village, "poll.tally", {
        "meeting": meeting.number, "poll": poll.number, "matter": matter.number,
        "yes": tally.yes, "no": tally.no, "abstain": tally.abstain, "recused": tally.recused,
        "present": tally.present, "members": tally.members, "rule": tally.rule.value,
        "recusal_counts_present": tally.recusal_counts_present, "base": tally.base,
        "needed": tally.needed, "verdict": tally.verdict, "at": ledger.iso(now)})
    poll.state = closed
    poll.closed_at = now
    poll.yes, poll.no, poll.abstain, poll.recused = tally.yes, tally.no, tally.abstain, recused
    # A total only, from the participations (secret ballots keep no channel).
    poll.cloud = int(db.session.execute(select(func.count()).select_from(Participation).where(
        Participation.poll_id == poll.id,
        Participation.channel == Channel.CLOUD)).scalar_one())
    poll.verdict = tally.verdict
    record_vote(matter, actor_id, tally.verdict, now)
    publish_result(matter, village, meeting.number, poll.number, tally.verdict, now)
    db.session.flush()
    return tally


def _seal_secret_ballots(poll: Poll, meeting: Meeting, village: Village,
                         ballots: Sequence[Ballot], rng: random.Random) -> None:
    """Append a secret poll's ballots in a shuffled batch (meeting, poll, ballot id, choice:
    domain.assembly.secret_ballot_body), and re-insert their rows in that order without their paper
    batch, so that neither the log nor the ``ballot`` table's ids and columns line up with the
    ``participation`` rows (what remains is in docs/assembly.md)."""
    shuffled = list(ballots)
    rng.shuffle(shuffled)
    kept = [(b.code, b.choice) for b in shuffled]
    for ballot in ballots:
        db.session.delete(ballot)
    db.session.flush()
    for code, choice in kept:
        appended = ledger.append(village, "ballot.secret",
                                 secret_ballot_body(meeting.number, poll.number, code, choice))
        # Inserted in the order added: the new ids follow the shuffled (public) order.
        db.session.add(Ballot(poll_id=poll.id, code=code, choice=choice, channel=None,
                              appended=True, ledger_seq=appended.seq))
    db.session.flush()


@use_case
def void_poll(actor_id: int, poll_id: int, reason: str,
              now: dt.datetime | None = None) -> Poll:
    """End a poll that cannot be tallied — its matter was decided at another meeting (or no
    longer awaits the vote), or another poll on the matter opened before it is still open —
    without a count: its ballots are not counted (secret ones are never appended) and
    ``poll.void`` records why. Refused for a poll that can be tallied
    (domain.assembly.poll_void_refusal),
    so that no meeting is held open by a poll that can never close."""
    now = now or utcnow()
    poll, meeting, village = lock_poll(poll_id)
    role = runner_role(actor_id, village, now)
    voided = poll_transition(poll.state, PollAction.VOID)
    matter = poll.matter
    refusal = poll_void_refusal(matter.number, matter.state == MatterState.FILED.value,
                                opened_before(poll))
    if refusal is not None:
        raise refusal
    text = clean_text(reason, N_("作废理由"), max_length=500) or ""
    poll.state = voided
    poll.closed_at = now
    poll.void_reason = text
    ledger.append(village, "poll.void", {
        "meeting": meeting.number, "poll": poll.number, "matter": matter.number,
        "reason": text, **actor_fields(load_person(actor_id), role.value, now)})
    db.session.flush()
    return poll
