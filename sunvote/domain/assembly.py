"""The representative assembly's rules (组织法 arts. 25–26): notice, quorum, ballots and the tally.

Pure: counts and dates in, decisions out. The services load the meeting and its roster snapshot,
ask these functions, and write what they decide together with the ledger record.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

from sunvote.domain.errors import N_, Conflict, DomainError, InvalidField, NotPermitted
from sunvote.domain.notices import notice_refusal
from sunvote.domain.roles import Role
from sunvote.domain.settings import PassRule


class Choice(StrEnum):
    """A ballot's choice (同意 / 反对 / 弃权)."""

    YES = "yes"
    NO = "no"
    ABSTAIN = "abstain"

    @property
    def label(self) -> str:
        """The Chinese name (message id)."""
        return CHOICE_LABELS[self]


CHOICE_LABELS: dict[Choice, str] = {Choice.YES: N_("同意"), Choice.NO: N_("反对"),
                                    Choice.ABSTAIN: N_("弃权")}

#: A ballot id (the voter's receipt code): 16 random bytes in URL-safe base64 without padding,
#: BALLOT_ID_LENGTH characters. The hall, the hall device, paper and the phone (cloud.js) all
#: make them so; the public receipt check and the offline verifier accept nothing else.
BALLOT_ID_BYTES = 16
BALLOT_ID_LENGTH = 22
_BALLOT_ID = re.compile(rf"[A-Za-z0-9_-]{{{BALLOT_ID_LENGTH}}}")


def new_ballot_id() -> str:
    """A fresh random ballot id."""
    return secrets.token_urlsafe(BALLOT_ID_BYTES)


def ballot_id_refusal(ballot: object) -> InvalidField | None:
    """Why ``ballot`` cannot be a ballot id (rule ``assembly.ballot_id``), or None."""
    if isinstance(ballot, str) and _BALLOT_ID.fullmatch(ballot) is not None:
        return None
    return InvalidField("assembly.ballot_id", N_(
        "回执码格式不正确：回执码是%(n)s位字母、数字、“-”或“_”，请核对后再查"),
        n=BALLOT_ID_LENGTH)


def check_ballot_id(ballot: object) -> str:
    """``ballot`` if it is a well-formed ballot id; else the refusal is raised."""
    refusal = ballot_id_refusal(ballot)
    if refusal is not None:
        raise refusal
    return str(ballot)


class VoteMode(StrEnum):
    """Named (记名: voter and choice public, the default for sunshine voting) or secret
    (无记名: ballots carry no identity; participation is recorded separately)."""

    NAMED = "named"
    SECRET = "secret"

    @property
    def label(self) -> str:
        """The Chinese name (message id)."""
        return VOTE_MODE_LABELS[self]


VOTE_MODE_LABELS: dict[VoteMode, str] = {VoteMode.NAMED: N_("记名"), VoteMode.SECRET: N_("无记名")}


class Channel(StrEnum):
    """How a member is present or how a ballot arrived."""

    HALL = "hall"  # checked in / voted in the hall (own phone or the clerk marking them)
    DEVICE = "device"  # a shared voting device in the hall
    PAPER = "paper"  # a paper ballot entered by the clerk, confirmed by a supervisor
    CLOUD = "cloud"  # remotely, after authentication and a live-presence check (issue 5)

    @property
    def label(self) -> str:
        """The Chinese name (message id)."""
        return CHANNEL_LABELS[self]


CHANNEL_LABELS: dict[Channel, str] = {Channel.HALL: N_("会场"), Channel.DEVICE: N_("会场设备"),
                                      Channel.PAPER: N_("纸质票"), Channel.CLOUD: N_("云端")}


class MeetingState(StrEnum):
    """A meeting is convened (notice given), then opened (roster frozen), then closed."""

    CONVENED = "convened"
    OPEN = "open"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        """The Chinese name (message id)."""
        return MEETING_STATE_LABELS[self]


