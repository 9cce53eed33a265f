"""Offline checks of the assembly's polls: opening (quorum, rule), ballots, recusal, paper
confirmation, closing, the recount of the tally and the closing sequence (the twin of
services/assembly.py)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

from sunvote.domain.assembly import (
    BALLOT_CHANNELS,
    BALLOT_ID_LENGTH,
    BALLOT_PROOFS,
    MEETING_RUNNERS,
    PAPER_CONFIRMERS,
    BallotProof,
    Channel,
    Choice,
    MeetingAction,
    PollState,
    VoteMode,
    Voter,
    ballot_channels,
    ballot_id_refusal,
    ballot_proof_refusal,
    ballot_refusal,
    count,
    poll_opening_refusal,
    poll_tally_refusal,
    poll_void_refusal,
    quorum_needed,
    recusal_refusal,
    secret_ballot_linkable,
)
from sunvote.domain.errors import DomainError
from sunvote.domain.ledger.verifier.assembly import AssemblyChecks
from sunvote.domain.ledger.verifier.reading import (
    _SHA256_HEX,
    ParsedRecord,
    _enum,
    _fraction,
    _same_json,
)
from sunvote.domain.ledger.verifier.report import Finding, _counts, _text
from sunvote.domain.ledger.verifier.state import MEMBER_SELF, _Closing, _Meeting, _Poll
from sunvote.domain.procedure import Action, MatterState
from sunvote.domain.settings import PassRule

#: Channels a meeting runner also entered ballots by in logs written before ballots carried
#: proofs: the hall (today such a ballot is the hall device's, channel ``device``).
LEGACY_ENTERED_CHANNELS = frozenset({Channel.HALL.value})
#: The verdicts of ``poll.tally`` and ``notice.publish``.
VERDICTS = ("passed", "rejected")

#: Records that begin something else: one of them inside a poll's closing sequence (after its
#: poll.close, before its notice.publish) abandons the unfinished sequence.
_ABANDONING = frozenset({"meeting.convene", "meeting.open", "meeting.close", "poll.open",
                         "poll.close", "poll.void"})


class PollChecks(AssemblyChecks):
    """Record types of polls: ``poll.open`` checks the quorum, each ballot the app's own
    rules (domain.assembly.ballot_refusal and co.), ``poll.tally`` is recounted with
    domain.assembly.count, and a closed poll's records follow in order (:meth:`_sequence`)."""

    def _sequence(self, index: int, record: ParsedRecord) -> _Closing | None:
        """Where the record stands in a poll's closing sequence: poll.close, then (secret) the
        declared number of ballot.secret records, then its poll.tally, then the matter.step
        record_vote of its matter, then that matter's notice.publish, nothing else between.
        Returns the closing the record continues (None if it continues none) and reports every
        record out of place once. A record of another kind inside the sequence is reported and
        otherwise checked as usual; the sequence then goes on with the next record that fits
        it, unless the intruder begins something else (:data:`_ABANDONING`), which abandons
        it. (Before it, :meth:`_after_upheld` checks that an upheld objection's flag_breach
        comes next.)"""
        t = record.type
        body = record.body
        vote = t == "matter.step" and body["action"] == Action.RECORD_VOTE.value
        closing = self._closing
        if closing is None:
            if t == "ballot.secret":
                self._fail(index, t, "semantics",
                           "a ballot.secret may only come directly after its poll's poll.close "
                           "or another ballot.secret of that poll")
            elif t == "poll.tally":
                self._fail(index, t, "semantics",
                           "a poll.tally may only come directly after its poll's poll.close "
                           "(named poll) or its last ballot.secret (secret poll)")
            elif vote:
                self._fail(index, t, "semantics",
                           "record_vote may only come directly after the poll.tally of a poll "
                           "on the matter (the assembly's vote is recorded by its tally)")
            elif t == "notice.publish":
                self._fail(index, t, "semantics",
                           "a notice.publish may only come directly after the record_vote of "
                           "its matter (a result is published with its tally)")
            return None
        ours = (t in ("ballot.secret", "poll.tally") and body["meeting"] == closing.meeting
                and body["poll"] == closing.poll.number)
        if ours and (closing.stage == "secret"
                     or (closing.stage == "tally" and t == "poll.tally")):
            return closing
        if vote and closing.stage == "vote" and body["matter"] == closing.poll.matter:
            closing.stage = "notice"
            return closing
        if (t == "notice.publish" and closing.stage == "notice"
                and body["matter"] == closing.poll.matter):
            self._closing = None
            return closing
        where = f"meeting {closing.meeting} poll {closing.poll.number}"
        if ours and t == "ballot.secret" and closing.stage == "tally":
            self._fail(index, t, "semantics",
                       f"one ballot.secret more than the {closing.declared} that the poll.close "
                       f"of {where} declared (not counted)")
            return None
        if closing.stage == "secret":
            awaited = (f"ballot.secret {closing.declared - closing.expected + 1} of "
                       f"{closing.declared}")
        elif closing.stage == "tally":
            awaited = "its poll.tally"
        elif closing.stage == "vote":
            awaited = f"the matter.step record_vote of matter {closing.poll.matter}"
        else:
            awaited = f"the notice.publish of matter {closing.poll.matter}"
        abandon = t in _ABANDONING
        self._fail(index, t, "semantics",
                   f"{where} was closed: {awaited} must come next, not this {t}"
                   + ("; the unfinished closing sequence is abandoned" if abandon else ""))
        if abandon:
            self._closing = None
        return None

    def _open_poll(self, index: int, t: str,
                   body: Mapping[str, Any]) -> tuple[_Meeting, _Poll] | None:
        """The meeting's open poll the record names; None and a failure otherwise."""
        meeting = self._meeting_of(index, t, body["meeting"], MeetingAction.VOTE)
        if meeting is None:
            return None
        poll = meeting.poll
        if poll is None or poll.number != body["poll"]:
            now = "no poll is open" if poll is None else f"poll {poll.number} is"
            self._fail(index, t, "semantics",
                       f"poll {body['poll']} of meeting {body['meeting']} is not open ({now})")
            return None
        return meeting, poll

    def _ballot_id(self, index: int, t: str, ballot: str) -> None:
        refusal = ballot_id_refusal(ballot)  # the app's own rule: random, unique in the log
        if refusal is not None:
            self._fail(index, t, "format",
                       f"{refusal.rule}: ballot id {ballot[:70]!r} is not {BALLOT_ID_LENGTH} "
                       "characters A–Z, a–z, 0–9, _ or -")
        elif ballot in self._ballots:
            self._fail(index, t, "semantics", f"ballot id {ballot} was already used in this log")
        else:
            self._ballots.add(ballot)

    def _quorum(self) -> Fraction:
        value = self._settings["quorum"]
        return value if isinstance(value, Fraction) else Fraction(2, 3)

    def _rule_for(self, number: str) -> tuple[PassRule, int | None]:
        """The pass rule in force for the matter (its category's override, else the
        township's) and the category."""
        matter = self._matters.get(number)
        category = matter.category if matter is not None else None
        override = self._settings.get(f"pass_rule.category_{category}")
        rule = override if isinstance(override, PassRule) else self._settings["pass_rule"]
        return (rule if isinstance(rule, PassRule) else PassRule.MAJORITY_OF_PRESENT), category

    def _poll_open(self, index: int, record: ParsedRecord) -> None:
        """A poll opens on an agenda matter awaiting the vote, with the quorum present and the
        settings in force stated; one poll at a time."""
        body = record.body
        t = record.type
        day = self._at(index, record)
        mode = _enum(VoteMode, body["mode"])
        if mode is None:
            self._fail(index, t, "format", f"unknown mode {str(body['mode'])[:20]!r}")
        rule = _enum(PassRule, body["rule"])
        if rule is None:
            self._fail(index, t, "format", f"unknown pass rule {str(body['rule'])[:40]!r}")
        quorum = _fraction(body["quorum"])
        if quorum is None:
            self._fail(index, t, "format",
                       f"quorum {str(body['quorum'])[:20]!r} is not a fraction in its text "
                       "form (e.g. 2/3)")
        for key in ("present", "members"):
            if body[key] < 0:
                self._fail(index, t, "format", f"{key} must not be negative")
        if not self._positive(index, t, body, "poll"):
            return
        self._actor(index, t, body, day, MEETING_RUNNERS, "open a poll")
        meeting = self._meeting_of(index, t, body["meeting"], MeetingAction.OPEN_POLL)
        if meeting is None:
            return
        number, matter = body["poll"], body["matter"]
        self._vote_runners.setdefault(str(matter), set()).add(body["person"])
        if meeting.poll is not None:
            self._fail(index, t, "semantics",
                       f"poll {meeting.poll.number} of meeting {body['meeting']} is still open: "
                       "one poll at a time (this one does not open)")
            return
        if number != meeting.polls + 1:
            self._fail(index, t, "semantics",
                       f"poll number is {number}, expected {meeting.polls + 1}")
        if matter not in meeting.agenda:
            self._fail(index, t, "semantics",
                       f"matter {str(matter)[:40]} is not on the agenda of meeting "
                       f"{body['meeting']}")
        elif matter in meeting.polled:
            self._fail(index, t, "semantics",
                       f"meeting {body['meeting']} already held a poll on matter {matter}")
        state = self._matters.get(matter)
        elsewhere = self._open_polls.get(matter)
        refusal = poll_opening_refusal(matter, state is None or state.state is MatterState.FILED,
                                       elsewhere[0][0] if elsewhere else None)
        if refusal is not None:
            reason = (f"poll {elsewhere[0][1]} of meeting {elsewhere[0][0]} on matter {matter} "
                      "is still open: one open poll per matter" if elsewhere
                      else f"matter {matter} is {state.state.value if state else '?'}, not filed "
                      "(awaiting the vote)")
            self._fail(index, t, "semantics", f"{reason} [{refusal.rule}]")
        present, members = len(meeting.present), len(meeting.roster)
        if body["present"] != present:
            self._fail(index, t, "semantics",
                       f"present is {body['present']}, but {present} members are present")
        if body["members"] != members:
            self._fail(index, t, "semantics",
                       f"members is {body['members']}, but the roster has {members}")
        in_force = self._quorum()
        if quorum is not None and quorum != in_force:
            self._fail(index, t, "semantics",
                       f"quorum is {quorum}, but the township's quorum in force is {in_force}")
        rule_in_force, category = self._rule_for(matter)
        if rule is not None and rule is not rule_in_force:
            self._fail(index, t, "semantics",
                       f"rule is {rule.value}, but the pass rule in force for matter {matter} "
                       f"(category {category}) is {rule_in_force.value}")
        counts_present = bool(self._settings["recusal_counts_present"])
        if body["recusal_counts_present"] is not counts_present:
            self._fail(index, t, "semantics",
                       f"recusal_counts_present is {str(body['recusal_counts_present']).lower()}, "
                       f"but the township's setting in force is {str(counts_present).lower()}")
        needed = quorum_needed(members, in_force)
        if present < needed:
            self._fail(index, t, "semantics",
                       f"no quorum: {present} of {members} members present, {needed} needed "
                       f"({in_force} of the members)")
        meeting.polls = max(meeting.polls, number)
        meeting.polled.add(matter)
        self._open_polls.setdefault(matter, []).append((body["meeting"], number))
        meeting.poll = _Poll(number, matter, mode is VoteMode.SECRET,
                             body["present"] if body["present"] >= 0 else present,
                             body["members"] if body["members"] >= 0 else members,
                             rule or rule_in_force, body["recusal_counts_present"],
                             frozenset(meeting.present))

    def _member_may_vote(self, index: int, t: str, meeting: _Meeting, poll: _Poll,
                         member: int, number: int, handed_in: bool = False) -> bool:
        """Whether ``member`` is on the roster; reports a ballot the app's own rule refuses
        (domain.assembly.ballot_refusal, with its rule code): a member absent (or who left since the
        poll opened), late, recused or who has voted. A ballot ``handed_in`` earlier (paper, or
        the hall device without PIN: appended at its confirmation) needs the member present at
        the poll's opening only: they may have left since."""
        if member not in meeting.roster:
            self._fail(index, t, "semantics",
                       f"assembly.not_member: person {member} is not on the roster of meeting "
                       f"{number}")
            return False
        at_open = member in poll.eligible and (handed_in or member not in poll.left)
        refusal = ballot_refusal(PollState.OPEN, Voter(
            member=True, present=at_open if handed_in else member in meeting.present,
            present_at_open=at_open, recused=member in poll.recused,
            voted=member in poll.voted))
        if refusal is None:
            return True
        why = {
            "assembly.recused": f"member {member} declared recusal on poll {poll.number} and "
                                "may not vote",
            "assembly.not_present": self._absent(meeting, member),
            "assembly.late": (f"member {member} left after poll {poll.number} opened: they "
                              "vote on it no more" if member in poll.left else
                              f"member {member} checked in after poll {poll.number} opened: "
                              "only members present at its opening vote on it"),
            "assembly.one_ballot": f"member {member} already has a ballot in poll "
                                   f"{poll.number} (one ballot per member per poll, whatever "
                                   "the channel)",
        }
        self._fail(index, t, "semantics", f"{refusal.rule}: {why.get(refusal.rule, '')}")
        return True

    def _poll_recuse(self, index: int, record: ParsedRecord) -> None:
        """A present member who has not voted declares recusal on the open poll."""
        body = record.body
        t = record.type
        day = self._at(index, record)
        member = body["member"]
        if not body["reason"].strip():
            self._fail(index, t, "semantics", "a recusal needs a reason (it is empty)")
        if not self._positive(index, t, body, "member"):
            return
        self._actor(index, t, body, day, MEETING_RUNNERS, "record a recusal", member)
        found = self._open_poll(index, t, body)
        if found is None:
            return
        meeting, poll = found
        refusal = recusal_refusal(PollState.OPEN, Voter(  # the app's own rule
            member=member in meeting.roster, present=member in meeting.present,
            present_at_open=member in poll.eligible and member not in poll.left,
            recused=member in poll.recused, voted=member in poll.voted))
        if refusal is None:
            poll.recused.add(member)
            return
        why = {
            "assembly.not_member": f"person {member} is not on the roster of meeting "
                                   f"{body['meeting']}",
            "assembly.not_present": self._absent(meeting, member),
            "assembly.late": (f"member {member} left after poll {poll.number} opened: they "
                              "vote on it no more" if member in poll.left else
                              f"member {member} checked in after poll {poll.number} opened: "
                              "only members present at its opening vote on it"),
            "assembly.recusal_after_vote": (
                f"member {member} already voted in poll {poll.number}: recusal comes before "
                "voting" if member in poll.voted else
                f"member {member} already declared recusal on poll {poll.number}"),
        }
        self._fail(index, t, "semantics", f"{refusal.rule}: {why.get(refusal.rule, '')}")

    def _ballot_cast(self, index: int, record: ParsedRecord) -> None:
        self._ballot(index, record, secret=False)

    def _poll_participation(self, index: int, record: ParsedRecord) -> None:
        self._ballot(index, record, secret=True)

    def _ballot(self, index: int, record: ParsedRecord, *, secret: bool) -> None:
        """A named ballot (ballot.cast) or a secret poll's participation: in the open poll of
        that mode, by a present member on the roster who has not recused or voted; the
        member votes themself (hall, device, cloud) or a meeting runner enters it (paper,
        device; hall too in a log from before proofs): domain.assembly.ballot_channels; paper
        ones only as far as paper.confirm covers them. Counted unless the poll is not open or
        of the other mode."""
        body = record.body
        t = record.type
        day = self._at(index, record)
        member, channel = body["member"], body["channel"]
        choice: Choice | None = None
        if channel not in BALLOT_CHANNELS:
            self._fail(index, t, "format", f"unknown ballot channel {str(channel)[:20]!r}")
        if not secret:
            choice = _enum(Choice, body["choice"])
            if choice is None:
                self._fail(index, t, "format", f"unknown choice {str(body['choice'])[:20]!r}")
            self._ballot_id(index, t, body["ballot"])
        if not self._positive(index, t, body, "member"):
            return
        self._actor(index, t, body, day, MEETING_RUNNERS, "enter a ballot", member)
        # Who uses which channel is domain.assembly's table; a log from before proofs (no
        # proof yet, here or earlier) may also have a runner's hall ballot.
        by_member = body["role"] == MEMBER_SELF
        channels = ballot_channels(by_member)
        if not by_member and self._proofs_from is None and body.get("proof") is None:
            channels |= LEGACY_ENTERED_CHANNELS
        if channel not in channels:
            self._fail(index, t, "semantics",
                       f"a {channel} ballot is "
                       + ("entered by someone running the meeting, not by the member" if by_member
                          else "cast by the member themself (role member)")
                       + " [assembly.ballot_proof]")
        signed: dict[str, object] = {"meeting": body["meeting"], "poll": body["poll"],
                                     "member": member}
        if secret:
            signed["t"] = "participation"
        else:
            signed.update(t="ballot", choice=body["choice"], ballot=body["ballot"])
        self._cloud_proof(index, record, signed)
        proof = self._proof(index, t, body, BallotProof, ballot_proof_refusal, BALLOT_PROOFS)
        found = self._open_poll(index, t, body)
        if found is None:
            return
        meeting, poll = found
        if poll.secret is not secret:
            self._fail(index, t, "semantics",
                       f"poll {poll.number} of meeting {body['meeting']} is "
                       + ("named: it takes ballot.cast, not poll.participation" if poll.secret
                          is False else
                          "secret: it takes poll.participation and ballot.secret, not "
                          "ballot.cast"))
            return
        handed_in = (channel == Channel.PAPER.value
                     or proof in (BallotProof.CONFIRMED.value, BallotProof.PAPER.value))
        self._member_may_vote(index, t, meeting, poll, member, body["meeting"], handed_in)
        untallied = self._untallied(body["meeting"], poll)
        if untallied is not None:
            self._fail(index, t, "semantics",
                       f"a ballot in meeting {body['meeting']} poll {poll.number}, which cannot "
                       f"be tallied: {untallied}")
        if channel == Channel.PAPER.value or proof == BallotProof.CONFIRMED.value:
            poll.paper += 1
            if poll.paper > poll.confirmed:
                what = "paper" if channel == Channel.PAPER.value else "unproven hall-device"
                self._fail(index, t, "semantics",
                           f"{what} ballot {poll.paper} of poll {poll.number} is not covered by "
                           f"an earlier paper.confirm ({poll.confirmed} confirmed)")
        poll.voted.add(member)
        poll.records += 1
        poll.channels[channel] += 1
        if choice is not None:
            poll.choices[choice] += 1

    def _paper_confirm(self, index: int, record: ParsedRecord) -> None:
        """A supervisor, not the person who entered them, confirms paper ballots of the open
        poll against the signed sheet (its SHA-256)."""
        body = record.body
        t = record.type
        day = self._at(index, record)
        if body["count"] < 1:
            self._fail(index, t, "format", f"count {body['count']} must be at least 1")
        if not _SHA256_HEX.fullmatch(body["sheet_sha256"]):
            self._fail(index, t, "format", "sheet_sha256 is not 64 lowercase hex digits")
        self._positive(index, t, body, "entered_by")
        self._actor(index, t, body, day, PAPER_CONFIRMERS, "confirm paper ballots")
        if body["person"] == body["entered_by"]:
            self._fail(index, t, "semantics",
                       f"person {body['person']} confirms paper ballots they entered "
                       "themself: the confirmer must be someone else")
        self._checker_login(index, t, body["person"], {body["entered_by"]},
                            "the paper ballots they entered")
        found = self._open_poll(index, t, body)
        if found is not None and body["count"] >= 1:
            found[1].confirmed += body["count"]

    def _poll_close(self, index: int, record: ParsedRecord) -> None:
        """The open poll closes with the number of its ballots (named) or participations
        (secret); its closing sequence begins (see :meth:`_sequence`)."""
        body = record.body
        t = record.type
        day = self._at(index, record)
        if body["ballots"] < 0:
            self._fail(index, t, "format", "ballots must not be negative")
        self._actor(index, t, body, day, MEETING_RUNNERS, "close a poll")
        found = self._open_poll(index, t, body)
        if found is None:
            return
        meeting, poll = found
        refusal = self._untallied(body["meeting"], poll)
        if refusal is not None:
            self._fail(index, t, "semantics",
                       f"meeting {body['meeting']} poll {poll.number} cannot be tallied: "
                       f"{refusal}; it can only be voided")
        self._poll_ended(body["meeting"], poll)
        if body["ballots"] != poll.records:
            kind = "poll.participation" if poll.secret else "ballot.cast"
            self._fail(index, t, "semantics",
                       f"ballots is {body['ballots']}, but poll {poll.number} has "
                       f"{poll.records} {kind} record(s)")
        meeting.poll = None
        declared = max(body["ballots"], 0)
        expected = declared if poll.secret else 0
        self._closing = _Closing(body["meeting"], poll, body["person"], declared, expected,
                                 "secret" if expected else "tally")

    def _tally_facts(self, meeting: int, poll: _Poll) -> tuple[bool, tuple[int, int] | None]:
        """For the open ``poll`` of ``meeting``: whether its matter awaits the vote, and the
        (meeting, poll) of another poll on the matter opened before it and still open."""
        matter = self._matters.get(poll.matter)
        polls = self._open_polls.get(poll.matter, [])
        earlier = polls[0] if polls and polls[0] != (meeting, poll.number) else None
        return matter is None or matter.state is MatterState.FILED, earlier

    def _untallied(self, meeting: int, poll: _Poll) -> str | None:
        """Why the open ``poll`` of ``meeting`` cannot be tallied
        (domain.assembly.poll_tally_refusal,
        its rule code in brackets), or None."""
        awaiting, earlier = self._tally_facts(meeting, poll)
        refusal = poll_tally_refusal(poll.matter, awaiting, earlier is not None)
        if refusal is None:
            return None
        if earlier is not None:
            why = (f"poll {earlier[1]} of meeting {earlier[0]} on matter {poll.matter} opened "
                   "before it and is still open")
        else:
            matter = self._matters.get(poll.matter)
            why = (f"matter {poll.matter} is {matter.state.value if matter else '?'}, no longer "
                   "awaiting the vote")
        return f"{why} [{refusal.rule}]"

    def _poll_ended(self, meeting: int, poll: _Poll) -> None:
        """The poll is no longer open (poll.close or poll.void)."""
        polls = self._open_polls.get(poll.matter)
        if polls is not None and (meeting, poll.number) in polls:
            polls.remove((meeting, poll.number))
            if not polls:
                del self._open_polls[poll.matter]

    def _poll_void(self, index: int, record: ParsedRecord) -> None:
        """A poll that cannot be tallied ends without a count, its ballots not counted; one that
        could be tallied must not be voided (domain.assembly.poll_void_refusal). It ends either
        way."""
        body = record.body
        t = record.type
        day = self._at(index, record)
        if not body["reason"].strip():
            self._fail(index, t, "semantics", "reason is blank")
        self._actor(index, t, body, day, MEETING_RUNNERS, "void a poll")
        found = self._open_poll(index, t, body)
        if found is None:
            return
        meeting, poll = found
        if body["matter"] != poll.matter:
            self._fail(index, t, "semantics",
                       f"matter is {str(body['matter'])[:40]}, but meeting {body['meeting']} "
                       f"poll {poll.number} is on {poll.matter}")
        awaiting, earlier = self._tally_facts(body["meeting"], poll)
        refusal = poll_void_refusal(poll.matter, awaiting, earlier is not None)
        if refusal is not None:
            self._fail(index, t, "semantics",
                       f"meeting {body['meeting']} poll {poll.number} could be tallied (matter "
                       f"{poll.matter} awaits the vote and no earlier poll on it is open): it "
                       f"must be closed and counted, not voided [{refusal.rule}]")
        meeting.poll = None
        self._poll_ended(body["meeting"], poll)

    def _ballot_secret(self, index: int, record: ParsedRecord) -> None:
        """A secret ballot in its place in the closing sequence (see :meth:`_sequence`)."""
        body = record.body
        t = record.type
        choice = _enum(Choice, body["choice"])
        if choice is None:
            self._fail(index, t, "format", f"unknown choice {str(body['choice'])[:20]!r}")
        # Logs written before 2026-12 carry the channel (reported at the tally).
        channel = body.get("channel")
        if channel is not None and channel not in BALLOT_CHANNELS:
            self._fail(index, t, "format", f"unknown ballot channel {str(channel)[:20]!r}")
        self._ballot_id(index, t, body["ballot"])
        closing = self._fit
        if closing is None:
            return
        closing.expected -= 1
        if closing.expected == 0:
            closing.stage = "tally"
        linkable = secret_ballot_linkable(body)
        if linkable is not None:
            closing.poll.linkable = linkable.rule
        if channel is not None:
            closing.poll.secret_channels[channel] += 1
        if choice is not None:
            closing.poll.choices[choice] += 1

    def _poll_tally(self, index: int, record: ParsedRecord) -> None:
        """The tally in its place: every number equal to domain.assembly.count() of the poll's
        ballots
        with poll.open's present, members, rule and recusal policy, and the rule's verdict."""
        body = record.body
        t = record.type
        self._at(index, record)
        verdict = body["verdict"]
        if verdict not in VERDICTS:
            self._fail(index, t, "format", f"verdict {str(verdict)[:20]!r} is not passed or "
                       "rejected")
        if _enum(PassRule, body["rule"]) is None:
            self._fail(index, t, "format", f"unknown pass rule {str(body['rule'])[:40]!r}")
        numbers = ("yes", "no", "abstain", "recused", "present", "members", "base", "needed")
        negative = [key for key in numbers if body[key] < 0]
        if negative:
            self._fail(index, t, "format", f"{', '.join(negative)} must not be negative")
        closing = self._fit
        if closing is None:
            return
        poll = closing.poll
        where = f"meeting {closing.meeting} poll {poll.number}"
        if closing.stage == "secret":
            self._fail(index, t, "semantics",
                       f"the poll.close of {where} declared {closing.declared} secret ballots, "
                       f"but only {closing.declared - closing.expected} came before the tally")
        closing.stage = "vote"
        if body["matter"] != poll.matter:
            self._fail(index, t, "semantics",
                       f"matter is {str(body['matter'])[:40]}, but {where} was on {poll.matter}")
        if poll.secret and poll.secret_channels and poll.secret_channels != poll.channels:
            self._fail(index, t, "semantics",
                       f"the secret ballots by channel ({_counts(poll.secret_channels)}) are not "
                       f"the participations by channel ({_counts(poll.channels)})")
        if poll.linkable is not None:
            alone = sorted(c for c, n in poll.channels.items() if n == 1)
            self._findings.append(Finding(
                index, t, poll.linkable,
                f"the ballot.secret records of {where} carry their channel "
                f"({_counts(poll.secret_channels)}), published for good: "
                + (f"the one member who took part by {', '.join(alone)} (named by "
                   "poll.participation) can be linked to their choice" if alone else
                   "a member alone on a channel could be linked to their choice; here no "
                   "channel had a single ballot, but choices per channel can be read off")))
        yes, no, abstain = (poll.choices[Choice.YES], poll.choices[Choice.NO],
                            poll.choices[Choice.ABSTAIN])
        recused = len(poll.recused)
        recount: dict[str, object] = {
            "yes": yes, "no": no, "abstain": abstain, "recused": recused,
            "present": poll.present, "members": poll.members, "rule": poll.rule.value,
            "recusal_counts_present": poll.recusal_counts_present}
        tally = None
        if yes + no + abstain + recused > poll.present:
            self._fail(index, t, "semantics",
                       f"{where} cannot be counted: {yes + no + abstain} ballot(s) and "
                       f"{recused} recusal(s) are more than the {poll.present} members present "
                       "at its opening")
        elif poll.present > poll.members:
            self._fail(index, t, "semantics",
                       f"{where} cannot be counted: {poll.present} present of {poll.members} "
                       "members")
        else:
            try:
                tally = count([*[Choice.YES] * yes, *[Choice.NO] * no,
                               *[Choice.ABSTAIN] * abstain],
                              present=poll.present, members=poll.members, recused=recused,
                              rule=poll.rule, recusal_counts_present=poll.recusal_counts_present)
            except DomainError as exc:  # pragma: no cover - the conditions above exclude it
                self._fail(index, t, "semantics", f"{where} cannot be counted [{exc.rule}]")
        if tally is not None:
            recount["base"] = tally.base
            recount["needed"] = tally.needed
        wrong = [f"{key} {_text(body[key])} (recount {_text(value)})"
                 for key, value in recount.items() if not _same_json(body[key], value)]
        if wrong:
            self._fail(index, t, "semantics",
                       f"the tally is not the recount of {where}'s ballots: {'; '.join(wrong)}")
        if tally is not None and verdict in VERDICTS and verdict != tally.verdict:
            self._fail(index, t, "semantics",
                       f"verdict is {verdict}, but {tally.yes} yes under {tally.rule.value} "
                       f"(base {tally.base}, {tally.needed} needed) means {tally.verdict}")
        closing.verdict = (verdict if verdict in VERDICTS
                           else tally.verdict if tally is not None else None)


#: The record types checked here, and their handlers.
POLLS_HANDLERS: dict[str, Callable[[PollChecks, int, ParsedRecord], None]] = {
    "poll.open": PollChecks._poll_open,
    "poll.recuse": PollChecks._poll_recuse,
    "ballot.cast": PollChecks._ballot_cast,
    "poll.participation": PollChecks._poll_participation,
    "paper.confirm": PollChecks._paper_confirm,
    "poll.close": PollChecks._poll_close,
    "ballot.secret": PollChecks._ballot_secret,
    "poll.tally": PollChecks._poll_tally,
    "poll.void": PollChecks._poll_void,
}
