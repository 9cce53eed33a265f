"""Township and district oversight: the dashboard's figures per village and its red / yellow /
blue warnings (rules in domain/oversight.py), and their CSV / XLSX exports.

Read-only. The number of queries is fixed: each figure is one grouped query over all villages in
scope, never one query per village or per matter (tests/services/test_oversight.py counts them).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import Select, and_, delete, distinct, func, insert, or_, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from sunvote.domain.assembly import Channel, MeetingState, PollState
from sunvote.domain.errors import render
from sunvote.domain.ledger.origin import legacy_origin
from sunvote.domain.matter_filter import STATE_GROUPS, MatterFilter
from sunvote.domain.matters import CATEGORIES_BY_CODE
from sunvote.domain.oversight import (
    STEP_LIMIT_STATES,
    Colour,
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
    below_quorum,
    check_district_overseer,
    check_township_overseer,
    quarter_of,
    village_warnings,
)
from sunvote.domain.procedure import STATE_LABELS, Action, MatterState
from sunvote.domain.roles import ASSEMBLY_ROLES, SUPERVISOR_ROLES, Role
from sunvote.domain.roster import (
    HOUSEHOLDS_PER_REPRESENTATIVE,
    RosterCounts,
    counted_roster_warnings,
    households_in_range,
)
from sunvote.domain.settings import SETTINGS_BY_KEY, TownshipSettings
from sunvote.extensions import db
from sunvote.models import (
    Attendance,
    LedgerCosigned,
    LedgerHead,
    LedgerRecord,
    LedgerVerification,
    Matter,
    Meeting,
    MeetingMember,
    MeetingRequest,
    Objection,
    PaperBatch,
    Participation,
    Person,
    Poll,
    RoleAssignment,
    StepRecord,
    Township,
    TownshipSetting,
    Village,
    VillageFigures,
    WitnessKey,
)
from sunvote.services import administration as admin_service
from sunvote.services import register_files, witness
from sunvote.services.access import CHINA, local_date, require_village_access, term_in_force
from sunvote.services.matter_filter import MatterPage, find_matters
from sunvote.services.unit_of_work import use_case

#: How many quarters the "meetings held per quarter" figure shows, the current one last.
QUARTERS = 4

#: The counts of a village where nobody holds a role today.
NO_ROSTER = RosterCounts(0, 0, 0, 0, 0)


@dataclass
class Figures:
    """A village's counts, kept in ``village_figures`` with the ledger size they were counted at
    (see :func:`_figures`)."""

    by_state: dict[str, int] = field(default_factory=dict)
    by_category: dict[int, int] = field(default_factory=dict)
    seats: int = 0  # members on the frozen rosters of meetings opened
    attendance: int = 0
    attendance_cloud: int = 0
    ballots: int = 0
    ballots_cloud: int = 0
    polls_passed: int = 0
    polls_rejected: int = 0
    #: Meetings opened (held) per quarter, China time, every quarter the village met in.
    meetings_by_quarter: dict[tuple[int, int], int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """As stored (JSON object keys are text: a category's number, a quarter's "2026-4")."""
        return {**dataclasses.asdict(self), "version": FIGURES_VERSION,
                "by_category": {str(c): n for c, n in self.by_category.items()},
                "meetings_by_quarter": {f"{y}-{q}": n for (y, q), n in
                                        self.meetings_by_quarter.items()}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Figures:
        """As :meth:`to_json` stored it."""
        return cls(**{**{k: v for k, v in data.items() if k != "version"},
                      "by_category": {int(c): n for c, n in data["by_category"].items()},
                      "meetings_by_quarter": {
                          (int(k[:4]), int(k[5:])): n
                          for k, n in data.get("meetings_by_quarter", {}).items()}})


FIGURE_FIELDS = tuple(f.name for f in dataclasses.fields(Figures))

#: Stored figures of another version are counted again: raise it whenever Figures changes.
FIGURES_VERSION = 1


@dataclass(kw_only=True)
class VillageSummary(Figures):
    """One village's figures (of the meetings per quarter, the quarters shown) and warnings; or
    a township's or the district's, added up (:func:`_total`)."""

    id: int
    code: str
    name: str
    township_code: str
    township_name: str
    warnings: list[OversightWarning] = field(default_factory=list)
    open_matters: list[MatterFact] = field(default_factory=list)
    village_count: int = 1  # more in a township's or the district's total

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
    """The figures of every village in scope, the quarters shown, and totals (per township, then
    over everything: added up once, on first use)."""

    villages: list[VillageSummary]
    quarters: list[tuple[int, int]]
    now: dt.datetime

    @functools.cached_property
    def warnings(self) -> list[tuple[VillageSummary, OversightWarning]]:
        """Every warning with its village, red first, then by village."""
        pairs = [(v, w) for v in self.villages for w in v.warnings]
        return sorted(pairs, key=lambda p: (p[1].colour.rank, p[0].township_code, p[0].code))

    def warnings_of(self, colour: Colour | None) -> list[tuple[VillageSummary, OversightWarning]]:
        """The warnings of one colour (all with None), in the order of :attr:`warnings`."""
        return [pair for pair in self.warnings if colour is None or pair[1].colour is colour]

    @functools.cached_property
    def townships(self) -> list[VillageSummary]:
        """One row per township: its villages' figures added up and their warnings together,
        in the order of the villages (by township code)."""
        groups: dict[str, list[VillageSummary]] = {}
        for v in self.villages:
            groups.setdefault(v.township_code, []).append(v)
        return [_total(group, code, group[0].township_name) for code, group in groups.items()]

    @functools.cached_property
    def summary(self) -> VillageSummary:
        """The totals as one pseudo-village (rates over everything in scope)."""
        return _total(self.townships, "", "")

    def colour_count(self, colour: str) -> int:
        """Warnings of ``colour`` over all villages."""
        return self.summary.colour_count(colour)

    def by_state(self) -> dict[str, int]:
        """Matters per state over all villages."""
        return self.summary.by_state

    def by_category(self) -> dict[int, int]:
        """Matters per category over all villages."""
        return self.summary.by_category

    def meetings_by_quarter(self) -> dict[tuple[int, int], int]:
        """Meetings held per quarter over all villages, for each quarter shown."""
        return {q: self.summary.meetings_by_quarter.get(q, 0) for q in self.quarters}


def _total(villages: list[VillageSummary], code: str, name: str) -> VillageSummary:
    """Villages' (or townships') figures added up as one pseudo-village."""
    total = VillageSummary(id=0, code=code, name=name, township_code=code, township_name=name,
                           village_count=sum(v.village_count for v in villages))
    for v in villages:
        total.seats += v.seats
        total.attendance += v.attendance
        total.attendance_cloud += v.attendance_cloud
        total.ballots += v.ballots
        total.ballots_cloud += v.ballots_cloud
        total.polls_passed += v.polls_passed
        total.polls_rejected += v.polls_rejected
        for state, n in v.by_state.items():
            total.by_state[state] = total.by_state.get(state, 0) + n
        for category, n in v.by_category.items():
            total.by_category[category] = total.by_category.get(category, 0) + n
        for q, n in v.meetings_by_quarter.items():
            total.meetings_by_quarter[q] = total.meetings_by_quarter.get(q, 0) + n
        total.warnings.extend(v.warnings)
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


def district_matters(actor_id: int, now: dt.datetime, f: MatterFilter) -> MatterPage:
    """The district's matters that ``f`` lets through, a page of them, for its administrator."""
    check_district_overseer(admin_service.district_roles(actor_id, now))
    return find_matters(select(Village.id), f, MATTER_GROUPING, with_village=True)


