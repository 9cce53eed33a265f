"""Oversight warnings (红黄蓝预警, domain.md §6): each rule with its colour and limit, and the pure
functions that decide, from facts the oversight service loads, which warnings a village has.

Red: something that should be impossible or means the record cannot be trusted. Yellow: the
procedure is late against a limit. Blue: a composition problem the law asks to fix. Limits come
from township settings (passed in), never from constants here, except where the law fixes them.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction

from sunvote.domain.administration import TOWNSHIP_ADMINS
from sunvote.domain.assembly import MeetingState, quorum_needed, requests_force_a_meeting
from sunvote.domain.errors import N_, Msg, NotPermitted
from sunvote.domain.procedure import MatterState
from sunvote.domain.roles import Role
from sunvote.domain.roster import RosterWarning


class Colour(StrEnum):
    """A warning's colour, most serious first."""

    RED = "red"
    YELLOW = "yellow"
    BLUE = "blue"

    @property
    def label(self) -> str:
        """The Chinese name (message id)."""
        return COLOUR_LABELS[self]

    @property
    def rank(self) -> int:
        """0 for red, 1 for yellow, 2 for blue (for sorting)."""
        return list(Colour).index(self)


COLOUR_LABELS: dict[Colour, str] = {Colour.RED: N_("红色预警"), Colour.YELLOW: N_("黄色预警"),
                                    Colour.BLUE: N_("蓝色预警")}


class TargetKind(StrEnum):
    """What a warning links to."""

    MATTER = "matter"  # ref: the matter's number
    MEETING = "meeting"  # ref: the meeting's number
    LEDGER = "ledger"  # the village's ledger page
    MEETINGS = "meetings"  # the village's meetings page
    REGISTER = "register"  # the village's register (roster)


@dataclass(frozen=True)
class Target:
    """Where a warning points: a kind, the village's code and, for a matter or a meeting, its
    number."""

    kind: TargetKind
    village: str
    ref: str | None = None


@dataclass(frozen=True)
class WarningRule:
    """A warning rule: its code (in the rules table), colour and the limit it applies, as a
    message id whose parameters each warning fills in."""

    code: str
    colour: Colour
    limit: str


#: Every warning SunVote computes today. Roster warnings keep their roster.* codes.
WARNING_RULES: tuple[WarningRule, ...] = (
    WarningRule("ledger.verification_failed", Colour.RED,
                N_("账本必须通过验证：最近一次服务器端验证须无错误")),
    WarningRule("ledger.equivocation", Colour.RED,
                N_("同一账本不得出现两个互相矛盾的已签名检查点")),
    WarningRule("assembly.poll_below_quorum", Colour.RED,
                N_("表决开始时到会人数不少于%(quorum)s（组成人员%(members)s人须%(needed)s人）")),
    WarningRule("procedure.step_limit", Colour.YELLOW,
                N_("乡镇设置：事项在单个步骤停留不超过%(limit)s天")),
    WarningRule("assembly.quarterly_meeting", Colour.YELLOW,
                N_("村民代表会议每季度至少召开一次")),
    WarningRule("assembly.meeting_not_opened", Colour.YELLOW,
                N_("已召集的村民代表会议应当在会期（%(day)s）当天开始；未开始的会议不能签到和表决")),
    WarningRule("ledger.witness_overdue", Colour.YELLOW,
                N_("乡镇设置：最新检查点须在%(limit)s天内由乡镇见证方签名")),
    WarningRule("assembly.request", Colour.YELLOW,
                N_("五分之一以上村民代表提议时应当召集会议（%(representatives)s名代表须%(needed)s人）")),
    WarningRule("notice.started_early", Colour.RED,
                N_("公示期（至%(end)s）满后方可开始实施")),
    WarningRule("objection.overdue", Colour.YELLOW,
                N_("乡镇设置：异议须在提出后%(limit)s天内答复")),
    WarningRule("notice.ending_soon", Colour.BLUE,
                N_("乡镇设置：公示期结束前%(limit)s天提示")),
    WarningRule("roster.representative_share", Colour.BLUE,
                N_("村民代表不少于会议组成人员的五分之四")),
    WarningRule("roster.women_share", Colour.BLUE,
                N_("妇女村民代表不少于会议组成人员的三分之一")),
    WarningRule("roster.households_per_representative", Colour.BLUE,
                N_("每名村民代表联系五至十五户")),
    WarningRule("roster.supervisor_accounting", Colour.BLUE,
                N_("村务监督委员会中至少一人具备财会、管理知识")),
)

