"""The state of one log under verification: what is kept per matter, meeting, poll, device
and step 6, and the base class of the feature checks with the checks they share."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from sunvote.domain.administration import checker_login_refusal
from sunvote.domain.assembly import Choice, MeetingState
from sunvote.domain.ledger.note import Verifier
from sunvote.domain.ledger.verifier.reading import (
    _SHA256_HEX,
    CHINA,
    ParsedRecord,
    _enum,
    _parse_at,
)
from sunvote.domain.ledger.verifier.report import Failure, Finding, Kind, _names, _rule_text
from sunvote.domain.procedure import Action, MatterState
from sunvote.domain.roles import Role
from sunvote.domain.settings import SETTINGS, PassRule

#: The ``role`` of an assembly record whose actor is the member it is about (self check-in,
#: own ballot or recusal); not a :class:`Role`: the member need hold no term, only be on the
#: meeting's frozen roster.
MEMBER_SELF = "member"

_ATTACHMENT_KEYS = frozenset({"name", "sha256", "size", "type"})


@dataclass
class _Matter:
    state: MatterState
    steps: int
    category: int | None = None  # from the latest propose / propose_and_discuss / repropose
    amount_fen: int | None = None  # from the latest of those, or a discuss that revised it


class _Notice(NamedTuple):
    """A matter's published result: passed (with a notice period) or not, when it was
    published and when its notice period ends (None when rejected, or if ``at`` is bad)."""

    passed: bool
    start: dt.datetime | None
    end: dt.datetime | None


@dataclass
class _Supervision:
    """Step 6 of one matter: its latest published result, its objections (the highest number
    and those not answered) and its implementation updates (the highest number, who recorded
    each one not yet confirmed, the progress of the latest)."""

    notice: _Notice | None = None
    objections: int = 0
    unanswered: set[int] = field(default_factory=set)
    updates: int = 0
    unconfirmed: dict[int, int] = field(default_factory=dict)  # update -> who recorded it
    recorders: set[int] = field(default_factory=set)  # who recorded any update
    progress: int | None = None


@dataclass(frozen=True)
class _Upheld:
    """An upheld objection.reply: the matter's flag_breach back to the vote must come next."""

    index: int
    matter: str
    objection: int
    person: int


@dataclass
class _Poll:
    """An open poll (and, after poll.close, the poll whose closing sequence runs)."""

    number: int
    matter: str
    secret: bool
    present: int  # as poll.open stated them: the tally is recounted with these
    members: int
    rule: PassRule
    recusal_counts_present: bool
    # Members present when the poll opened: only they vote or recuse on it (the tally's base is
    # the number present at opening, so a latecomer's ballot could not be counted against it).
    eligible: frozenset[int] = frozenset()
    # Members of ``eligible`` who left (meeting.leave) since it opened: they vote on it no more,
    # even once back (their new check-in is after its opening). A paper ballot handed in
    # before they left may still be confirmed.
    left: set[int] = field(default_factory=set)
    recused: set[int] = field(default_factory=set)
    voted: set[int] = field(default_factory=set)  # members with a ballot.cast/participation
    records: int = 0  # ballot.cast (named) or poll.participation (secret) records
    channels: Counter[str] = field(default_factory=Counter)  # of those records
    choices: Counter[Choice] = field(default_factory=Counter)  # ballot.cast / ballot.secret
    secret_channels: Counter[str] = field(default_factory=Counter)  # of the ballot.secret
    linkable: str | None = None  # the rule code, if its ballot.secret records say too much
    paper: int = 0  # paper ballots (or paper participations) so far
    confirmed: int = 0  # paper ballots confirmed by paper.confirm so far


