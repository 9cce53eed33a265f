"""Offline checks of the assembly's meetings: convening, opening (the roster), check-in
and its proof, leaving, closing, requests (the twin of services/assembly.py)."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Mapping
from itertools import pairwise
from typing import Any

from sunvote.domain.assembly import (
    ATTEND_CHANNELS,
    ATTEND_PROOFS,
    MEETING_RUNNERS,
    AttendProof,
    BallotProof,
    MeetingAction,
    MeetingState,
    attendance_channels,
    attendance_proof_refusal,
    leave_refusal,
    meeting_transition,
    meeting_transition_refusal,
)
from sunvote.domain.errors import DomainError
from sunvote.domain.ledger.verifier.cloud import _PRESENCE_CODE
from sunvote.domain.ledger.verifier.reading import (
    _MATTER_NUMBER,
    CHINA,
    ParsedRecord,
    _enum,
    _parse_at,
)
from sunvote.domain.ledger.verifier.state import MEMBER_SELF, VerifierState, _Meeting
from sunvote.domain.notices import (
    meeting_notice_text,
    not_yet_notified,
    notice_refusal,
    recipients_digest,
    text_digest,
)
from sunvote.domain.procedure import MatterState
from sunvote.domain.roles import ASSEMBLY_ROLES, Role

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class AssemblyChecks(VerifierState):
    """Record types of the assembly's meetings (domain.assembly.MEETING_TRANSITIONS):
    convened, opened with the roster frozen, check-ins with their proof, leaving, closed."""

    def _meeting_of(self, index: int, t: str, number: int,
                    action: MeetingAction) -> _Meeting | None:
        """The meeting ``number``, convened and not closed, in a state where ``action`` may
        happen (domain.assembly.MEETING_TRANSITIONS, the table the service follows); None and a
        failure
        with the rule code otherwise."""
        meeting = self._meetings.get(number)
        if meeting is None:
            state = ("is closed" if 1 <= number <= self._last_meeting
                     else "was never convened")
            self._fail(index, t, "semantics", f"assembly.meeting_state: meeting {number} {state}")
            return None
        refusal = meeting_transition_refusal(meeting.state, action)
        if refusal is not None:
            now = ("is already open" if meeting.state is MeetingState.OPEN
                   else "is convened but not open")
            self._fail(index, t, "semantics", f"{refusal.rule}: meeting {number} {now}")
            return None
        return meeting

    def _assembly_on(self, day: dt.date) -> dict[int, tuple[str, ...]]:
        """Who is a member of the assembly on ``day``, with the assembly roles they hold."""
        members: dict[int, tuple[str, ...]] = {}
        for person in sorted(self._terms):
            roles = self._roles_on(person, day) & ASSEMBLY_ROLES
            if roles:
                members[person] = tuple(sorted(r.value for r in roles))
        return members

    def _meeting_convene(self, index: int, record: ParsedRecord) -> None:
        """A meeting is convened: the next number, by a meeting runner, on matters awaiting
        the vote, with the township's notice period."""
        body = record.body
        t = record.type
        day = self._at(index, record)
        number = body["meeting"]
        if not self._positive(index, t, body, "meeting"):
            return
        self._actor(index, t, body, day, MEETING_RUNNERS, "convene a meeting")
        starts = _parse_at(body["starts_at"])
        if starts is None:
            self._fail(index, t, "format",
                       f"starts_at {str(body['starts_at'])[:40]!r} is not a UTC time "
                       "YYYY-MM-DDTHH:MM:SSZ")
        agenda: list[Any] = body["agenda"]
        matters = [m for m in agenda if isinstance(m, str) and _MATTER_NUMBER.fullmatch(m)]
        if len(matters) != len(agenda):
            self._fail(index, t, "format", "agenda must be a list of matter numbers YYYY-NNN")
        if not agenda:
            self._fail(index, t, "semantics", "the agenda is empty")
        twice = sorted(m for m, n in Counter(matters).items() if n > 1)
        if twice:
            self._fail(index, t, "semantics",
                       f"the agenda lists matter {', '.join(twice[:5])} more than once")
        for item in dict.fromkeys(matters):
            matter = self._matters.get(item)
            if matter is None:
                self._fail(index, t, "semantics",
                           f"agenda matter {item} is not a matter of this log")
            elif matter.state is not MatterState.FILED:
                self._fail(index, t, "semantics",
                           f"agenda matter {item} is {matter.state.value}, not filed (awaiting "
                           "the vote)")
        notice = self._int_setting("meeting_notice_days", 3)
        if body["notice_days"] != notice:
            self._fail(index, t, "semantics",
                       f"notice_days is {body['notice_days']}, but the township's "
                       f"meeting_notice_days in force is {notice}")
        starts_on = starts.astimezone(CHINA).date() if starts is not None else None
        self._notice_days(index, t, starts_on, day, notice)
        if number != self._last_meeting + 1:
            self._fail(index, t, "semantics",
                       f"meeting number is {number}, expected {self._last_meeting + 1}")
        if number not in self._meetings:  # a number in use keeps its meeting
            self._meetings[number] = _Meeting(tuple(dict.fromkeys(matters)), starts_on,
                                              title=str(body["title"]),
                                              place=str(body["place"]), starts_at=starts,
                                              notice_agenda=tuple(str(a) for a in agenda),
                                              convened_on=day)
        self._last_meeting = max(self._last_meeting, number)

    def _notice_days(self, index: int, t: str, starts_on: dt.date | None, day: dt.date | None,
                     notice: int) -> None:
        """The meeting day is at least ``notice`` days after the notice day
        (domain.notices.notice_refusal)."""
        if starts_on is None or day is None:
            return
        refusal = notice_refusal(starts_on, day, notice)
        if refusal is not None:
            self._fail(index, t, "semantics",
                       f"{refusal.rule}: notice too short: the meeting starts on {starts_on}, "
                       f"{(starts_on - day).days} day(s) after the notice on {day} (China "
                       f"time); meeting_notice_days is {notice}")

    def _meeting_notice(self, index: int, record: ParsedRecord) -> None:
        """The legal notice of a convened meeting, issued once, before it opens: to exactly the
        assembly's members on the day (their count and the digest of their ids), with the text
        rebuilt from meeting.convene, and at least meeting_notice_days before the meeting."""
        body = record.body
        t = record.type
        day = self._at(index, record)
        meeting = self._meetings.get(body["meeting"])
        if meeting is None or meeting.state is not MeetingState.CONVENED:
            self._fail(index, t, "semantics",
                       f"assembly.notice: meeting {body['meeting']} is not convened and waiting "
                       "to open")
            return
        if meeting.noticed:
            self._fail(index, t, "semantics",
                       f"assembly.notice: meeting {body['meeting']}'s notice was already issued")
        meeting.noticed = True
        for key in ("recipients_sha256", "text_sha256"):
            if not _SHA256_HEX.fullmatch(body[key]):
                self._fail(index, t, "format", f"{key} is not 64 lowercase hex digits")
        if day is not None:
            members = sorted(self._assembly_on(day))
            meeting.notified = set(members)
            if body["recipients"] != len(members) \
                    or body["recipients_sha256"] != recipients_digest(members):
                self._fail(index, t, "semantics",
                           f"assembly.notice: the notice went to {body['recipients']} "
                           f"recipient(s) (digest {body['recipients_sha256'][:12]}…), not to "
                           f"the {len(members)} member(s) of the assembly on {day}")
        if day != meeting.convened_on:  # the same day's was checked at meeting.convene
            self._notice_days(index, t, meeting.starts_on, day,
                              self._int_setting("meeting_notice_days", 3))
        self._notice_text(index, t, body, meeting)

    def _notice_text(self, index: int, t: str, body: Mapping[str, Any], meeting: _Meeting) -> None:
        """``text_sha256`` is the digest of the notice rebuilt from meeting.convene."""
        if meeting.starts_at is not None:
            text = meeting_notice_text(body["village"], body["meeting"], meeting.title,
                                       meeting.place, meeting.starts_at,
                                       meeting.notice_agenda)
            if body["text_sha256"] != text_digest(text):
                self._fail(index, t, "semantics",
                           "assembly.notice: text_sha256 is not the digest of the notice of "
                           "this meeting's day, place and agenda")

    def _meeting_notice_added(self, index: int, record: ParsedRecord) -> None:
        """The same notice to members who joined the assembly after it was issued, before the
        meeting opens: each one a member on the day or on the meeting day, and not notified
        before (domain.notices.not_yet_notified)."""
        body = record.body
        t = record.type
        day = self._at(index, record)
        meeting = self._meetings.get(body["meeting"])
        if meeting is None or meeting.state is not MeetingState.CONVENED or not meeting.noticed:
            self._fail(index, t, "semantics",
                       f"assembly.notice: meeting {body['meeting']} is not convened with its "
                       "notice issued and waiting to open")
            return
        members = body["members"]
        if not members or not all(type(m) is int and m >= 1 for m in members) \
                or members != sorted(set(members)):
            self._fail(index, t, "format",
                       "members is not a non-empty list of person ids in increasing order")
            return
        if not _SHA256_HEX.fullmatch(body["text_sha256"]):
            self._fail(index, t, "format", "text_sha256 is not 64 lowercase hex digits")
        if day is not None:
            assembly = set(self._assembly_on(day))
            if meeting.starts_on is not None:
                assembly |= set(self._assembly_on(meeting.starts_on))
            due = set(not_yet_notified(assembly, meeting.notified))
            wrong = [m for m in members if m not in due]
            if wrong:
                self._fail(index, t, "semantics",
                           f"assembly.notice: person {', '.join(map(str, wrong[:5]))} was "
                           "notified already or is not a member of the assembly on the day "
                           "or the meeting day")
        meeting.notified |= set(members)
        self._notice_text(index, t, body, meeting)

    def _meeting_open(self, index: int, record: ParsedRecord) -> None:
        """The meeting opens on or after its day; ``members`` freezes the roster, which must be
        exactly the assembly's members on that day."""
        body = record.body
        t = record.type
        day = self._at(index, record)
        self._actor(index, t, body, day, MEETING_RUNNERS, "open a meeting")
        meeting = self._meeting_of(index, t, body["meeting"], MeetingAction.OPEN)
        roster = self._roster(index, t, body["members"], day)
        if meeting is None:
            return
        if day is not None and meeting.starts_on is not None and day < meeting.starts_on:
            self._fail(index, t, "semantics",
                       f"meeting {body['meeting']} opens on {day} (China time), before the day "
                       f"it was convened for ({meeting.starts_on})")
        if not meeting.noticed:
            self._fail(index, t, "semantics",
                       f"assembly.notice: meeting {body['meeting']} opens, but no meeting.notice "
                       "record says its notice was issued")
        unnotified = not_yet_notified(roster, meeting.notified) if meeting.noticed else []
        if unnotified:
            self._fail(index, t, "semantics",
                       f"assembly.notice: member {', '.join(map(str, unnotified[:5]))} of the "
                       f"roster of meeting {body['meeting']} was never sent its notice "
                       "(meeting.notice or meeting.notice_added)")
        meeting.state = meeting_transition(meeting.state, MeetingAction.OPEN)
        meeting.roster = roster
        meeting.opened_at = _parse_at(body["at"])

    def _roster(self, index: int, t: str, members: list[Any],
                day: dt.date | None) -> dict[int, str]:
        """Check a meeting.open's roster snapshot; return it (person -> name)."""
        expected = self._assembly_on(day) if day is not None else None
        shaped = all(isinstance(m, dict) and set(m) == {"person", "name", "roles"}
                     and type(m["person"]) is int and m["person"] >= 1
                     and isinstance(m["name"], str) and isinstance(m["roles"], list)
                     and all(isinstance(r, str) for r in m["roles"]) for m in members)
        if not shaped:
            self._fail(index, t, "format",
                       "members must be a list of {person (positive id), name, roles (list of "
                       "role names)}")
            return dict.fromkeys(expected or (), "")
        persons = [m["person"] for m in members]
        if any(a >= b for a, b in pairwise(persons)):
            self._fail(index, t, "format",
                       "members must be sorted by person id, each person once")
        recorded: dict[int, tuple[str, ...]] = {}
        for m in members:
            roles: list[str] = m["roles"]
            unknown = [r for r in roles if _enum(Role, r) is None]
            if unknown:
                self._fail(index, t, "format",
                           f"member {m['person']} has unknown role {unknown[0][:40]!r}")
            if any(a >= b for a, b in pairwise(roles)):
                self._fail(index, t, "format",
                           f"the roles of member {m['person']} must be sorted, each once")
            recorded[m["person"]] = tuple(sorted(set(roles)))
        if expected is not None and recorded != expected:
            problems = [f"person {p} ({', '.join(expected[p])}) is missing"
                        for p in sorted(expected.keys() - recorded.keys())]
            problems += [f"person {p} holds no assembly role"
                         for p in sorted(recorded.keys() - expected.keys())]
            problems += [f"person {p} is listed as {', '.join(recorded[p]) or 'no role'} but "
                         f"holds {', '.join(expected[p])}"
                         for p in sorted(recorded.keys() & expected.keys())
                         if recorded[p] != expected[p]]
            more = f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
            self._fail(index, t, "semantics",
                       f"the roster is not the assembly on {day} (China time; committee "
                       f"director and members, representatives): {'; '.join(problems[:5])}"
                       f"{more}")
        return {m["person"]: m["name"] for m in members}

    def _meeting_attend(self, index: int, record: ParsedRecord) -> None:
        """A member on the roster checks in (or switches channel) at an open meeting."""
        body = record.body
        t = record.type
        day = self._at(index, record)
        member, channel = body["member"], body["channel"]
        if channel not in ATTEND_CHANNELS:
            self._fail(index, t, "format", f"unknown attendance channel {str(channel)[:20]!r}")
        if not self._positive(index, t, body, "member"):
            return
        self._actor(index, t, body, day, MEETING_RUNNERS, "mark attendance", member)
        by_member = body["role"] == MEMBER_SELF
        if channel in ATTEND_CHANNELS and channel not in attendance_channels(by_member):
            self._fail(index, t, "semantics",
                       f"a {channel} check-in is "
                       + ("marked by someone running the meeting, not by the member" if by_member
                          else "the member's own (role member), not marked by someone else")
                       + " [assembly.presence]")
        self._cloud_proof(index, record, {"t": "attend", "meeting": body["meeting"],
                                          "member": member}, {"code": _PRESENCE_CODE})
        self._proof(index, t, body, AttendProof, attendance_proof_refusal, ATTEND_PROOFS)
        meeting = self._meeting_of(index, t, body["meeting"], MeetingAction.CHECK_IN)
        if meeting is None:
            return
        if member not in meeting.roster:
            self._fail(index, t, "semantics",
                       f"person {member} is not on the roster of meeting {body['meeting']}")
            return
        if meeting.present.get(member) == channel:
            self._fail(index, t, "semantics",
                       f"member {member} is already present ({channel}): one attendance")
            return
        meeting.present[member] = channel

    def _meeting_leave(self, index: int, record: ParsedRecord) -> None:
        """A present member leaves an open meeting (domain.assembly.leave_refusal), by their own
        word
        or a runner's: no longer present, so later polls count them absent; the open poll
        takes no more ballots from them."""
        body = record.body
        t = record.type
        day = self._at(index, record)
        member = body["member"]
        if not self._positive(index, t, body, "member"):
            return
        self._actor(index, t, body, day, MEETING_RUNNERS, "record a member leaving", member)
        meeting = self._meetings.get(body["meeting"])
        is_open = meeting is not None and meeting.state is MeetingState.OPEN
        refusal = leave_refusal(is_open,
                                meeting is not None and member in meeting.roster,
                                meeting is not None and member in meeting.present)
        if refusal is not None:
            self._fail(index, t, "semantics",
                       f"{refusal.rule}: member {member} cannot leave meeting "
                       f"{body['meeting']}: " + (
                           "it is not open" if meeting is None or not is_open else
                           "not on its roster" if member not in meeting.roster else
                           "not present (no check-in since the last leave)"))
            return
        assert meeting is not None
        del meeting.present[member]
        meeting.left.add(member)
        if meeting.poll is not None and member in meeting.poll.eligible:
            meeting.poll.left.add(member)

    def _proof(self, index: int, t: str, body: Mapping[str, Any],
               kinds: type[AttendProof] | type[BallotProof],
               refusal: Callable[[str, bool, str | None], DomainError | None],
               table: Mapping[tuple[str, bool], frozenset[Any]]) -> str | None:
        """The ``proof`` of a check-in or a ballot: one of ``kinds`` that fits its channel and
        who acted (``refusal``, the service's own rule). Logs written before proofs existed
        carry none (legacy: the clerk's word, read as before); once a record of the log
        carries one, every later check-in and ballot must. Returns the proof (or None)."""
        proof = body.get("proof")
        if proof is None:
            if self._proofs_from is not None:
                rule = "assembly.presence" if t == "meeting.attend" else "assembly.ballot_proof"
                self._fail(index, t, "semantics",
                           f"{rule}: no proof, while every check-in and ballot since record "
                           f"{self._proofs_from} carries one (how the member proved it)")
            return None
        if self._proofs_from is None:
            self._proofs_from = index
        if proof not in {k.value for k in kinds}:
            self._fail(index, t, "format", f"unknown proof {str(proof)[:20]!r}")
            return None
        by_member = body["role"] == MEMBER_SELF
        refused = refusal(str(body["channel"]), by_member, proof)
        if refused is not None:
            allowed = sorted(str(p) for p in table.get((str(body["channel"]), by_member), ()))
            who = "the member themself" if by_member else f"a {str(body['role'])[:30]}"
            self._fail(index, t, "semantics",
                       f"{refused.rule}: proof {proof!r} does not fit a "
                       f"{str(body['channel'])[:20]} record by {who} (allowed: "
                       f"{', '.join(allowed) or 'none'})")
        return str(proof)

    @staticmethod
    def _absent(meeting: _Meeting, member: int) -> str:
        if member in meeting.left:
            return f"member {member} left the meeting (meeting.leave)"
        return f"member {member} is not present (no check-in)"

    def _meeting_close(self, index: int, record: ParsedRecord) -> None:
        """An open meeting without an open poll closes; its state is dropped."""
        body = record.body
        t = record.type
        day = self._at(index, record)
        self._actor(index, t, body, day, MEETING_RUNNERS, "close a meeting")
        meeting = self._meeting_of(index, t, body["meeting"], MeetingAction.CLOSE)
        if meeting is None:
            return
        if meeting.poll is not None:
            self._fail(index, t, "semantics",
                       f"poll {meeting.poll.number} of meeting {body['meeting']} is still open "
                       "(the meeting stays open)")
            return
        del self._meetings[body["meeting"]]

    def _meeting_request(self, index: int, record: ParsedRecord) -> None:
        """A representative (held on the day) asks for a meeting, with a reason."""
        body = record.body
        t = record.type
        day = self._at(index, record)
        if not body["reason"].strip():
            self._fail(index, t, "semantics", "a meeting request needs a reason (it is empty)")
        self._actor(index, t, body, day, frozenset({Role.REPRESENTATIVE}), "request a meeting")


#: The record types checked here, and their handlers.
ASSEMBLY_HANDLERS: dict[str, Callable[[AssemblyChecks, int, ParsedRecord], None]] = {
    "meeting.convene": AssemblyChecks._meeting_convene,
    "meeting.open": AssemblyChecks._meeting_open,
    "meeting.attend": AssemblyChecks._meeting_attend,
    "meeting.leave": AssemblyChecks._meeting_leave,
    "meeting.close": AssemblyChecks._meeting_close,
    "meeting.request": AssemblyChecks._meeting_request,
    "meeting.notice": AssemblyChecks._meeting_notice,
    "meeting.notice_added": AssemblyChecks._meeting_notice_added,
}