def township_matters(actor_id: int, township: Township, now: dt.datetime,
                     f: MatterFilter) -> MatterPage:
    """The township's matters that ``f`` lets through, for its administrator (or the
    district's)."""
    check_township_overseer(admin_service.roles_in_township(actor_id, township.id, now))
    return find_matters(select(Village.id).where(Village.township_id == township.id), f,
                        MATTER_GROUPING, with_village=True)


#: The oversight matter lists show matters in the public board's order.
MATTER_GROUPING = STATE_GROUPS


# --- Building the figures -------------------------------------------------------------------------


def build(scope: Select[Any], now: dt.datetime, *, matters: bool = False) -> Dashboard:
    """The dashboard for the villages whose ids ``scope`` selects (a subquery, so the number of
    villages never changes the statements); ``matters`` keeps each village's open matters."""
    ids = scope  # every query below filters on "village_id IN (scope)"
    today = local_date(now)
    quarters = _quarters(today)
    rows = db.session.execute(
        select(Village.id, Village.code, Village.name, Township.code, Township.name,
               Township.id, Village.ledger_origin)
        .join(Township, Township.id == Village.township_id)
        .where(Village.id.in_(ids)).order_by(Township.code, Village.code)).all()
    villages = {r[0]: VillageSummary(id=r[0], code=r[1], name=r[2], township_code=r[3],
                                     township_name=r[4]) for r in rows}
    township_of = {r[0]: r[5] for r in rows}
    settings = _settings({r[5] for r in rows})

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

    # This quarter's meetings, for the quarterly-meeting rule (earlier quarters' counts are in
    # the stored figures), and every meeting convened and never opened (its own rule).
    since_day = dt.datetime.combine(_quarter_first(quarters[-1]), dt.time(), CHINA)
    meetings: dict[int, list[MeetingFact]] = defaultdict(list)
    for vid, meeting_no, state, starts_at, opened_at in db.session.execute(
            select(Meeting.village_id, Meeting.number, Meeting.state, Meeting.starts_at,
                   Meeting.opened_at)
            .where(Meeting.village_id.in_(ids),
                   or_(Meeting.opened_at >= since_day, Meeting.starts_at >= since_day,
                       # convened and never opened, however long ago: a warning of its own
                       Meeting.state == MeetingState.CONVENED))):
        opened_on = local_date(_aware(opened_at)) if opened_at is not None else None
        meetings[vid].append(MeetingFact(meeting_no, state, local_date(_aware(starts_at)),
                                         opened_on))

    # The tamper check on poll rows reads every poll, grouped by what it compares (a district's
    # tens of thousands of polls come back as a few rows per meeting); only meetings with a
    # group below its quorum have their polls listed.
    suspect = {meeting_id for meeting_id, quorum, present, members in db.session.execute(
        select(Poll.meeting_id, Poll.quorum, Poll.present, Poll.members)
        .where(Poll.meeting_id.in_(select(Meeting.id).where(Meeting.village_id.in_(ids))))
        .distinct())
        if below_quorum(present, members, quorum)}
    polls: dict[int, list[PollFact]] = defaultdict(list)
    if suspect:
        for vid, meeting_no, matter_no, present, members, quorum in db.session.execute(
                select(Meeting.village_id, Meeting.number, Matter.number, Poll.present,
                       Poll.members, Poll.quorum)
                .join(Poll, Poll.meeting_id == Meeting.id)
                .join(Matter, Matter.id == Poll.matter_id)
                .where(Meeting.id.in_(sorted(suspect)))
                .order_by(Meeting.village_id, Meeting.number, Poll.number)):
            if below_quorum(present, members, quorum):
                polls[vid].append(PollFact(meeting_no, matter_no, present, members, quorum))

    newest = (select(func.max(LedgerVerification.id))
              .where(LedgerVerification.village_id.in_(ids))
              .group_by(LedgerVerification.village_id))
    verifications = {
        vid: VerificationFact(ok, size, _aware(at).astimezone(CHINA),
                              failures[0] if failures else None)
        for vid, ok, size, at, failures in db.session.execute(
            select(LedgerVerification.village_id, LedgerVerification.ok,
                   LedgerVerification.size, LedgerVerification.verified_at,
                   LedgerVerification.failures)
            # only failures: a passing newest verification raises nothing
            .where(LedgerVerification.id.in_(newest), LedgerVerification.ok.is_(False)))}

    # Rollback and fork evidence is rare: count it per origin, in the witness store (outside
    # the database, so a restore cannot clear it) and in the older table.
    origins = {r[6] or legacy_origin(r[3], r[1]): r[0] for r in rows}
    equivocations: dict[int, int] = {}
    for found in witness.evidence_for(list(origins)):
        vid = origins[found.origin]
        equivocations[vid] = equivocations.get(vid, 0) + 1

    ledgers = _ledgers(ids, set(township_of.values()))
    for vid, figures in _figures(ids, list(villages),
                                 {vid: f.size for vid, f in ledgers.items()}).items():
        for name in FIGURE_FIELDS:
            setattr(villages[vid], name, getattr(figures, name))
        # of the quarters the village met in, those shown
        villages[vid].meetings_by_quarter = {q: n for q, n in figures.meetings_by_quarter.items()
                                             if q in quarters}

    open_requests: dict[int, int] = {vid: n for vid, n in db.session.execute(
        select(MeetingRequest.village_id, func.count())
        .where(MeetingRequest.village_id.in_(ids),
               MeetingRequest.answered_by_meeting_id.is_(None))
        .group_by(MeetingRequest.village_id))}

    rosters = _rosters(ids, today)

    # Matters under notice the step-6 rules may warn about (they decide): implementation started
    # before the notice ended, or no start yet and the notice ends within the longest
    # notice_ending_days in scope.
    notices: dict[int, list[NoticeFact]] = defaultdict(list)
    longest = max((int(str(s["notice_ending_days"])) for s in settings.values()), default=1)
    starts = (select(StepRecord.matter_id, func.min(StepRecord.acted_at).label("at"))
              .where(StepRecord.action == Action.START_IMPLEMENTATION.value)
              .group_by(StepRecord.matter_id).subquery())
    for vid, number, title, ends_at, started in db.session.execute(
            select(Matter.village_id, Matter.number, Matter.title, Matter.notice_ends_at,
                   starts.c.at)
            .outerjoin(starts, starts.c.matter_id == Matter.id)
            .where(Matter.village_id.in_(ids), Matter.notice_ends_at.is_not(None),
                   Matter.state.in_([MatterState.PASSED.value,
                                     MatterState.IMPLEMENTING.value]),
                   or_(starts.c.at < Matter.notice_ends_at,
                       and_(starts.c.at.is_(None),
                            Matter.notice_ends_at.between(
                                now, now + dt.timedelta(days=longest)))))):
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
        roster = rosters.get(vid, NO_ROSTER)
        vfacts = VillageFacts(
            village=summary.code,
            step_limit_days=int(str(township_settings["step_limit_days"])),
            witness_limit_days=int(str(township_settings["witness_limit_days"])),
            verification=verifications.get(vid), equivocations=equivocations.get(vid, 0),
            polls=polls.get(vid, []), matters=open_matters.get(vid, []),
            meetings=meetings.get(vid, []), ledger=ledgers.get(vid),
            open_requests=open_requests.get(vid, 0),
            representatives=roster.representatives,
            roster=counted_roster_warnings(roster), notices=notices.get(vid, []),
            objections=objections.get(vid, []),
            objection_reply_days=int(str(township_settings["objection_reply_days"])),
            notice_ending_days=int(str(township_settings["notice_ending_days"])))
        summary.warnings = village_warnings(vfacts, now, today)
        if matters:
            summary.open_matters = open_matters.get(vid, [])
    return Dashboard(list(villages.values()), quarters, now)


