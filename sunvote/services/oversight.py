"""Township and district oversight: the dashboard's figures per village and its red / yellow /
blue warnings (rules in domain/warnings.py), and their CSV / XLSX exports.

Read-only. The number of queries is fixed: each figure is one grouped query over all villages in
scope, never one query per village or per matter (tests/services/test_oversight.py counts them).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import Select, and_, func, or_, select

from sunvote.domain.errors import render
from sunvote.domain.matters import CATEGORIES_BY_CODE
from sunvote.domain.procedure import STATE_LABELS, Action, MatterState
from sunvote.domain.roles import Role
from sunvote.domain.roster import RosterMember, roster_warnings
from sunvote.domain.settings import SETTINGS_BY_KEY, TownshipSettings
from sunvote.domain.warnings import (
    STEP_LIMIT_STATES,
    LedgerFact,
    MatterFact,
    MeetingFact,
    NoticeFact,
    ObjectionFact,
    OversightWarning,
    PollFact,
    TargetKind,
    VerificationFact,
    VillageFacts,
    check_district_overseer,
    check_township_overseer,
    quarter_of,
    village_warnings,
)
from sunvote.extensions import db
from sunvote.models import (
    Attendance,
    Ballot,
    EquivocationEvidence,
    LedgerCosigned,
    LedgerHead,
    LedgerRecord,
    LedgerVerification,
    Matter,
    Meeting,
    MeetingMember,
    MeetingRequest,
    Objection,
    Person,
    Poll,
    RoleAssignment,
    StepRecord,
    Township,
    TownshipSetting,
    Village,
    WitnessKey,
)
from sunvote.services import administration as admin_service
from sunvote.services import register_files
from sunvote.services.access import CHINA, local_date, require_village_access, term_in_force

#: How many quarters the "meetings held per quarter" figure shows, the current one last.
QUARTERS = 4


@dataclass
class VillageSummary:
    """One village's figures and warnings."""

    id: int
    code: str
    name: str
    township_code: str
    township_name: str
    by_state: dict[str, int] = field(default_factory=dict)
    by_category: dict[int, int] = field(default_factory=dict)
    meetings_by_quarter: dict[tuple[int, int], int] = field(default_factory=dict)
    seats: int = 0  # members on the frozen rosters of meetings opened
    attendance: int = 0
    attendance_cloud: int = 0
    ballots: int = 0
    ballots_cloud: int = 0
    polls_passed: int = 0
    polls_rejected: int = 0
    warnings: list[OversightWarning] = field(default_factory=list)
    open_matters: list[MatterFact] = field(default_factory=list)

    @property
    def matters(self) -> int:
        """All matters of the village."""
        return sum(self.by_state.values())

    @property
    def attendance_rate(self) -> float | None:
        """Members present over members on the rosters, over all meetings opened."""
        return self.attendance / self.seats if self.seats else None

    @property
    def cloud_attendance_share(self) -> float | None:
        """Share of attendances by cloud (remote) check-in."""
        return self.attendance_cloud / self.attendance if self.attendance else None

    @property
    def cloud_ballot_share(self) -> float | None:
        """Share of ballots cast by cloud vote."""
        return self.ballots_cloud / self.ballots if self.ballots else None

    @property
    def pass_rate(self) -> float | None:
        """Passed polls over closed polls."""
        closed = self.polls_passed + self.polls_rejected
        return self.polls_passed / closed if closed else None

    def colour_count(self, colour: str) -> int:
        """How many warnings of ``colour`` the village has."""
        return sum(1 for w in self.warnings if w.colour == colour)


