"""Offline checks of step 6, supervision: the published result and its notice period,
objections and replies, implementation updates and their confirmation, sign-off and
ratings (the twin of services/supervision.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sunvote.domain.ledger.verifier.polls import VERDICTS
from sunvote.domain.ledger.verifier.reading import ParsedRecord, _parse_at
from sunvote.domain.ledger.verifier.report import _json, _numbers, _utc
from sunvote.domain.ledger.verifier.state import (
    VerifierState,
    _Matter,
    _Notice,
    _Supervision,
    _Upheld,
)
from sunvote.domain.procedure import Action, MatterState, Step
from sunvote.domain.supervision import (
    IMPLEMENTERS,
    SCORES,
    SUPERVISORS,
    Outcome,
    objection_window_refusal,
    reply_due,
)

#: The supervisory committee's answers to an objection.
OUTCOMES = frozenset(o.value for o in Outcome)


class SupervisionChecks(VerifierState):
    """Record types of step 6: ``notice.publish`` follows its ``record_vote``,
    ``objection.file`` falls in the notice period, an upheld ``objection.reply`` is followed
    by the matter's ``flag_breach`` back to the vote, ``start_implementation`` waits for the
    notice's end and every reply, and ``complete`` for every ``implementation.update``
    confirmed and the last at 100 %."""

    def _matter_of(self, index: int, t: str, number: str) -> _Matter | None:
        """The matter ``number`` of this log; None and a failure if there is none."""
        matter = self._matters.get(number)
        if matter is None:
            self._fail(index, t, "semantics",
                       f"matter {str(number)[:40]} is not a matter of this log")
        return matter

    def _after_upheld(self, index: int, record: ParsedRecord) -> None:
        """After an upheld objection.reply the next record is its matter's matter.step
        flag_breach back to the vote (``breach_step`` ``vote``), by the person who upheld it
        (the services write both in one transaction)."""
        upheld = self._upheld
        if upheld is None:
            return
        self._upheld = None
        t, body = record.type, record.body
        what = (f"objection {upheld.objection} of matter {upheld.matter} was upheld at record "
                f"{upheld.index}")
        if not (t == "matter.step" and body["action"] == Action.FLAG_BREACH.value
                and body["matter"] == upheld.matter):
            self._fail(index, t, "semantics",
                       f"{what}: the matter.step flag_breach of matter {upheld.matter} back to "
                       f"the vote must come next, not this {t}")
            return
        breach = body["fields"].get("breach_step")
        if breach != Step.VOTE.value:
            self._fail(index, t, "semantics",
                       f"{what}: its flag_breach must send the matter back to the vote "
                       f"(breach_step vote), not {_json(breach)}")
        if body["person"] != upheld.person:
            self._fail(index, t, "semantics",
                       f"{what} by person {upheld.person}, but the flag_breach after it is by "
                       f"person {body['person']}")

    def _supervise_step(self, index: int, record: ParsedRecord, number: str,
                        state: MatterState, action: Action) -> None:
        """Step 6's rules beyond the transition table, for a matter in the state the action
        starts from: start_implementation not before the notice period ends and with every
        objection answered; complete with at least one implementation update, all confirmed,
        the last at 100 %."""
        t = record.type
        supervision = self._supervision.get(number, _Supervision())
        if action is Action.START_IMPLEMENTATION and state is MatterState.PASSED:
            notice = supervision.notice
            moment = _parse_at(record.body["at"])
            if notice is None or not notice.passed:
                self._fail(index, t, "semantics",
                           f"matter {number}'s passed result was not published with a notice "
                           "period (no notice.publish): implementation cannot start")
            elif notice.end is not None and moment is not None and moment < notice.end:
                self._fail(index, t, "semantics",
                           f"implementation starts at {record.body['at']}, during the notice "
                           f"period of matter {number}, which ends at {_utc(notice.end)}")
            if supervision.unanswered:
                self._fail(index, t, "semantics",
                           f"objection {_numbers(supervision.unanswered)} of matter {number} "
                           "not answered: implementation cannot start before every objection "
                           "is answered")
        elif action is Action.COMPLETE and state is MatterState.IMPLEMENTING:
            self._checker_login(index, t, record.body["person"], supervision.recorders,
                                f"the implementation of matter {number}, which they recorded")
            if supervision.updates == 0:
                self._fail(index, t, "semantics",
                           f"matter {number} has no implementation.update: nothing to sign off")
                return
            if supervision.unconfirmed:
                self._fail(index, t, "semantics",
                           f"implementation update {_numbers(supervision.unconfirmed)} of "
                           f"matter {number} not confirmed by the supervisory committee: "
                           "sign-off needs every update confirmed")
            if supervision.progress != 100:
                self._fail(index, t, "semantics",
                           f"the last implementation update of matter {number} is at "
                           f"{supervision.progress} %, not 100 %: sign-off needs the work done")

    def _notice_publish(self, index: int, record: ParsedRecord) -> None:
        """The vote's result, published in its place: directly after its record_vote (see
        :meth:`_sequence`), naming the tally's meeting, poll and verdict; a passed one with
        ``days`` the township's public_notice_days in force and ``ends_at`` = ``at`` + days,
        a rejected one with days 0 and ends_at null. Effect (in place only): the matter's
        notice period, [``at``, ``at`` + public_notice_days) for a passed result (by the
        tally's verdict), none for a rejected one."""
        body = record.body
        t = record.type
        self._at(index, record)
        at = _parse_at(body["at"])
        verdict, days, ends_text = body["verdict"], body["days"], body["ends_at"]
        if verdict not in VERDICTS:
            self._fail(index, t, "format",
                       f"verdict {str(verdict)[:20]!r} is not passed or rejected")
        ends = None if ends_text is None else _parse_at(ends_text)
        if ends_text is not None and ends is None:
            self._fail(index, t, "format",
                       f"ends_at {str(ends_text)[:40]!r} is not a UTC time YYYY-MM-DDTHH:MM:SSZ "
                       "(or null)")
        positive = self._positive(index, t, body, "meeting", "poll")
        closing = self._fit
        if closing is None:  # out of place: reported by _sequence; nothing more is checked
            return
        where = f"meeting {closing.meeting} poll {closing.poll.number}"
        if positive and (body["meeting"], body["poll"]) != (closing.meeting, closing.poll.number):
            self._fail(index, t, "semantics",
                       f"notice.publish names meeting {body['meeting']} poll {body['poll']}, "
                       f"but the result it publishes is that of {where}")
        if verdict in VERDICTS and closing.verdict is not None and verdict != closing.verdict:
            self._fail(index, t, "semantics",
                       f"verdict is {verdict}, but the poll.tally of {where} says "
                       f"{closing.verdict}")
        in_force = self._int_setting("public_notice_days", 5)
        if verdict == "passed":
            if days != in_force:
                self._fail(index, t, "semantics",
                           f"days is {days}, but the township's public_notice_days in force is "
                           f"{in_force}")
            if ends_text is None:
                self._fail(index, t, "semantics",
                           "a passed result's notice needs its ends_at (it is null)")
            elif at is not None and ends is not None and ends != at + dt.timedelta(
                    days=in_force):
                self._fail(index, t, "semantics",
                           f"ends_at is {ends_text}, but a notice published at {body['at']} for "
                           f"{in_force} days (public_notice_days) ends at "
                           f"{_utc(at + dt.timedelta(days=in_force))}")
        elif verdict == "rejected" and (days != 0 or ends_text is not None):
            self._fail(index, t, "semantics",
                       f"a rejected result has no notice period: days must be 0 and ends_at "
                       f"null, not {days} and {_json(ends_text)}")
        passed = (closing.verdict or verdict) == "passed"
        end = at + dt.timedelta(days=in_force) if passed and at is not None else None
        supervision = self._supervision.setdefault(closing.poll.matter, _Supervision())
        supervision.notice = _Notice(passed, at, end)

    def _objection_file(self, index: int, record: ParsedRecord) -> None:
        """A villager's objection to a passed result, during its notice period [notice ``at``,
        ``ends_at``), numbered 1, 2, … per matter, with ``reply_due`` = ``at`` + the township's
        objection_reply_days and a text. Effect: the objection is open (unanswered)."""
        body = record.body
        t = record.type
        self._at(index, record)
        at = _parse_at(body["at"])
        due = _parse_at(body["reply_due"])
        if due is None:
            self._fail(index, t, "format",
                       f"reply_due {str(body['reply_due'])[:40]!r} is not a UTC time "
                       "YYYY-MM-DDTHH:MM:SSZ")
        if not body["text"].strip():
            self._fail(index, t, "semantics", "an objection needs a text (it is empty)")
        if not self._positive(index, t, body, "objection"):
            return
        number, objection = body["matter"], body["objection"]
        matter = self._matter_of(index, t, number)
        if matter is None:
            return
        supervision = self._supervision.setdefault(number, _Supervision())
        notice = supervision.notice
        if matter.state is not MatterState.PASSED:
            self._fail(index, t, "semantics",
                       f"matter {number} is {matter.state.value}, not passed: objections are "
                       "taken during a passed result's notice period")
        elif notice is None or not notice.passed:
            self._fail(index, t, "semantics",
                       f"notice.objection_window: matter {number}'s passed result was not "
                       "published with a notice period (no notice.publish)")
        elif (at is not None and notice.start is not None and notice.end is not None
              and (refusal := objection_window_refusal(at, notice.start, notice.end))):
            self._fail(index, t, "semantics",
                       f"{refusal.rule}: objection at {body['at']} is outside the notice period "
                       f"of matter {number} (from {_utc(notice.start)} until before "
                       f"{_utc(notice.end)})")
        if objection != supervision.objections + 1:
            self._fail(index, t, "semantics",
                       f"objection number is {objection}, but matter {number} has "
                       f"{supervision.objections} earlier objection(s): expected "
                       f"{supervision.objections + 1}")
        reply_days = self._int_setting("objection_reply_days", 7)
        if at is not None and due is not None and due != reply_due(at, reply_days):
            self._fail(index, t, "semantics",
                       f"reply_due is {body['reply_due']}, but objection_reply_days in force is "
                       f"{reply_days}: due at {_utc(reply_due(at, reply_days))}")
        if objection > supervision.objections:
            supervision.objections = objection
            supervision.unanswered.add(objection)

    def _objection_reply(self, index: int, record: ParsedRecord) -> None:
        """A supervisory committee member (held on the day) answers an open objection of the
        matter, ``dismissed`` or ``upheld``, with a reply; an upheld one is followed by the
        matter's flag_breach back to the vote (:meth:`_after_upheld`). Effect: answered."""
        body = record.body
        t = record.type
        day = self._at(index, record)
        outcome = body["outcome"]
        if outcome not in OUTCOMES:
            self._fail(index, t, "semantics",
                       f"outcome {str(outcome)[:20]!r} is not dismissed or upheld")
        elif outcome == Outcome.UPHELD.value:
            self._upheld = _Upheld(index, body["matter"], body["objection"], body["person"])
        if not body["reply"].strip():
            self._fail(index, t, "semantics", "a reply needs a text (it is empty)")
        self._actor(index, t, body, day, SUPERVISORS, "answer an objection")
        self._checker_login(index, t, body["person"],
                            self._vote_runners.get(str(body["matter"]), set()),
                            "the vote they ran (opened a poll of)")
        if not self._positive(index, t, body, "objection"):
            return
        number, objection = body["matter"], body["objection"]
        if self._matter_of(index, t, number) is None:
            return
        supervision = self._supervision.setdefault(number, _Supervision())
        if objection > supervision.objections:
            self._fail(index, t, "semantics",
                       f"matter {number} has no objection {objection} ({supervision.objections} "
                       "filed)")
        elif objection not in supervision.unanswered:
            self._fail(index, t, "semantics",
                       f"objection {objection} of matter {number} was already answered")
        else:
            supervision.unanswered.discard(objection)

    def _implementation_update(self, index: int, record: ParsedRecord) -> None:
        """Implementation progress on an implementing matter, by the village committee or its
        clerk (IMPLEMENTERS, held on the day), numbered 1, 2, … per matter: progress 0–100,
        spent_fen ≥ 0, planned_fen the matter's amount, evidence files by SHA-256. Effect: the
        update awaits its confirmation; its progress is the matter's latest."""
        body = record.body
        t = record.type
        day = self._at(index, record)
        self._attachments_ok(index, t, body["evidence"], "evidence")
        self._actor(index, t, body, day, IMPLEMENTERS, "record implementation progress")
        progress, spent = body["progress"], body["spent_fen"]
        if not 0 <= progress <= 100:
            self._fail(index, t, "semantics", f"progress {progress} is not a percentage 0–100")
        if spent < 0:
            self._fail(index, t, "semantics", f"spent_fen {spent} is negative")
        if not self._positive(index, t, body, "update"):
            return
        number, update = body["matter"], body["update"]
        matter = self._matter_of(index, t, number)
        if matter is None:
            return
        if matter.state is not MatterState.IMPLEMENTING:
            self._fail(index, t, "semantics",
                       f"matter {number} is {matter.state.value}, not implementing")
        if body["planned_fen"] != matter.amount_fen:
            self._fail(index, t, "semantics",
                       f"planned_fen is {_json(body['planned_fen'])}, but matter {number}'s "
                       f"amount (amount_fen of its latest proposal or discussion) is "
                       f"{_json(matter.amount_fen)}")
        supervision = self._supervision.setdefault(number, _Supervision())
        if update != supervision.updates + 1:
            self._fail(index, t, "semantics",
                       f"update number is {update}, but matter {number} has "
                       f"{supervision.updates} earlier update(s): expected "
                       f"{supervision.updates + 1}")
        if update > supervision.updates:
            supervision.updates = update
            supervision.unconfirmed[update] = body["person"]
            supervision.recorders.add(body["person"])
            supervision.progress = progress

    def _implementation_confirm(self, index: int, record: ParsedRecord) -> None:
        """A supervisory committee member (held on the day) confirms an unconfirmed update of
        the matter that someone else recorded. Effect: the update is confirmed (also when
        the confirmer recorded it: that is reported)."""
        body = record.body
        t = record.type
        day = self._at(index, record)
        self._actor(index, t, body, day, SUPERVISORS, "confirm implementation progress")
        if not self._positive(index, t, body, "update"):
            return
        number, update = body["matter"], body["update"]
        if self._matter_of(index, t, number) is None:
            return
        supervision = self._supervision.setdefault(number, _Supervision())
        if update > supervision.updates:
            self._fail(index, t, "semantics",
                       f"matter {number} has no implementation update {update} "
                       f"({supervision.updates} recorded)")
        elif update not in supervision.unconfirmed:
            self._fail(index, t, "semantics",
                       f"implementation update {update} of matter {number} was already "
                       "confirmed")
        else:
            recorder = supervision.unconfirmed.pop(update)
            self._checker_login(index, t, body["person"], {recorder},
                                f"implementation update {update}, which they recorded")
            if recorder == body["person"]:
                self._fail(index, t, "semantics",
                           f"person {recorder} confirms implementation update {update}, which "
                           "they recorded themself: the confirmer must be someone else")

    def _rating_add(self, index: int, record: ParsedRecord) -> None:
        """A rating 1–5 of a completed matter. (One per household is not checked: the
        household is not in the log.)"""
        body = record.body
        t = record.type
        self._at(index, record)
        if body["score"] not in SCORES:
            self._fail(index, t, "semantics", f"score {body['score']} is not 1–5")
        matter = self._matter_of(index, t, body["matter"])
        if matter is not None and matter.state is not MatterState.COMPLETED:
            self._fail(index, t, "semantics",
                       f"matter {body['matter']} is {matter.state.value}, not completed: only "
                       "completed matters are rated")


#: The record types checked here, and their handlers.
SUPERVISION_HANDLERS: dict[str, Callable[[SupervisionChecks, int, ParsedRecord], None]] = {
    "notice.publish": SupervisionChecks._notice_publish,
    "objection.file": SupervisionChecks._objection_file,
    "objection.reply": SupervisionChecks._objection_reply,
    "implementation.update": SupervisionChecks._implementation_update,
    "implementation.confirm": SupervisionChecks._implementation_confirm,
    "rating.add": SupervisionChecks._rating_add,
}