MEETING_STATE_LABELS: dict[MeetingState, str] = {
    MeetingState.CONVENED: N_("已召集"), MeetingState.OPEN: N_("进行中"),
    MeetingState.CLOSED: N_("已结束")}


class MeetingAction(StrEnum):
    """What changes a meeting's state, and what it allows while it is in one."""

    OPEN = "open"  # 开始: the roster is frozen
    CLOSE = "close"  # 结束
    CHECK_IN = "check_in"  # a member checks in (or is checked in); also leaving
    OPEN_POLL = "open_poll"  # a poll begins
    VOTE = "vote"  # a ballot, a recusal, paper ballots entered or confirmed (in an open poll)


#: A meeting's life: (state, action) → the state after it. An action not here is refused
#: (:func:`meeting_transition`, rule ``assembly.meeting_state``); the services set a meeting's
#: state only from this table, and the verifier replays it.
MEETING_TRANSITIONS: dict[tuple[MeetingState, MeetingAction], MeetingState] = {
    (MeetingState.CONVENED, MeetingAction.OPEN): MeetingState.OPEN,
    (MeetingState.OPEN, MeetingAction.CHECK_IN): MeetingState.OPEN,
    (MeetingState.OPEN, MeetingAction.OPEN_POLL): MeetingState.OPEN,
    (MeetingState.OPEN, MeetingAction.VOTE): MeetingState.OPEN,
    (MeetingState.OPEN, MeetingAction.CLOSE): MeetingState.CLOSED,
}
MEETING_ACTION_REFUSALS: dict[MeetingAction, str] = {
    MeetingAction.OPEN: N_("会议已经开始或已经结束"),
    MeetingAction.CLOSE: N_("会议未开始或已结束"),
    MeetingAction.CHECK_IN: N_("会议未开始或已结束，不能签到"),
    MeetingAction.OPEN_POLL: N_("会议未开始或已结束，不能表决"),
    MeetingAction.VOTE: N_("会议未开始或已结束，不能表决"),
}


def meeting_transition_refusal(state: MeetingState, action: MeetingAction) -> Conflict | None:
    """Why ``action`` cannot happen to a meeting in ``state``, or None."""
    if (state, action) in MEETING_TRANSITIONS:
        return None
    return Conflict("assembly.meeting_state", MEETING_ACTION_REFUSALS[action])


def meeting_transition(state: MeetingState, action: MeetingAction) -> MeetingState:
    """The meeting's state after ``action``; raise the refusal if it cannot happen."""
    refusal = meeting_transition_refusal(state, action)
    if refusal is not None:
        raise refusal
    return MEETING_TRANSITIONS[state, action]


class PollState(StrEnum):
    """A poll is opened on one agenda matter and closed with its tally, or voided (closed
    without a count) when it cannot be tallied (:func:`poll_void_refusal`). ``suspended``: a
    poll that an earlier version opened while another poll on its matter was open; the upgrade
    (migration 20261205_0017) stops it taking ballots, and it can only be voided."""

    OPEN = "open"
    CLOSED = "closed"
    VOID = "void"
    SUSPENDED = "suspended"

    @property
    def unfinished(self) -> bool:
        """Open in the ledger (no poll.close or poll.void yet): it holds its meeting open."""
        return self in (PollState.OPEN, PollState.SUSPENDED)


class PollAction(StrEnum):
    """What ends a poll: its close (with the tally) or its voiding (no count)."""

    CLOSE = "close"
    VOID = "void"