WARNING_RULES_BY_CODE: dict[str, WarningRule] = {r.code: r for r in WARNING_RULES}

#: Warnings domain.md §6 names that are not computed (none left: kept for the dashboard's note).
PENDING_WARNINGS: tuple[tuple[Colour, str], ...] = ()


@dataclass(frozen=True)
class OversightWarning:
    """One warning: which rule, the colour, what it links to, what happened (``msgid`` with
    ``params``) and the limit broken (``limit_params`` fill the rule's limit text)."""

    rule: str
    target: Target
    msgid: str
    params: Mapping[str, object] = field(default_factory=dict)
    limit_params: Mapping[str, object] = field(default_factory=dict)

    @property
    def colour(self) -> Colour:
        """The rule's colour."""
        return WARNING_RULES_BY_CODE[self.rule].colour

    @property
    def limit(self) -> str:
        """The rule's limit text (a message id; fill it with ``limit_params``)."""
        return WARNING_RULES_BY_CODE[self.rule].limit


def check_district_overseer(roles: Collection[Role]) -> None:
    """Refuse the whole district's dashboard to anyone but the district administrator."""
    if Role.DISTRICT_ADMIN not in roles:
        raise NotPermitted("admin.district_admin", N_("只有区级管理员可以查看全区预警与汇总"))


def check_township_overseer(roles: Collection[Role]) -> None:
    """Refuse a township's (or its village's) dashboard to anyone but its administrator or the
    district's (``roles``: those reaching the township or village)."""
    if not set(roles) & TOWNSHIP_ADMINS:
        raise NotPermitted("admin.township_admin",
                           N_("只有乡镇管理员或区级管理员可以查看预警与汇总"))


# --- Facts the service loads ----------------------------------------------------------------------


@dataclass(frozen=True)
class VerificationFact:
    """The newest server-side verification of a village's log (``verified_at`` in the time zone
    the warning should show it in)."""

    ok: bool
    size: int
    verified_at: dt.datetime
    first_failure: str | None = None


@dataclass(frozen=True)
class PollFact:
    """A poll as stored: the present count and quorum recorded when it opened."""

    meeting: int
    matter: str
    present: int
    members: int
    quorum: str


@dataclass(frozen=True)
class MatterFact:
    """An open matter and when it reached its current state (its newest step record)."""

    number: str
    title: str
    state: MatterState
    since: dt.datetime


@dataclass(frozen=True)
class MeetingFact:
    """A meeting's state and local dates: when it starts, and when it was opened (held)."""

    number: int
    state: str
    starts_on: dt.date
    opened_on: dt.date | None


@dataclass(frozen=True)
class LedgerFact:
    """The log's size, how much of it the township witness cosigned, and when the first record
    it has not cosigned was written (None when everything is cosigned)."""

    size: int
    cosigned_size: int
    uncosigned_since: dt.datetime | None


@dataclass(frozen=True)
class NoticeFact:
    """A published, passed result's notice period and when implementation started (if it has)."""

    number: str
    title: str
    ends_at: dt.datetime
    started_at: dt.datetime | None


@dataclass(frozen=True)
class ObjectionFact:
    """An objection not answered yet, with its reply deadline."""

    matter: str
    number: int
    due_at: dt.datetime