@dataclass
class Dashboard:
    """The figures of every village in scope, the quarters shown, and totals."""

    villages: list[VillageSummary]
    quarters: list[tuple[int, int]]
    now: dt.datetime

    @property
    def warnings(self) -> list[tuple[VillageSummary, OversightWarning]]:
        """Every warning with its village, red first, then by village."""
        pairs = [(v, w) for v in self.villages for w in v.warnings]
        return sorted(pairs, key=lambda p: (p[1].colour.rank, p[0].township_code, p[0].code))

    def total(self, name: str) -> int:
        """The sum of an integer figure over the villages."""
        return sum(int(getattr(v, name)) for v in self.villages)

    def colour_count(self, colour: str) -> int:
        """Warnings of ``colour`` over all villages."""
        return sum(v.colour_count(colour) for v in self.villages)

    def by_state(self) -> dict[str, int]:
        """Matters per state over all villages."""
        out: dict[str, int] = defaultdict(int)
        for v in self.villages:
            for state, n in v.by_state.items():
                out[state] += n
        return dict(out)

    def by_category(self) -> dict[int, int]:
        """Matters per category over all villages."""
        out: dict[int, int] = defaultdict(int)
        for v in self.villages:
            for cat, n in v.by_category.items():
                out[cat] += n
        return dict(out)

    def meetings_by_quarter(self) -> dict[tuple[int, int], int]:
        """Meetings held per quarter over all villages."""
        return {q: sum(v.meetings_by_quarter.get(q, 0) for v in self.villages)
                for q in self.quarters}

    @property
    def summary(self) -> VillageSummary:
        """The totals as one pseudo-village (rates over everything in scope)."""
        total = VillageSummary(0, "", "", "", "")
        for name in ("seats", "attendance", "attendance_cloud", "ballots", "ballots_cloud",
                     "polls_passed", "polls_rejected"):
            setattr(total, name, self.total(name))
        total.by_state = self.by_state()
        return total


# --- Use cases: who sees what ---------------------------------------------------------------------


def district_dashboard(actor_id: int, now: dt.datetime) -> Dashboard:
    """Every village of every township, for the district administrator."""
    check_district_overseer(admin_service.district_roles(actor_id, now))
    return build(select(Village.id), now)


def township_dashboard(actor_id: int, township: Township, now: dt.datetime) -> Dashboard:
    """The township's villages, for its administrator (or the district's)."""
    check_township_overseer(admin_service.roles_in_township(actor_id, township.id, now))
    return build(select(Village.id).where(Village.township_id == township.id), now)


def village_dashboard(actor_id: int, village: Village, now: dt.datetime) -> Dashboard:
    """One village's figures, warnings and open matters, for the administrator of its township
    (or the district's): those who already reach it through their role."""
    roles = require_village_access(actor_id, village, now)
    check_township_overseer(roles)
    return build(select(Village.id).where(Village.id == village.id), now, matters=True)


# --- Building the figures -------------------------------------------------------------------------