#: A poll's life after it opened: (state, action) → the state after it; anything else is
#: refused (:func:`poll_transition`, rule ``assembly.poll_closed``). Whether an open poll may be
#: tallied or must be voided is :func:`poll_tally_refusal` / :func:`poll_void_refusal`.
POLL_TRANSITIONS: dict[tuple[PollState, PollAction], PollState] = {
    (PollState.OPEN, PollAction.CLOSE): PollState.CLOSED,
    (PollState.OPEN, PollAction.VOID): PollState.VOID,
    (PollState.SUSPENDED, PollAction.VOID): PollState.VOID,
}
def poll_transition_refusal(state: PollState, action: PollAction) -> Conflict | None:
    """Why ``action`` cannot happen to a poll in ``state`` (rule ``assembly.poll_closed``: it
    has ended already), or None."""
    if (state, action) in POLL_TRANSITIONS:
        return None
    return Conflict("assembly.poll_closed", N_("表决未开始或已结束"))


def poll_transition(state: PollState, action: PollAction) -> PollState:
    """The poll's state after ``action``; raise the refusal if it cannot happen."""
    refusal = poll_transition_refusal(state, action)
    if refusal is not None:
        raise refusal
    return POLL_TRANSITIONS[state, action]


# --- Convening ----------------------------------------------------------------------------------


def check_notice(meeting_day: dt.date, notice_day: dt.date, notice_days: int) -> None:
    """Refuse a meeting date too close to the notice (domain.notices.notice_refusal)."""
    refusal = notice_refusal(meeting_day, notice_day, notice_days)
    if refusal is not None:
        raise refusal


def requests_force_a_meeting(requests: int, representatives: int) -> bool:
    """Whether enough representatives asked for a meeting that it must be convened: at least
    one fifth of them (组织法 art. 26)."""
    return representatives > 0 and 5 * requests >= representatives


# --- Quorum -------------------------------------------------------------------------------------


def quorum_needed(members: int, quorum: Fraction) -> int:
    """How many members must be present: ⌈quorum × members⌉ (law: 2/3, art. 26)."""
    return math.ceil(quorum * members)


def check_quorum(present: int, members: int, quorum: Fraction) -> None:
    """Refuse to proceed (open a poll) without the quorum."""
    needed = quorum_needed(members, quorum)
    if present < needed:
        raise Conflict("assembly.quorum",
                       N_("到会%(present)s人，不足组成人员%(members)s人的%(quorum)s"
                          "（需%(needed)s人），不能表决"),
                       present=present, members=members, quorum=str(quorum), needed=needed)


# --- One open poll per matter ---------------------------------------------------------------------

def poll_opening_refusal(matter: str, awaiting_vote: bool,
                         open_at: int | None) -> Conflict | None:
    """One open poll per matter: a poll opens on ``matter`` only while it awaits the vote
    (state ``filed``) and no poll on it is open at any meeting (``open_at``: the number of a
    meeting where one is). Otherwise the matter would be voted on twice, and the poll that
    ends second could never be counted. Returns the refusal, or None."""
    if open_at is not None:
        return Conflict("assembly.one_poll_per_matter",
                        N_("事项%(number)s正在第%(meeting)s次会议上表决，同一事项同一时间"
                           "只能在一次会议上表决"), number=matter, meeting=open_at)
    if not awaiting_vote:
        return Conflict("assembly.one_poll_per_matter", N_("事项%(number)s不在待票决状态"),
                        number=matter)
    return None


def poll_tally_refusal(matter: str, awaiting_vote: bool, opened_before: bool) -> Conflict | None:
    """Whether an open poll can be closed and counted: only while its matter awaits the vote,
    and only if no other poll on the matter that opened before it is still open (two open polls
    on one matter, written by an earlier version: the first one opened is the one counted).
    A poll that cannot be tallied is voided (:func:`poll_void_refusal`). Returns the refusal,
    or None."""
    if opened_before:
        return Conflict("assembly.poll_void",
                        N_("事项%(number)s已在另一次会议上先开始表决，本项表决不能计票，"
                           "请作废本项表决"), number=matter)
    if not awaiting_vote:
        return Conflict("assembly.poll_void",
                        N_("事项%(number)s已不在待票决状态（例如已在另一次会议上表决），"
                           "本项表决不能计票，请作废本项表决"), number=matter)
    return None