@dataclass(frozen=True)
class VillageFacts:
    """Everything the warning rules look at for one village, with its township's limits."""

    village: str
    step_limit_days: int
    witness_limit_days: int
    verification: VerificationFact | None = None
    equivocations: int = 0
    polls: Sequence[PollFact] = ()
    matters: Sequence[MatterFact] = ()
    meetings: Sequence[MeetingFact] = ()
    ledger: LedgerFact | None = None
    open_requests: int = 0
    representatives: int = 0
    roster: Sequence[RosterWarning] = ()
    notices: Sequence[NoticeFact] = ()
    objections: Sequence[ObjectionFact] = ()
    objection_reply_days: int = 7
    notice_ending_days: int = 1


# --- The rules ------------------------------------------------------------------------------------


def verification_warnings(village: str, last: VerificationFact | None) -> list[OversightWarning]:
    """Red when the newest server-side verification of the log failed."""
    if last is None or last.ok:
        return []
    return [OversightWarning(
        "ledger.verification_failed", Target(TargetKind.LEDGER, village),
        N_("%(at)s对前%(size)s条记录的验证失败：%(failure)s"),
        {"at": last.verified_at.strftime("%Y-%m-%d %H:%M"), "size": last.size,
         "failure": (last.first_failure or "")[:200]})]


def equivocation_warnings(village: str, evidence: int) -> list[OversightWarning]:
    """Red while a witness, or this instance's kept cosigned checkpoint, holds evidence of a split
    view or rollback of the log."""
    if evidence <= 0:
        return []
    return [OversightWarning(
        "ledger.equivocation", Target(TargetKind.LEDGER, village),
        N_("见证方或本机保存的已见证检查点发现了%(n)s份账本分叉或回滚的证据"), {"n": evidence})]


@functools.lru_cache(maxsize=64)
def _stored_quorum(text: str) -> Fraction:
    """A poll row's quorum text as a fraction (a district has a handful of distinct texts and
    tens of thousands of polls: parse each once)."""
    try:
        return Fraction(text)
    except (ValueError, ZeroDivisionError):
        return Fraction(2, 3)  # unreadable: check against the law's quorum


def below_quorum(present: int, members: int, quorum_text: str) -> bool:
    """Whether a poll row's present count is below its own stored quorum of its members:
    present < ⌈q × members⌉, i.e. present × den < num × members (integers only: a district has
    tens of thousands of polls, grouped by these three values before they get here)."""
    quorum = _stored_quorum(quorum_text)
    return present * quorum.denominator < quorum.numerator * members


def poll_quorum_warnings(village: str, polls: Sequence[PollFact]) -> list[OversightWarning]:
    """Red for a poll whose stored row shows fewer present than its quorum when it opened.
    The service refuses to open such a poll; this catches a row written some other way."""
    warnings = []
    for poll in polls:
        if not below_quorum(poll.present, poll.members, poll.quorum):
            continue
        quorum = _stored_quorum(poll.quorum)
        needed = quorum_needed(poll.members, quorum)
        warnings.append(OversightWarning(
            "assembly.poll_below_quorum", Target(TargetKind.MEETING, village, str(poll.meeting)),
            N_("第%(meeting)s次会议对事项%(matter)s的表决开始时只有%(present)s人到会"),
            {"meeting": poll.meeting, "matter": poll.matter, "present": poll.present},
            {"quorum": str(quorum), "members": poll.members, "needed": needed}))
    return warnings


#: Open states the step limit watches: a matter waiting for steps 1–5, or passed and waiting for
#: implementation to start. Implementation itself runs for months; its own warnings come later.
STEP_LIMIT_STATES: frozenset[MatterState] = frozenset({
    MatterState.SUGGESTED, MatterState.PROPOSED, MatterState.RETURNED, MatterState.DISCUSSED,
    MatterState.FILED, MatterState.PASSED})