@dataclass
class _Meeting:
    """A convened meeting that has not closed (dropped at meeting.close)."""

    agenda: tuple[str, ...]
    starts_on: dt.date | None  # China date of starts_at
    # The meeting.convene fields the legal notice's text is rebuilt from, and whether its
    # meeting.notice came (domain/notices.py meeting_notice_text).
    title: str = ""
    place: str = ""
    starts_at: dt.datetime | None = None
    notice_agenda: tuple[str, ...] = ()  # the agenda as recorded
    convened_on: dt.date | None = None  # the day of meeting.convene
    noticed: bool = False
    notified: set[int] = field(default_factory=set)  # meeting.notice's and notice_added's
    state: MeetingState = MeetingState.CONVENED  # by domain.assembly.MEETING_TRANSITIONS
    roster: dict[int, str] = field(default_factory=dict)  # frozen at meeting.open
    opened_at: dt.datetime | None = None  # meeting.open's at (the recording.rate clock)
    present: dict[int, str] = field(default_factory=dict)  # member -> channel
    left: set[int] = field(default_factory=set)  # members who left (meeting.leave) at least once
    polls: int = 0
    polled: set[str] = field(default_factory=set)  # matters polled in this meeting
    poll: _Poll | None = None  # the open poll


@dataclass
class _Closing:
    """A closed poll whose records must follow in order: ``expected`` ballot.secret records
    (secret poll), its poll.tally, the matter.step record_vote of its matter, then the
    notice.publish of that matter (the result published, step 6)."""

    meeting: int
    poll: _Poll
    closer: int
    declared: int  # poll.close's ballots
    expected: int  # ballot.secret records still to come
    stage: Literal["secret", "tally", "vote", "notice"]
    verdict: str | None = None  # the tally's verdict, for record_vote


#: Suggestion ids below this are kept as bits (at most 2 × 16 MB, whatever the log says);
#: others, in a dict.
DENSE_SUGGESTION_IDS = 1 << 27


class _SuggestionIds:
    """The suggestion ids added so far and whether each was merged, used as a dict would be:
    ``sid in ids``, ``ids[sid]`` (merged?), ``ids[sid] = merged``.

    Ids are database ids, dense from 1: positive ids below :data:`DENSE_SUGGESTION_IDS` are one
    bit in each of two bitmaps that grow to the largest id seen (a million suggestions take
    250 KB; a dict of them took about 80 MB, most of the verifier's memory). Other ids (zero,
    negative, huge: a format failure or a strange log) go to a dict, so the answers stay exact.
    """

    __slots__ = ("_added", "_merged", "_other")

    def __init__(self) -> None:
        """No ids yet."""
        self._added = bytearray()
        self._merged = bytearray()
        self._other: dict[int, bool] = {}

    def __contains__(self, sid: int) -> bool:
        """Whether ``sid`` was added."""
        if 0 < sid < DENSE_SUGGESTION_IDS:
            byte = sid >> 3
            return byte < len(self._added) and bool(self._added[byte] >> (sid & 7) & 1)
        return sid in self._other

    def __getitem__(self, sid: int) -> bool:
        """Whether the added suggestion ``sid`` was merged (KeyError if it was not added)."""
        if 0 < sid < DENSE_SUGGESTION_IDS:
            if sid not in self:
                raise KeyError(sid)
            return bool(self._merged[sid >> 3] >> (sid & 7) & 1)
        return self._other[sid]

    def __setitem__(self, sid: int, merged: bool) -> None:
        """Add ``sid`` (if new) and set whether it is merged."""
        if not 0 < sid < DENSE_SUGGESTION_IDS:
            self._other[sid] = merged
            return
        byte, bit = sid >> 3, 1 << (sid & 7)
        if byte >= len(self._added):  # grow by doubling, never past the dense range
            size = min(max(byte + 1, 2 * len(self._added)), DENSE_SUGGESTION_IDS >> 3)
            self._added.extend(bytes(size - len(self._added)))
            self._merged.extend(bytes(size - len(self._merged)))
        self._added[byte] |= bit
        if merged:
            self._merged[byte] |= bit
        else:
            self._merged[byte] &= ~bit & 0xFF


@dataclass
class _Rotation:
    index: int
    old: Verifier
    new: Verifier
    signed: bool  # both signatures verified