def poll_void_refusal(matter: str, awaiting_vote: bool, opened_before: bool) -> Conflict | None:
    """A poll is voided — closed without a count, its ballots not counted, with a reason — only
    when it cannot be tallied (:func:`poll_tally_refusal`): voiding is not a way to discard a
    vote that could be counted. So every open poll can end one way or the other, and a meeting
    can always be closed. Returns the refusal, or None."""
    if poll_tally_refusal(matter, awaiting_vote, opened_before) is None:
        return Conflict("assembly.poll_void",
                        N_("事项%(number)s的表决可以计票，请结束表决并计票，不能作废"),
                        number=matter)
    return None


# --- Ballots ------------------------------------------------------------------------------------


def parse_choice(value: object) -> Choice:
    """A choice from request data; anything but yes / no / abstain is refused."""
    try:
        return Choice(str(value))
    except ValueError:
        raise InvalidField("assembly.choice", N_("表决意见只能是同意、反对或弃权")) from None


@dataclass(frozen=True)
class Voter:
    """What the ballot check needs to know about the member trying to vote in a poll."""

    member: bool  # on the meeting's frozen roster
    present: bool  # checked in (any channel)
    recused: bool  # declared recusal on this poll
    voted: bool  # already has a ballot in this poll (any channel)
    # Present when the poll opened: the tally's base is the number present then, so a member
    # who arrives later votes on the next poll, not this one.
    present_at_open: bool = True


def present_at_open(attendance_id: int | None, attendance_upto: int) -> bool:
    """Whether a member whose check-in is ``attendance_id`` (None: not present) was present
    when the poll opened: check-ins are numbered in order, and the poll keeps the last number
    present at its opening (``attendance_upto``); a later one is a late arrival."""
    return attendance_id is not None and attendance_id <= attendance_upto


def _absence_refusal(voter: Voter) -> Conflict | None:
    """Why ``voter`` is not here for the poll: not present now, or checked in only after it
    opened (the tally's base is those present then). Voting and recusal share it."""
    if not voter.present:
        return Conflict("assembly.not_present", N_("请先签到，到会后才能投票"))
    if not voter.present_at_open:
        return Conflict("assembly.late",
                        N_("您在本项表决开始后才签到，不能对本项投票，可参加下一项表决"))
    return None


def ballot_refusal(poll: PollState, voter: Voter) -> DomainError | None:
    """Why ``voter`` may not vote in the poll now, or None: one ballot per member per poll,
    only while it is open, only from a member present when it opened who has not recused
    (组织法 art. 26; no proxies). The service refuses with it, the room page and the phone offer
    the vote only where it is None, and the verifier reports a ballot it refuses."""
    if poll is not PollState.OPEN:
        return Conflict("assembly.poll_closed", N_("表决未开始或已结束，不能投票"))
    if not voter.member:
        return NotPermitted("assembly.not_member", N_("只有本次会议的组成人员可以投票"))
    if voter.recused:
        return Conflict("assembly.recused", N_("已申请回避的人员不能对该事项投票"))
    if (absent := _absence_refusal(voter)) is not None:
        return absent
    if voter.voted:
        return Conflict("assembly.one_ballot", N_("每位组成人员对每个事项只能投一票"))
    return None


def check_ballot(poll: PollState, voter: Voter) -> None:
    """Raise :func:`ballot_refusal`'s refusal, if any."""
    refusal = ballot_refusal(poll, voter)
    if refusal is not None:
        raise refusal


class AttendProof(StrEnum):
    """How a check-in (``meeting.attend`` ``proof``) established that the member is there."""

    QR = "qr"  # the member's phone opened the hall screen's QR (which carries the live code)
    CODE = "code"  # the member typed the live code that only the hall screen shows
    CLERK = "clerk"  # someone running the meeting marked the member present (their word)
    DEVICE = "device"  # cloud: the member's enrolled phone signed an ``attend`` statement