def build(scope: Select[Any], now: dt.datetime, *, matters: bool = False) -> Dashboard:
    """The dashboard for the villages whose ids ``scope`` selects (a subquery, so the number of
    villages never changes the statements); ``matters`` keeps each village's open matters."""
    ids = scope  # every query below filters on "village_id IN (scope)"
    today = local_date(now)
    quarters = _quarters(today)
    rows = db.session.execute(
        select(Village.id, Village.code, Village.name, Township.code, Township.name,
               Township.id)
        .join(Township, Township.id == Village.township_id)
        .where(Village.id.in_(ids)).order_by(Township.code, Village.code)).all()
    villages = {r[0]: VillageSummary(r[0], r[1], r[2], r[3], r[4]) for r in rows}
    township_of = {r[0]: r[5] for r in rows}
    settings = _settings({r[5] for r in rows})

    for vid, state, n in db.session.execute(
            select(Matter.village_id, Matter.state, func.count())
            .where(Matter.village_id.in_(ids)).group_by(Matter.village_id, Matter.state)):
        villages[vid].by_state[state] = n
    for vid, cat, n in db.session.execute(
            select(Matter.village_id, Matter.category, func.count())
            .where(Matter.village_id.in_(ids), Matter.category.is_not(None))
            .group_by(Matter.village_id, Matter.category)):
        if cat is not None:
            villages[vid].by_category[cat] = n

    open_matters: dict[int, list[MatterFact]] = defaultdict(list)
    # A matter's updated_at is its newest step's time (services/matters sets both together), so
    # no scan of the step records is needed.
    query = (select(Matter.village_id, Matter.number, Matter.title, Matter.state,
                    Matter.updated_at)
             .where(Matter.village_id.in_(ids))
             .order_by(Matter.village_id, Matter.number))
    if matters:  # the drill-down lists every open matter
        query = query.where(Matter.state.in_(
            [s.value for s in STEP_LIMIT_STATES | {MatterState.IMPLEMENTING}]))
    else:  # only those that may break the smallest step limit in scope
        shortest = min((int(str(s["step_limit_days"])) for s in settings.values()), default=1)
        query = query.where(Matter.state.in_([s.value for s in STEP_LIMIT_STATES]),
                            Matter.updated_at < now - dt.timedelta(days=shortest))
    for vid, number, title, state, since in db.session.execute(query):
        open_matters[vid].append(MatterFact(number, title, MatterState(state),
                                            _aware(since)))

    since_day = dt.datetime.combine(_quarter_first(quarters[0]), dt.time(), CHINA)
    meetings: dict[int, list[MeetingFact]] = defaultdict(list)
    for vid, meeting_no, state, starts_at, opened_at in db.session.execute(
            select(Meeting.village_id, Meeting.number, Meeting.state, Meeting.starts_at,
                   Meeting.opened_at)
            .where(Meeting.village_id.in_(ids),
                   or_(Meeting.opened_at >= since_day, Meeting.starts_at >= since_day))):
        opened_on = local_date(_aware(opened_at)) if opened_at is not None else None
        meetings[vid].append(MeetingFact(meeting_no, state, local_date(_aware(starts_at)),
                                         opened_on))
        if opened_on is not None and quarter_of(opened_on) in quarters:
            q = quarter_of(opened_on)
            villages[vid].meetings_by_quarter[q] = villages[vid].meetings_by_quarter.get(q, 0) + 1

    for vid, n in db.session.execute(
            select(Meeting.village_id, func.count())
            .join(MeetingMember, MeetingMember.meeting_id == Meeting.id)
            .where(Meeting.village_id.in_(ids), Meeting.opened_at.is_not(None))
            .group_by(Meeting.village_id)):
        villages[vid].seats = n
    for vid, channel, n in db.session.execute(
            select(Meeting.village_id, Attendance.channel, func.count())
            .join(Attendance, Attendance.meeting_id == Meeting.id)
            .where(Meeting.village_id.in_(ids)).group_by(Meeting.village_id, Attendance.channel)):
        villages[vid].attendance += n
        if channel == "cloud":
            villages[vid].attendance_cloud += n
    # Ballots: a closed poll's counts are on its row (the poll query below adds them); only open
    # polls' ballots are counted here, and cloud ballots (few) through ballot.channel's index.
    for vid, n in db.session.execute(
            select(Meeting.village_id, func.count())
            .join(Poll, Poll.meeting_id == Meeting.id).join(Ballot, Ballot.poll_id == Poll.id)
            .where(Meeting.village_id.in_(ids), Poll.state == "open")
            .group_by(Meeting.village_id)):
        villages[vid].ballots += n
    for vid, n in db.session.execute(
            select(Meeting.village_id, func.count())
            .join(Poll, Poll.meeting_id == Meeting.id).join(Ballot, Ballot.poll_id == Poll.id)
            .where(Meeting.village_id.in_(ids), Ballot.channel == "cloud")
            .group_by(Meeting.village_id)):
        villages[vid].ballots_cloud += n

    polls: dict[int, list[PollFact]] = defaultdict(list)
    for vid, meeting_no, matter_no, present, members, quorum, verdict, cast in db.session.execute(
            select(Meeting.village_id, Meeting.number, Matter.number, Poll.present, Poll.members,
                   Poll.quorum, Poll.verdict,
                   func.coalesce(Poll.yes, 0) + func.coalesce(Poll.no, 0)
                   + func.coalesce(Poll.abstain, 0))
            .join(Poll, Poll.meeting_id == Meeting.id).join(Matter, Matter.id == Poll.matter_id)
            .where(Meeting.village_id.in_(ids))):
        polls[vid].append(PollFact(meeting_no, matter_no, present, members, quorum))
        villages[vid].ballots += cast  # closed polls; open ones are counted above
        if verdict == "passed":
            villages[vid].polls_passed += 1
        elif verdict == "rejected":
            villages[vid].polls_rejected += 1

    newest = (select(func.max(LedgerVerification.id))
              .where(LedgerVerification.village_id.in_(ids))
              .group_by(LedgerVerification.village_id))
    verifications = {
        row.village_id: VerificationFact(row.ok, row.size,
                                         _aware(row.verified_at).astimezone(CHINA),
                                         row.failures[0] if row.failures else None)
        for row in db.session.execute(select(LedgerVerification).where(
            LedgerVerification.id.in_(newest))).scalars()}

    origins = {f"sunvote.{r[3]}/{r[1]}": r[0] for r in rows}
    equivocations: dict[int, int] = {}
    for origin, n in db.session.execute(
            select(EquivocationEvidence.origin, func.count())
            .where(EquivocationEvidence.origin.in_(list(origins)))
            .group_by(EquivocationEvidence.origin)):
        if origin in origins:
            equivocations[origins[origin]] = n

    ledgers = _ledgers(ids, set(township_of.values()))

    open_requests: dict[int, int] = {vid: n for vid, n in db.session.execute(
        select(MeetingRequest.village_id, func.count())
        .where(MeetingRequest.village_id.in_(ids),
               MeetingRequest.answered_by_meeting_id.is_(None))
        .group_by(MeetingRequest.village_id))}

    rosters = _rosters(ids, today)

    notices: dict[int, list[NoticeFact]] = defaultdict(list)
    started_at = func.min(StepRecord.acted_at)  # the matter's start_implementation, if any
    for vid, number, title, ends_at, started in db.session.execute(
            select(Matter.village_id, Matter.number, Matter.title, Matter.notice_ends_at,
                   started_at)
            .outerjoin(StepRecord, and_(
                StepRecord.matter_id == Matter.id,
                StepRecord.action == Action.START_IMPLEMENTATION.value))
            .where(Matter.village_id.in_(ids), Matter.notice_ends_at.is_not(None),
                   Matter.state.in_([MatterState.PASSED.value,
                                     MatterState.IMPLEMENTING.value]))
            .group_by(Matter.id, Matter.village_id, Matter.number, Matter.title,
                      Matter.notice_ends_at)):
        assert ends_at is not None  # filtered above
        notices[vid].append(NoticeFact(number, title, _aware(ends_at).astimezone(CHINA),
                                       _aware(started).astimezone(CHINA)
                                       if started is not None else None))
    objections: dict[int, list[ObjectionFact]] = defaultdict(list)
    for vid, matter_no, objection_no, due_at in db.session.execute(
            select(Matter.village_id, Matter.number, Objection.number, Objection.reply_due_at)
            .join(Objection, Objection.matter_id == Matter.id)
            .where(Matter.village_id.in_(ids), Objection.replied_at.is_(None))):
        objections[vid].append(ObjectionFact(matter_no, objection_no,
                                             _aware(due_at).astimezone(CHINA)))

    for vid, summary in villages.items():
        township_settings = settings[township_of[vid]]
        roster = rosters.get(vid, [])
        vfacts = VillageFacts(
            village=summary.code,
            step_limit_days=int(str(township_settings["step_limit_days"])),
            witness_limit_days=int(str(township_settings["witness_limit_days"])),
            verification=verifications.get(vid), equivocations=equivocations.get(vid, 0),
            polls=polls.get(vid, []), matters=open_matters.get(vid, []),
            meetings=meetings.get(vid, []), ledger=ledgers.get(vid),
            open_requests=open_requests.get(vid, 0),
            representatives=sum(1 for m in roster if Role.REPRESENTATIVE in m.roles),
            roster=roster_warnings(roster), notices=notices.get(vid, []),
            objections=objections.get(vid, []),
            objection_reply_days=int(str(township_settings["objection_reply_days"])),
            notice_ending_days=int(str(township_settings["notice_ending_days"])))
        summary.warnings = village_warnings(vfacts, now, today)
        if matters:
            summary.open_matters = open_matters.get(vid, [])
    return Dashboard(list(villages.values()), quarters, now)