@dataclass
class _Device:
    """An enrolled device key: whose, the record that enrolled it, and how it stopped being
    the member's device (``replaced at record N`` / ``revoked at record N``), if it did."""

    member: int
    enrolled: int
    ended: str | None = None


@dataclass
class _Failures:
    """Failures in three groups: before the records, per record, after the records."""

    head: list[Failure] = field(default_factory=list)
    records: list[Failure] = field(default_factory=list)
    tail: list[Failure] = field(default_factory=list)


class VerifierState:
    """The state kept while checking one log's records (see :class:`LogVerifier`), and the
    small checks that every feature's checks use. Each feature module adds a mixin of this
    class with the handlers of its record types."""

    def __init__(self) -> None:
        """No record yet: no term, the built-in settings, no matter, meeting or device."""
        self._failures = _Failures()
        self._findings: list[Finding] = []
        self._township: str | None = None  # of log.init
        # person -> [(role, starts_on, ends_on or None)]; a term is keyed by its person, role
        # and starts_on. ``_ended``: the terms a role.end has ended (no role.appoint re-opens
        # them).
        self._terms: dict[int, list[tuple[Role, dt.date, dt.date | None]]] = {}
        self._ended: set[tuple[int, Role, dt.date]] = set()
        self._settings: dict[str, object] = {s.key: s.default for s in SETTINGS}
        self._snapshot: int | None = None  # the index of the first setting.snapshot
        self._matters: dict[str, _Matter] = {}
        self._suggestions = _SuggestionIds()
        self._declined: set[int] = set()  # suggestions not taken up (few: a set will do)
        # the assembly: the last meeting number convened, the meetings not yet closed, the
        # closing sequence under way, the closing the current record fits (set per record by
        # _sequence), and every ballot id seen.
        self._last_meeting = 0
        self._meetings: dict[int, _Meeting] = {}
        self._closing: _Closing | None = None
        # Matter -> its open polls (meeting, poll), first opened first: one open poll per matter.
        self._open_polls: dict[str, list[tuple[int, int]]] = {}
        self._fit: _Closing | None = None
        self._ballots: set[str] = set()
        # presence and ballot proofs (issue 13): the first meeting.attend / ballot.cast /
        # poll.participation record carrying ``proof``; from it on every such record must.
        self._proofs_from: int | None = None
        # cloud voting: each member's current device key (text), and every key ever enrolled
        # (like the ballot ids, this grows with the log: one entry per enrolment).
        self._devices: dict[int, str] = {}
        self._device_keys: dict[str, _Device] = {}
        # step 6 (supervision): per matter, its notice period, objections and implementation
        # updates; and an upheld objection whose flag_breach must come next.
        self._supervision: dict[str, _Supervision] = {}
        self._upheld: _Upheld | None = None
        # accounts: who issued each person's login or last reset it (account.issue/reset);
        # per matter, who opened its polls (whom an objection to the vote checks).
        self._issuers: dict[int, int] = {}
        self._vote_runners: dict[str, set[int]] = {}

    def _fail(self, index: int, type_: str | None, kind: Kind, reason: str) -> None:
        self._failures.records.append(Failure(index, type_, kind, reason))

    def _at(self, index: int, record: ParsedRecord) -> dt.date | None:
        """The China-time date of the record's ``at``; None (and a failure) if malformed."""
        at = record.body["at"]
        moment = _parse_at(at)
        if moment is None:
            self._fail(index, record.type, "format",
                       f"at {str(at)[:40]!r} is not a UTC time YYYY-MM-DDTHH:MM:SSZ")
            return None
        return moment.astimezone(CHINA).date()

    def _roles_on(self, person: int, day: dt.date) -> frozenset[Role]:
        return frozenset(role for role, start, end in self._terms.get(person, ())
                         if start <= day and (end is None or day <= end))

    def _positive(self, index: int, t: str, body: Mapping[str, Any],
                  *keys: str) -> bool:
        """Format: the integer ids and numbers ``keys`` are at least 1."""
        bad = [key for key in keys if body[key] < 1]
        for key in bad:
            self._fail(index, t, "format", f"{key} {body[key]} is not a positive number")
        return not bad

    def _actor(self, index: int, t: str, body: Mapping[str, Any], day: dt.date | None,
               allowed: frozenset[Role], what: str, member: int | None = None) -> None:
        """The actor's ``role``: one of ``allowed``, held on ``day`` (China time); or, where
        ``member`` is given, ``member``: that member acting themself (``person == member``)."""
        person, text = body["person"], body["role"]
        if person < 1:
            self._fail(index, t, "format", f"person {person} is not a positive id")
            return
        if text == MEMBER_SELF and member is not None:
            if person != member:
                self._fail(index, t, "semantics",
                           f"person {person} acts as the member themself, but the record is "
                           f"about member {member} (no proxies)")
            return
        role = _enum(Role, text)
        if role is None:
            if text == MEMBER_SELF:
                self._fail(index, t, "semantics",
                           f"a member acting themself may not {what}; needs one of "
                           f"{_names(allowed)}")
            else:
                self._fail(index, t, "format", f"unknown role {str(text)[:40]!r}")
            return
        if role not in allowed:
            self._fail(index, t, "semantics",
                       f"role {role.value} may not {what}; needs one of {_names(allowed)}"
                       + (" or the member themself (role member)" if member is not None
                          else ""))
        elif day is not None and role not in self._roles_on(person, day):
            self._fail(index, t, "semantics",
                       f"person {person} does not hold the role {role.value} on {day} "
                       f"(China time); holds: {_names(self._roles_on(person, day))}")

    def _int_setting(self, key: str, default: int) -> int:
        value = self._settings[key]
        return value if isinstance(value, int) and not isinstance(value, bool) else default

    def _attachments_ok(self, index: int, t: str, attachments: list[Any],
                        what: str = "attachment") -> bool:
        """Format: each item is ``{name (not empty), sha256 (64 lowercase hex), size
        (integer ≥ 0), type}`` (a step's attachments, an update's evidence)."""
        for position, item in enumerate(attachments):
            if not (isinstance(item, dict) and set(item) == _ATTACHMENT_KEYS
                    and isinstance(item["name"], str) and item["name"]
                    and isinstance(item["sha256"], str) and _SHA256_HEX.fullmatch(item["sha256"])
                    and type(item["size"]) is int and item["size"] >= 0
                    and isinstance(item["type"], str)):
                self._fail(index, t, "format",
                           f"{what} {position + 1} is not {{name, sha256 (64 lowercase hex), "
                           "size (non-negative integer), type}")
                return False
        return True

    def _checker_login(self, index: int, t: str, checker: object, checked: set[int],
                       what: str) -> None:
        """admin.checker_login: a confirmation by a login that one of ``checked`` issued or
        last reset (account.issue / account.reset earlier in this log)."""
        if not isinstance(checker, int):
            return
        issuer = self._issuers.get(checker)
        refusal = checker_login_refusal(checker, issuer, checked)
        if refusal is not None:
            self._fail(index, t, "semantics",
                       f"person {checker} confirms {what}, but their login was issued or last "
                       f"reset by person {issuer}, whose work this is: the person being checked "
                       f"may hold the confirmer's password {_rule_text(refusal)}")

    # ------------------------------------------------------------------ asked across features

    def _cloud_proof(self, index: int, record: ParsedRecord, signed: Mapping[str, object],
                     forms: Mapping[str, tuple[re.Pattern[str], str]] | None = None) -> None:
        """A check-in's or a ballot's device signature (cloud.py: CloudChecks)."""
        raise NotImplementedError

    def _supervise_step(self, index: int, record: ParsedRecord, number: str,
                        state: MatterState, action: Action) -> None:
        """Step 6's rules for a matter.step (supervision.py: SupervisionChecks)."""
        raise NotImplementedError