class BallotProof(StrEnum):
    """What shows that a ballot (``ballot.cast`` / ``poll.participation`` ``proof``) is the
    member's own act."""

    SESSION = "session"  # the member's own logged-in session (their phone in the hall)
    DEVICE = "device"  # cloud: signed by the member's enrolled phone
    PIN = "pin"  # the hall device, run by the clerk, with the member's PIN typed on it
    CONFIRMED = "confirmed"  # the hall device without the PIN: confirmed like paper
    PAPER = "paper"  # a paper ballot entered by the clerk, confirmed by a supervisor


#: The proofs each kind of check-in may carry: (channel, the member acting themself).
ATTEND_PROOFS: dict[tuple[str, bool], frozenset[AttendProof]] = {
    (Channel.HALL.value, True): frozenset({AttendProof.QR, AttendProof.CODE}),
    (Channel.HALL.value, False): frozenset({AttendProof.CLERK}),
    (Channel.CLOUD.value, True): frozenset({AttendProof.DEVICE}),
}
#: The proofs each kind of ballot may carry: (channel, the member acting themself). A ballot
#: someone else enters is a hall-device or a paper ballot.
BALLOT_PROOFS: dict[tuple[str, bool], frozenset[BallotProof]] = {
    (Channel.HALL.value, True): frozenset({BallotProof.SESSION}),
    (Channel.DEVICE.value, True): frozenset({BallotProof.SESSION}),
    (Channel.CLOUD.value, True): frozenset({BallotProof.DEVICE}),
    (Channel.DEVICE.value, False): frozenset({BallotProof.PIN, BallotProof.CONFIRMED}),
    (Channel.PAPER.value, False): frozenset({BallotProof.PAPER}),
}
#: The channels of a check-in and of a ballot: those the tables above have proofs for.
ATTEND_CHANNELS = frozenset(channel for channel, _ in ATTEND_PROOFS)
BALLOT_CHANNELS = frozenset(channel for channel, _ in BALLOT_PROOFS)


def attendance_channels(by_member: bool) -> frozenset[str]:
    """The channels of a check-in by the member themself (``by_member``) or by someone running
    the meeting: those :data:`ATTEND_PROOFS` has a proof for (a cloud check-in is the
    member's own)."""
    return frozenset(channel for channel, member in ATTEND_PROOFS if member is by_member)


def ballot_channels(by_member: bool) -> frozenset[str]:
    """The channels of a ballot the member casts themself (``by_member``: hall, device,
    cloud) or that someone running the meeting enters for them (device, paper): those
    :data:`BALLOT_PROOFS` has a proof for."""
    return frozenset(channel for channel, member in BALLOT_PROOFS if member is by_member)


#: Ballot proofs that count only once a supervisory committee member confirmed them.
CONFIRMED_PROOFS = frozenset({BallotProof.CONFIRMED, BallotProof.PAPER})


def attendance_proof_refusal(channel: str, by_member: bool,
                             proof: str | None) -> NotPermitted | None:
    """Presence is proven, not claimed: a member checking in themself in the hall shows the
    hall screen's QR or live code; a check-in by someone else is recorded as theirs (``clerk``);
    a cloud one is signed by the member's phone. The refusal, or None when ``proof`` fits."""
    allowed = ATTEND_PROOFS.get((channel, by_member), frozenset())
    if proof in {p.value for p in allowed}:
        return None
    if channel == Channel.HALL.value and by_member:
        return NotPermitted("assembly.presence",
                            N_("本人签到须在会场扫描大屏上的二维码，或输入大屏上显示的到会码"))
    return NotPermitted("assembly.presence", N_("签到方式与到会证明不符"))