def _aware(value: dt.datetime) -> dt.datetime:
    """SQL aggregates (max) bypass the column type: SQLite hands back naive UTC."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def _quarters(today: dt.date) -> list[tuple[int, int]]:
    year, q = quarter_of(today)
    out = []
    for _ in range(QUARTERS):
        out.append((year, q))
        year, q = (year - 1, 4) if q == 1 else (year, q - 1)
    return out[::-1]


def _quarter_first(quarter: tuple[int, int]) -> dt.date:
    year, q = quarter
    return dt.date(year, 3 * q - 2, 1)


def _settings(township_ids: set[int]) -> dict[int, TownshipSettings]:
    """Each township's settings in force, in one query (the newest revision per key)."""
    latest = (select(TownshipSetting.township_id, TownshipSetting.key,
                     func.max(TownshipSetting.revision).label("rev"))
              .where(TownshipSetting.township_id.in_(township_ids))
              .group_by(TownshipSetting.township_id, TownshipSetting.key).subquery())
    stored: dict[int, dict[str, str]] = {tid: {} for tid in township_ids}
    for tid, key, value in db.session.execute(
            select(TownshipSetting.township_id, TownshipSetting.key, TownshipSetting.value)
            .join(latest, and_(TownshipSetting.township_id == latest.c.township_id,
                               TownshipSetting.key == latest.c.key,
                               TownshipSetting.revision == latest.c.rev))):
        if key in SETTINGS_BY_KEY:
            stored[tid][key] = value
    return {tid: TownshipSettings.from_stored(values) for tid, values in stored.items()}