def _figures(ids: Select[Any], village_ids: list[int], ledger_sizes: Mapping[int, int]
             ) -> dict[int, Figures]:
    """The villages' figures: those stored at their ledger's current size as they are, the
    others counted again and stored (in a transaction of their own). A village without a ledger
    has had no change through SunVote and is counted every time."""
    found: dict[int, Figures] = {}
    for vid, size, data in db.session.execute(
            select(VillageFigures.village_id, VillageFigures.ledger_size, VillageFigures.figures)
            .where(VillageFigures.village_id.in_(ids))):
        if size == ledger_sizes.get(vid) and data.get("version") == FIGURES_VERSION:
            found[vid] = Figures.from_json(data)
    stale = [vid for vid in village_ids if vid not in found]
    if stale:
        counted = count_figures(stale)
        found.update(counted)
        keep = {vid: (ledger_sizes[vid], counted[vid]) for vid in stale if vid in ledger_sizes}
        if keep:
            try:
                _store_figures(keep)
            except IntegrityError:
                pass  # another request stored them first: theirs are as good
            except SQLAlchemyError as error:  # SQLite busy beyond its timeout, say
                # Storing is an optimisation: the page shows what was counted, and the next
                # render counts these villages again.
                current_app.logger.warning("village figures not stored: %s", error)
    return found