def ballot_proof_refusal(channel: str, by_member: bool, proof: str | None) -> NotPermitted | None:
    """A ballot is the member's own act: their session, their phone's signature, or — on the
    hall device the clerk runs — their PIN; without it the ballot is treated like paper and
    needs a supervisor's confirmation (``confirmed``). The refusal, or None when it fits."""
    allowed = BALLOT_PROOFS.get((channel, by_member), frozenset())
    if proof in {p.value for p in allowed}:
        return None
    return NotPermitted("assembly.ballot_proof",
                        N_("会场设备代投须由本人在设备上输入PIN码；没有PIN码的选票按纸质票处理，"
                           "须经村务监督委员会成员确认后才计入"))


# --- Attendance: check-in of several members, leaving -------------------------------------------


def not_present(roster: Iterable[int], present: Iterable[int]) -> list[int]:
    """The members on the roster not present now, in roster order: whom a runner may check in
    (the room page's list)."""
    here = set(present)
    return [m for m in roster if m not in here]


def checkin_many_refusal(selected: Iterable[int], roster: Iterable[int],
                         present: Iterable[int]) -> DomainError | None:
    """A runner checks in several members at once (recorded as theirs, ``proof`` clerk): the
    selection may not be empty, and each selected person must be on the roster and not present
    yet. One refusal refuses the whole selection. The refusal, or None."""
    chosen = list(selected)
    if not chosen:
        return InvalidField("input.invalid", N_("请至少选择一位要签到的组成人员"))
    if len(set(chosen)) != len(chosen):
        return InvalidField("input.invalid", N_("同一位组成人员不能选择两次"))
    on_roster, here = set(roster), set(present)
    if any(m not in on_roster for m in chosen):
        return NotPermitted("assembly.not_member", N_("只有本次会议的组成人员可以签到"))
    if any(m in here for m in chosen):
        return Conflict("assembly.attendance",
                        N_("所选人员中有人已经签到，请刷新后重新选择"))
    return None


def all_present_except(roster: Iterable[int], present: Iterable[int],
                       absent: Iterable[int]) -> tuple[list[int], DomainError | None]:
    """"Everyone present except …": the members to check in (those not present and not named
    absent) and the refusal, if any. A named absentee must be on the roster and not present
    (a present member who left is checked out, not named absent); someone must remain."""
    on_roster, here, away = list(roster), set(present), list(absent)
    if len(set(away)) != len(away):
        return [], InvalidField("input.invalid", N_("同一位组成人员不能选择两次"))
    if any(m not in on_roster for m in away):
        return [], NotPermitted("assembly.not_member", N_("只有本次会议的组成人员可以签到"))
    if any(m in here for m in away):
        return [], Conflict("assembly.attendance",
                            N_("所选缺席人员中有人已经签到；如其已离开，请登记离场"))
    chosen = [m for m in not_present(on_roster, here) if m not in set(away)]
    if not chosen:
        return [], InvalidField("input.invalid", N_("没有要签到的组成人员"))
    return chosen, None


def leave_refusal(meeting_open: bool, on_roster: bool, present: bool) -> DomainError | None:
    """A member leaves (离场) while the meeting is open: only a member who is present. Later
    polls count them absent; a poll already open keeps its count, and they vote on it no more
    (docs/assembly.md, "Leaving"). The refusal, or None."""
    if not meeting_open:
        return Conflict("assembly.meeting_state", N_("会议未开始或已结束，不能登记离场"))
    if not on_roster:
        return NotPermitted("assembly.not_member", N_("只有本次会议的组成人员可以登记离场"))
    if not present:
        return Conflict("assembly.leave", N_("该组成人员不在会场（未签到或已离场），不能登记离场"))
    return None


#: How long after a secret poll closes the voter's own device shows the choice of their ballot.
#: Estonia's internet voting lets a voter check their vote with the verification app only
#: within 30 minutes of casting it: long enough to check at once, short enough that a buyer
#: cannot demand it at leisure. Here the window opens at close, because before it
#: nothing may be shown (docs/assembly.md, "Receipts of secret ballots").
SECRET_RECEIPT_WINDOW = dt.timedelta(minutes=30)