def _ledgers(ids: Select[Any], township_ids: set[int]) -> dict[int, LedgerFact]:
    """Each village log's size, the size its township witness cosigned, and when the first
    record it has not cosigned was written. Two queries: the witness keys, then one join."""
    configured = current_app.config.get("WITNESS_KEY")
    if configured:
        names = [str(configured).split("+", 1)[0]]
    else:
        names = [vkey.split("+", 1)[0] for vkey in db.session.execute(
            select(WitnessKey.vkey).where(WitnessKey.township_id.in_(township_ids))).scalars()]
    cosigned = (select(LedgerCosigned.village_id, func.max(LedgerCosigned.size).label("size"))
                .where(LedgerCosigned.village_id.in_(ids), LedgerCosigned.witness.in_(names))
                .group_by(LedgerCosigned.village_id).subquery())
    done = func.coalesce(cosigned.c.size, 0)
    out = {}
    for vid, size, cosigned_size, since in db.session.execute(
            select(LedgerHead.village_id, LedgerHead.size, done, LedgerRecord.created_at)
            .outerjoin(cosigned, cosigned.c.village_id == LedgerHead.village_id)
            .outerjoin(LedgerRecord, and_(LedgerRecord.village_id == LedgerHead.village_id,
                                          LedgerRecord.seq == done))
            .where(LedgerHead.village_id.in_(ids))):
        uncosigned = _aware(since) if since is not None and size > cosigned_size else None
        out[vid] = LedgerFact(size, int(cosigned_size), uncosigned)
    return out


def _rosters(ids: Select[Any], day: dt.date) -> dict[int, list[RosterMember]]:
    """Everyone holding a village role today, per village, in one query of plain columns (as
    services.roster.village_roster builds one village's; entities would cost most of the
    dashboard's time)."""
    people: dict[int, dict[int, tuple[str, bool, bool, set[Role], int | None]]] = (
        defaultdict(dict))
    for vid, pid, name, female, skill, role, households in db.session.execute(
            select(RoleAssignment.village_id, Person.id, Person.name, Person.female,
                   Person.accounting_skill, RoleAssignment.role,
                   RoleAssignment.households_represented)
            .join(RoleAssignment, RoleAssignment.person_id == Person.id)
            .where(RoleAssignment.village_id.in_(ids), term_in_force(day))
            .order_by(Person.id)):
        if vid is None:  # pragma: no cover - the query selects village terms only
            continue
        entry = people[vid].setdefault(pid, (name, female, skill, set(), None))
        entry[3].add(Role(role))
        if households is not None:
            people[vid][pid] = (*entry[:4], households)
    return {vid: [RosterMember(pid, name, frozenset(roles), female, households, skill)
                  for pid, (name, female, skill, roles, households) in members.items()]
            for vid, members in people.items()}