def count_figures(village_ids: list[int]) -> dict[int, Figures]:
    """Count the villages' figures from their rows: one grouped query per table, one row per
    village (a closed poll's counts, cloud ballots included, are on its row)."""
    out = {vid: Figures() for vid in village_ids}
    states = list(MatterState)
    categories = list(CATEGORIES_BY_CODE)
    for vid, *counts in db.session.execute(
            select(Matter.village_id,
                   *(func.count().filter(Matter.state == s.value) for s in states),
                   *(func.count().filter(Matter.category == c) for c in categories))
            .where(Matter.village_id.in_(village_ids)).group_by(Matter.village_id)):
        by_state, by_category = counts[:len(states)], counts[len(states):]
        out[vid].by_state = {s.value: n for s, n in zip(states, by_state, strict=True) if n}
        out[vid].by_category = {c: n for c, n in zip(categories, by_category, strict=True)
                                if n}
    for vid, opened_at in db.session.execute(
            select(Meeting.village_id, Meeting.opened_at)
            .where(Meeting.village_id.in_(village_ids), Meeting.opened_at.is_not(None))):
        if opened_at is not None:  # filtered above
            quarter = quarter_of(local_date(_aware(opened_at)))
            held = out[vid].meetings_by_quarter
            held[quarter] = held.get(quarter, 0) + 1
    for vid, n in db.session.execute(
            select(Meeting.village_id, func.count())
            .join(MeetingMember, MeetingMember.meeting_id == Meeting.id)
            .where(Meeting.village_id.in_(village_ids), Meeting.opened_at.is_not(None))
            .group_by(Meeting.village_id)):
        out[vid].seats = n
    cloud = Channel.CLOUD
    for vid, n, n_cloud in db.session.execute(
            select(Meeting.village_id, func.count(),
                   func.count().filter(Attendance.channel == cloud))
            .join(Attendance, Attendance.meeting_id == Meeting.id)
            .where(Meeting.village_id.in_(village_ids)).group_by(Meeting.village_id)):
        out[vid].attendance, out[vid].attendance_cloud = n, n_cloud
    for vid, passed, rejected, cast, n_cloud in db.session.execute(
            select(Meeting.village_id,
                   func.count().filter(Poll.verdict == "passed"),
                   func.count().filter(Poll.verdict == "rejected"),
                   func.sum(func.coalesce(Poll.yes, 0) + func.coalesce(Poll.no, 0)
                            + func.coalesce(Poll.abstain, 0)),
                   func.sum(func.coalesce(Poll.cloud, 0)))
            .join(Poll, Poll.meeting_id == Meeting.id)
            .where(Meeting.village_id.in_(village_ids)).group_by(Meeting.village_id)):
        out[vid].polls_passed, out[vid].polls_rejected = passed, rejected
        out[vid].ballots, out[vid].ballots_cloud = int(cast or 0), int(n_cloud or 0)
    # Open polls have no counts on their row yet: their ballots are counted one by one, but not
    # paper ballots awaiting confirmation (they count nowhere yet, and entering or withdrawing
    # them writes no ledger record, which stored figures would miss).
    # Counted from the participations, one per ballot: a secret ballot's row has no channel.
    for vid, n, n_cloud in db.session.execute(
            select(Meeting.village_id, func.count(), func.count().filter(
                Participation.channel == cloud))
            .join(Poll, Poll.meeting_id == Meeting.id)
            .join(Participation, Participation.poll_id == Poll.id)
            .outerjoin(PaperBatch, PaperBatch.id == Participation.paper_batch_id)
            .where(Meeting.village_id.in_(village_ids), Poll.state == PollState.OPEN,
                   or_(Participation.paper_batch_id.is_(None),
                       PaperBatch.confirmed_at.is_not(None)))
            .group_by(Meeting.village_id)):
        out[vid].ballots += n
        out[vid].ballots_cloud += n_cloud
    return out