#: The only keys of a ``ballot.secret`` record: nothing that could single out its voter.
SECRET_BALLOT_KEYS = frozenset({"meeting", "poll", "ballot", "choice"})


def secret_ballot_body(meeting: int, poll: int, ballot: str, choice: Choice) -> dict[str, object]:
    """The body of a ``ballot.secret`` record: meeting, poll, ballot id and choice only (no
    channel, time or voter; the batch is shuffled)."""
    return {"meeting": meeting, "poll": poll, "ballot": ballot, "choice": choice.value}


def secret_ballot_linkable(body: Mapping[str, object]) -> Conflict | None:
    """A ``ballot.secret`` body that says more than :data:`SECRET_BALLOT_KEYS` (logs written
    before 2026-12 carry ``channel``): a member alone on a channel can be linked to their
    choice. Returned as a finding, not raised: a published record cannot be withdrawn."""
    extra = sorted(set(body) - SECRET_BALLOT_KEYS)
    if not extra:
        return None
    return Conflict("ballot.secret_linkable",
                    N_("无记名选票记载了%(keys)s，单独使用该方式的组成人员的选择可被识别"),
                    keys=", ".join(extra))


def check_secret_receipt(closed_at: dt.datetime | None, now: dt.datetime,
                         own_device: bool) -> Conflict | None:
    """Whether a secret ballot's choice may be shown: only on the voter's own device, only
    after the poll closed (before, a code with its choice would prove the vote to a buyer) and
    within :data:`SECRET_RECEIPT_WINDOW` of the close."""
    if not own_device:
        return Conflict("assembly.ballot_sealed",
                        N_("无记名表决的选择只在投票人本人的手机上显示"))
    if closed_at is None:
        return Conflict("assembly.ballot_sealed",
                        N_("您的选票已密封，表决结束后可在本机核对"))
    if now > closed_at + SECRET_RECEIPT_WINDOW:
        return Conflict("assembly.ballot_sealed",
                        N_("核对时限（表决结束后%(minutes)s分钟）已过，本机不再显示您的选择"),
                        minutes=int(SECRET_RECEIPT_WINDOW.total_seconds() // 60))
    return None


def recusal_refusal(poll: PollState, voter: Voter) -> DomainError | None:
    """Why ``voter`` may not declare recusal on the poll now, or None: a member of the roster,
    present when the poll opened and still here, declares it before voting, once, and not
    after the poll closed. The service refuses with it and the verifier reports a recusal it
    refuses."""
    if poll is PollState.CLOSED:
        return Conflict("assembly.poll_closed", N_("表决已结束，不能再申请回避"))
    if not voter.member:
        return NotPermitted("assembly.not_member", N_("只有本次会议的组成人员可以申请回避"))
    if (absent := _absence_refusal(voter)) is not None:
        return absent
    if voter.voted:
        return Conflict("assembly.recusal_after_vote", N_("已经投票，不能再申请回避"))
    if voter.recused:
        return Conflict("assembly.recusal_after_vote", N_("已经申请过回避"))
    return None


def check_recusal(poll: PollState, voter: Voter) -> None:
    """Raise :func:`recusal_refusal`'s refusal, if any."""
    refusal = recusal_refusal(poll, voter)
    if refusal is not None:
        raise refusal


# --- The tally ----------------------------------------------------------------------------------


def not_voted(present: int, recused: int, yes: int, no: int, abstain: int) -> int:
    """Members present at the poll's opening, not recused, who cast no ballot: so that wherever
    counts are shown, present = yes + no + abstain + recused + did not vote."""
    return present - recused - (yes + no + abstain)


@dataclass(frozen=True)
class Tally:
    """The count of a poll and its verdict under the rule applied.

    ``base`` is the number the rule compares "yes" with (members present at the poll's opening,
    or all members; less the recused where the township counts them out); ``needed`` is the
    smallest number of "yes" that passes.
    """

    yes: int
    no: int
    abstain: int
    recused: int
    present: int
    members: int
    rule: PassRule
    recusal_counts_present: bool
    base: int
    needed: int
    passed: bool

    @property
    def not_voted(self) -> int:
        """Present, not recused, and no ballot: counts against, like an abstention."""
        return not_voted(self.present, self.recused, self.yes, self.no, self.abstain)

    @property
    def cast(self) -> int:
        """Ballots counted."""
        return self.yes + self.no + self.abstain

    @property
    def verdict(self) -> str:
        """"passed" or "rejected"."""
        return "passed" if self.passed else "rejected"


def yes_needed(rule: PassRule, base: int) -> int:
    """The fewest "yes" votes that pass under ``rule`` when compared with ``base``: more than
    half (so a tie fails), or at least two thirds."""
    if rule is PassRule.TWO_THIRDS_OF_PRESENT:
        return math.ceil(Fraction(2, 3) * base)
    return base // 2 + 1


def pass_threshold(rule: PassRule, *, present: int, members: int, recused: int,
                   recusal_counts_present: bool) -> tuple[int, int]:
    """The base the rule compares "yes" with, and the fewest "yes" that pass: the base is the
    members present at the poll's opening (or all members, under ``majority_of_all``), less the
    recused where the township counts them out. The tally applies it; the hall screen shows the
    second number while the poll is open."""
    excluded = 0 if recusal_counts_present else recused
    base = (members if rule is PassRule.MAJORITY_OF_ALL else present) - excluded
    return base, yes_needed(rule, base)


def count(choices: Iterable[Choice], *, present: int, members: int, recused: int,
          rule: PassRule, recusal_counts_present: bool) -> Tally:
    """Count the ballots of a poll and apply the pass rule (组织法 art. 26: "yes" from more than
    half of the members present; abstentions, blank and missing ballots count against).

    ``present`` is the number present when the poll opened (the quorum was checked on it);
    ``members`` the frozen roster's size; ``recused`` how many declared recusal. Recused members
    count as present unless the township set ``recusal_counts_present`` off, in which case they
    leave the base.
    """
    yes = no = abstain = 0
    for choice in choices:
        if choice is Choice.YES:
            yes += 1
        elif choice is Choice.NO:
            no += 1
        else:
            abstain += 1
    if yes + no + abstain + recused > present:
        raise Conflict("assembly.tally",
                       N_("票数%(cast)s加回避%(recused)s人多于到会人数%(present)s"),
                       cast=yes + no + abstain, recused=recused, present=present)
    if present > members:
        raise Conflict("assembly.tally", N_("到会人数多于组成人员人数"))
    base, needed = pass_threshold(rule, present=present, members=members, recused=recused,
                                  recusal_counts_present=recusal_counts_present)
    return Tally(yes=yes, no=no, abstain=abstain, recused=recused, present=present,
                 members=members, rule=rule, recusal_counts_present=recusal_counts_present,
                 base=base, needed=needed, passed=base > 0 and yes >= needed)


# --- Who runs the assembly ----------------------------------------------------------------------

#: Convene, open and close meetings, open and close polls, mark attendance, enter paper ballots:
#: the village committee (it convenes the assembly, art. 26) and the clerk who operates SunVote.
MEETING_RUNNERS: frozenset[Role] = frozenset({Role.COMMITTEE_DIRECTOR, Role.COMMITTEE_MEMBER,
                                              Role.CLERK})

#: Confirm paper ballots before the tally: the supervisory committee.
PAPER_CONFIRMERS: frozenset[Role] = frozenset({Role.SUPERVISOR_CHAIR, Role.SUPERVISOR})