def step_limit_warnings(village: str, matters: Sequence[MatterFact], limit_days: int,
                        now: dt.datetime) -> list[OversightWarning]:
    """Yellow for an open matter that has waited at one step longer than the township's
    ``step_limit_days``."""
    warnings = []
    for m in matters:
        if m.state not in STEP_LIMIT_STATES:
            continue
        waited = now - m.since
        if waited > dt.timedelta(days=limit_days):
            step = m.state.awaiting
            warnings.append(OversightWarning(
                "procedure.step_limit", Target(TargetKind.MATTER, village, m.number),
                N_("事项%(number)s“%(title)s”等待“%(step)s”已%(days)s天"),
                {"number": m.number, "title": m.title, "days": waited.days,
                 "step": Msg(step.label if step else m.state.label)},
                {"limit": limit_days}))
    return warnings


def quarter_of(day: dt.date) -> tuple[int, int]:
    """(year, quarter 1–4) of ``day``."""
    return day.year, (day.month - 1) // 3 + 1


def quarter_bounds(day: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day of the quarter containing ``day``."""
    year, q = quarter_of(day)
    first = dt.date(year, 3 * q - 2, 1)
    last = (dt.date(year + 1, 1, 1) if q == 4 else dt.date(year, 3 * q + 1, 1)
            ) - dt.timedelta(days=1)
    return first, last


def quarterly_meeting_warnings(village: str, meetings: Sequence[MeetingFact],
                               today: dt.date) -> list[OversightWarning]:
    """Yellow when no assembly meeting has been held (opened) this quarter and none is convened
    for the rest of it (组织法 art. 26: at least once a quarter)."""
    first, last = quarter_bounds(today)
    for m in meetings:
        if m.opened_on is not None and first <= m.opened_on <= last:
            return []
        if m.opened_on is None and m.state == "convened" and today <= m.starts_on <= last:
            return []
    year, q = quarter_of(today)
    return [OversightWarning(
        "assembly.quarterly_meeting", Target(TargetKind.MEETINGS, village),
        N_("%(year)s年第%(q)s季度（至%(end)s）尚未召开村民代表会议，也没有已召集的会议"),
        {"year": year, "q": q, "end": last.isoformat()})]


def unopened_meeting_warnings(village: str, meetings: Sequence[MeetingFact],
                              today: dt.date) -> list[OversightWarning]:
    """Yellow for each convened meeting whose day has passed (``today`` is later, China time)
    and that was never opened: nobody could check in or vote, and the agenda's matters still
    wait. It links to the meeting, where its runners may still open it (or convene anew)."""
    return [OversightWarning(
        "assembly.meeting_not_opened", Target(TargetKind.MEETING, village, str(m.number)),
        N_("第%(n)s次村民代表会议定于%(day)s召开，会期已过仍未开始"),
        {"n": m.number, "day": m.starts_on.isoformat()}, {"day": m.starts_on.isoformat()})
        for m in meetings
        if m.state == MeetingState.CONVENED.value and m.opened_on is None
        and m.starts_on < today]


def witness_warnings(village: str, ledger: LedgerFact | None, limit_days: int,
                     now: dt.datetime) -> list[OversightWarning]:
    """Yellow when records older than the township's ``witness_limit_days`` are still not
    covered by a checkpoint the township witness cosigned."""
    if ledger is None or ledger.uncosigned_since is None or ledger.size <= ledger.cosigned_size:
        return []
    waited = now - ledger.uncosigned_since
    if waited <= dt.timedelta(days=limit_days):
        return []
    return [OversightWarning(
        "ledger.witness_overdue", Target(TargetKind.LEDGER, village),
        N_("账本共%(size)s条记录，乡镇见证方只签到第%(cosigned)s条；最早未签名的记录已等待%(days)s天"),
        {"size": ledger.size, "cosigned": ledger.cosigned_size, "days": waited.days},
        {"limit": limit_days})]


def request_warnings(village: str, requests: int, representatives: int
                     ) -> list[OversightWarning]:
    """Yellow while unanswered meeting requests come from at least a fifth of the
    representatives (组织法 art. 26): the committee must convene a meeting."""
    if not requests_force_a_meeting(requests, representatives):
        return []
    return [OversightWarning(
        "assembly.request", Target(TargetKind.MEETINGS, village),
        N_("%(n)s名村民代表提议召开会议，尚未召集"), {"n": requests},
        {"representatives": representatives, "needed": -(-representatives // 5)})]


def roster_ratio_warnings(village: str, roster: Sequence[RosterWarning]
                          ) -> list[OversightWarning]:
    """Blue for each roster warning of arts. 25 and 32 (ratios, households, accounting skill)."""
    return [OversightWarning(w.rule, Target(TargetKind.REGISTER, village), w.msgid,
                             dict(w.params))
            for w in roster if w.rule in WARNING_RULES_BY_CODE]


def notice_warnings(village: str, notices: Sequence[NoticeFact], ending_days: int,
                    now: dt.datetime) -> list[OversightWarning]:
    """Red when implementation started before the notice period ended (the service refuses it;
    this catches a row written some other way); blue when a notice period ends within the
    township's ``notice_ending_days`` and implementation has not started."""
    warnings = []
    for n in notices:
        end = n.ends_at.strftime("%Y-%m-%d %H:%M")
        if n.started_at is not None and n.started_at < n.ends_at:
            warnings.append(OversightWarning(
                "notice.started_early", Target(TargetKind.MATTER, village, n.number),
                N_("事项%(number)s“%(title)s”在公示期内（%(started)s）开始实施"),
                {"number": n.number, "title": n.title,
                 "started": n.started_at.strftime("%Y-%m-%d %H:%M")}, {"end": end}))
        elif n.started_at is None and now <= n.ends_at <= now + dt.timedelta(days=ending_days):
            warnings.append(OversightWarning(
                "notice.ending_soon", Target(TargetKind.MATTER, village, n.number),
                N_("事项%(number)s“%(title)s”的公示期将于%(end)s结束"),
                {"number": n.number, "title": n.title, "end": end}, {"limit": ending_days}))
    return warnings


def objection_warnings(village: str, objections: Sequence[ObjectionFact], reply_days: int,
                       now: dt.datetime) -> list[OversightWarning]:
    """Yellow for an objection still unanswered after its reply deadline."""
    return [OversightWarning(
        "objection.overdue", Target(TargetKind.MATTER, village, o.matter),
        N_("事项%(matter)s的异议%(n)s已超过答复期限（%(due)s）仍未答复"),
        {"matter": o.matter, "n": o.number, "due": o.due_at.strftime("%Y-%m-%d %H:%M")},
        {"limit": reply_days})
        for o in objections if now > o.due_at]


def village_warnings(facts: VillageFacts, now: dt.datetime, today: dt.date
                     ) -> list[OversightWarning]:
    """Every warning of one village, red first. ``today`` is the local (China) date of ``now``."""
    v = facts.village
    found = [
        *verification_warnings(v, facts.verification),
        *equivocation_warnings(v, facts.equivocations),
        *poll_quorum_warnings(v, facts.polls),
        *step_limit_warnings(v, facts.matters, facts.step_limit_days, now),
        *quarterly_meeting_warnings(v, facts.meetings, today),
        *unopened_meeting_warnings(v, facts.meetings, today),
        *witness_warnings(v, facts.ledger, facts.witness_limit_days, now),
        *request_warnings(v, facts.open_requests, facts.representatives),
        *notice_warnings(v, facts.notices, facts.notice_ending_days, now),
        *objection_warnings(v, facts.objections, facts.objection_reply_days, now),
        *roster_ratio_warnings(v, facts.roster),
    ]
    return sorted(found, key=lambda w: w.colour.rank)