@use_case
def _store_figures(figures: Mapping[int, tuple[int, Figures]]) -> None:
    """Keep counted figures with the ledger size they were counted at."""
    db.session.execute(delete(VillageFigures).where(
        VillageFigures.village_id.in_(list(figures))))
    db.session.execute(insert(VillageFigures), [
        {"village_id": vid, "ledger_size": size, "figures": f.to_json()}
        for vid, (size, f) in figures.items()])


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


def _rosters(ids: Select[Any], day: dt.date) -> dict[int, RosterCounts]:
    """Each village's roster counts from today's terms (people counted once whatever their
    number of roles), as domain.roster.roster_counts counts one village's: one grouped query,
    then one for the representatives whose households are out of range (few)."""
    person = RoleAssignment.person_id
    role = RoleAssignment.role
    assembly = role.in_([r.value for r in ASSEMBLY_ROLES])
    representative = role == Role.REPRESENTATIVE.value
    supervisor = role.in_([r.value for r in SUPERVISOR_ROLES])
    in_force = and_(RoleAssignment.village_id.in_(ids), term_in_force(day))
    counts: dict[int, RosterCounts] = {}
    for vid, n_assembly, reps, women, supervisors, accounting in db.session.execute(
            select(RoleAssignment.village_id,
                   func.count(distinct(person)).filter(assembly),
                   func.count(distinct(person)).filter(representative),
                   func.count(distinct(person)).filter(representative, Person.female),
                   func.count(distinct(person)).filter(supervisor),
                   func.count(distinct(person)).filter(supervisor, Person.accounting_skill))
            .join(Person, Person.id == person).where(in_force)
            .group_by(RoleAssignment.village_id)):
        if vid is not None:  # the scope selects village terms only
            counts[vid] = RosterCounts(n_assembly, reps, women, supervisors, accounting)
    low, high = HOUSEHOLDS_PER_REPRESENTATIVE
    off_range: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for vid, _pid, name, n in db.session.execute(
            select(RoleAssignment.village_id, Person.id, Person.name,
                   RoleAssignment.households_represented)
            .join(Person, Person.id == person)
            .where(in_force, representative,
                   or_(RoleAssignment.households_represented < low,
                       RoleAssignment.households_represented > high))
            .distinct().order_by(RoleAssignment.village_id, Person.id)):
        if vid is not None and n is not None and not households_in_range(n):
            off_range[vid].append((name, n))
    return {vid: dataclasses.replace(c, households_off_range=tuple(off_range.get(vid, ())))
            for vid, c in counts.items()}


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