# --- Exports --------------------------------------------------------------------------------------

#: Export headers are Chinese whatever the page language: the files go to township and district
#: offices and into their own spreadsheets (village_headers() builds the village sheet's).
WARNING_HEADERS: tuple[str, ...] = ("颜色", "规则代码", "规则", "乡镇", "村", "对象", "情况",
                                    "突破的限值")

COLOUR_NAMES = {"red": "红", "yellow": "黄", "blue": "蓝"}
TARGET_NAMES = {TargetKind.MATTER: "事项", TargetKind.MEETING: "会议",
                TargetKind.LEDGER: "账本", TargetKind.MEETINGS: "会议",
                TargetKind.REGISTER: "花名册"}


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}%"


def _chinese(msgid: str, params: Mapping[str, object]) -> str:
    """A message in Chinese (message ids are the Chinese text)."""
    return render(msgid, params, lambda s: s)


def village_headers(board: Dashboard) -> list[str]:
    """The village sheet's headers, with one column per quarter shown."""
    states = [STATE_LABELS[s] for s in MatterState if s is not MatterState.NEW]
    quarters = [f"{y}年第{q}季度会议数" for y, q in board.quarters]
    return ["乡镇", "村", "村代码", "事项总数", *states, *[f"第{c.code}类" for c in
                                                      CATEGORIES_BY_CODE.values()],
            *quarters, "到会率", "云端签到占比", "云票决占比", "表决通过率",
            "红色预警", "黄色预警", "蓝色预警"]


def village_rows(board: Dashboard) -> list[list[object]]:
    """One row per village, in the order of :func:`village_headers`."""
    rows: list[list[object]] = []
    for v in board.villages:
        rows.append([
            v.township_name, v.name, v.code, v.matters,
            *(v.by_state.get(s.value, 0) for s in MatterState if s is not MatterState.NEW),
            *(v.by_category.get(code, 0) for code in CATEGORIES_BY_CODE),
            *(v.meetings_by_quarter.get(q, 0) for q in board.quarters),
            _percent(v.attendance_rate), _percent(v.cloud_attendance_share),
            _percent(v.cloud_ballot_share), _percent(v.pass_rate),
            v.colour_count("red"), v.colour_count("yellow"), v.colour_count("blue")])
    return rows


def warning_rows(board: Dashboard) -> list[list[object]]:
    """One row per warning, red first, in Chinese."""
    from sunvote.domain.rules import RULES_BY_CODE

    rows: list[list[object]] = []
    for v, w in board.warnings:
        target = TARGET_NAMES[w.target.kind] + (f" {w.target.ref}" if w.target.ref else "")
        rows.append([COLOUR_NAMES[w.colour.value], w.rule, RULES_BY_CODE[w.rule].title,
                     v.township_name, v.name, target, _chinese(w.msgid, w.params),
                     _chinese(w.limit, w.limit_params)])
    return rows


def export_csv(board: Dashboard, what: str) -> bytes:
    """The villages (``what`` = "villages") or the warnings as CSV, UTF-8 with BOM."""
    if what == "warnings":
        return register_files.write_csv(WARNING_HEADERS, warning_rows(board))
    return register_files.write_csv(village_headers(board), village_rows(board))


def export_xlsx(board: Dashboard) -> bytes:
    """Two sheets: 村汇总 (one row per village) and 预警 (one row per warning)."""
    return register_files.write_xlsx_sheets([
        ("村汇总", village_headers(board), village_rows(board)),
        ("预警", list(WARNING_HEADERS), warning_rows(board))])
