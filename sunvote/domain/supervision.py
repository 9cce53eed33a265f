"""Step 6, supervision (组织法 arts. 30–32): the public notice after a vote, villagers' objections
and the supervisory committee's replies, implementation updates and their confirmation, the
completion sign-off and villagers' satisfaction ratings.

Pure: times, settings and counts in, decisions out. The services load, ask and write.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sunvote.domain.errors import N_, Conflict, InvalidField
from sunvote.domain.procedure import MatterState
from sunvote.domain.roles import Role

#: Who answers objections and confirms implementation (the supervisory committee, art. 32).
SUPERVISORS: frozenset[Role] = frozenset({Role.SUPERVISOR, Role.SUPERVISOR_CHAIR})
#: Who records implementation progress (the village committee and its clerk).
IMPLEMENTERS: frozenset[Role] = frozenset({Role.CLERK, Role.COMMITTEE_DIRECTOR,
                                           Role.COMMITTEE_MEMBER})
#: Objections accepted from one network address per hour (abuse limit, not a legal rule).
OBJECTIONS_PER_HOUR = 3
#: Ratings accepted from one network address per hour: a family rates a few matters; one phone
#: rating for many households is what this stops (abuse limit, not a legal rule).
RATINGS_PER_HOUR = 10
#: Ratings run from 1 (very dissatisfied) to 5 (very satisfied).
SCORES = range(1, 6)


class Outcome(StrEnum):
    """The supervisory committee's answer to an objection."""

    DISMISSED = "dismissed"  # not well-founded: explained, the matter goes on
    UPHELD = "upheld"  # well-founded: the matter goes back to a new vote (a procedural breach)


OUTCOME_LABELS: dict[Outcome, str] = {Outcome.DISMISSED: N_("不成立，已说明"),
                                      Outcome.UPHELD: N_("成立，退回重新票决")}


#: A passed matter's label once its notice period has ended (also the board's group heading).
NOTICE_OVER_LABEL = N_("已通过，公示期满，待实施")


def notice_period_over(notice_ends: dt.datetime | None, now: dt.datetime) -> bool:
    """Whether a published result's notice period has ended (the period ends at
    ``notice_ends``, see :func:`notice_end`)."""
    return notice_ends is not None and now >= notice_ends


def notice_over(state: MatterState, notice_ends: dt.datetime | None, now: dt.datetime) -> bool:
    """Whether a passed matter's notice period has ended (it waits for implementation)."""
    return state is MatterState.PASSED and notice_period_over(notice_ends, now)


def state_label(state: MatterState, notice_ends: dt.datetime | None, now: dt.datetime) -> str:
    """A matter's state as people read it (message id): a passed matter whose notice period has
    ended is no longer "公示中" but waits for implementation."""
    if notice_over(state, notice_ends, now):
        return NOTICE_OVER_LABEL
    return state.label



def notice_end(start: dt.datetime, days: int) -> dt.datetime:
    """A passed result's notice period: ``days`` full days from its publication."""
    return start + dt.timedelta(days=days)


def reply_due(filed_at: dt.datetime, days: int) -> dt.datetime:
    """When the supervisory committee must have answered an objection."""
    return filed_at + dt.timedelta(days=days)


def objection_window_refusal(now: dt.datetime, starts: dt.datetime | None,
                             ends: dt.datetime | None) -> Conflict | None:
    """Why an objection may not be filed now, or None: objections are taken during a passed
    result's notice period only. The public matter page asks it whether to offer the form."""
    if starts is None or ends is None:
        return Conflict("notice.objection_window",
                        N_("该事项没有处于公示期的表决结果，不能提出异议"))
    if not starts <= now < ends:
        return Conflict("notice.objection_window",
                        N_("只能在公示期内提出异议（公示期至%(end)s）"),
                        end=ends.isoformat(timespec="minutes"))
    return None


def check_objection_window(now: dt.datetime, starts: dt.datetime | None,
                           ends: dt.datetime | None) -> None:
    """Objections are taken during a passed result's notice period only: raise
    :func:`objection_window_refusal`'s refusal."""
    refusal = objection_window_refusal(now, starts, ends)
    if refusal is not None:
        raise refusal


def start_refusal(now: dt.datetime, notice_ends: dt.datetime | None,
                  unanswered: int) -> Conflict | None:
    """Why implementation may not start now, or None: it starts only after the notice period,
    with every objection answered (an upheld one has already sent the matter back to the vote,
    so it is not passed any more). The service refuses with it; the matter page shows it instead
    of the form."""
    if notice_ends is None:
        return Conflict("notice.period", N_("该事项的表决结果尚未公示，不能开始实施"))
    if now < notice_ends:
        return Conflict("notice.period", N_("公示期至%(end)s结束，公示期内不得开始实施"),
                        end=notice_ends.isoformat(timespec="minutes"))
    if unanswered:
        return Conflict("notice.objection_open",
                        N_("还有%(n)s条异议未答复，答复前不得开始实施"), n=unanswered)
    return None


def check_start(now: dt.datetime, notice_ends: dt.datetime | None, unanswered: int) -> None:
    """Raise :func:`start_refusal`'s refusal, if any."""
    refusal = start_refusal(now, notice_ends, unanswered)
    if refusal is not None:
        raise refusal


def check_progress(progress: object) -> int:
    """Progress is a whole percentage 0–100."""
    try:
        value = int(str(progress))
    except ValueError:
        raise InvalidField("implementation.progress", N_("进度须为0到100的整数")) from None
    if not 0 <= value <= 100:
        raise InvalidField("implementation.progress", N_("进度须为0到100的整数"))
    return value


def completion_refusal(unconfirmed: int, last_progress: int | None) -> Conflict | None:
    """Why the committee may not sign off now, or None: sign-off needs every implementation
    update confirmed and the work at 100 % (no update at all is not 100 %)."""
    if unconfirmed:
        return Conflict("implementation.unconfirmed",
                        N_("还有%(n)s条实施进度未经监督委员会确认，不能验收"), n=unconfirmed)
    if last_progress != 100:
        return Conflict("implementation.unconfirmed", N_("实施进度尚未达到百分之百，不能验收"))
    return None


def check_completion(unconfirmed: int, last_progress: int | None) -> None:
    """Raise :func:`completion_refusal`'s refusal, if any."""
    refusal = completion_refusal(unconfirmed, last_progress)
    if refusal is not None:
        raise refusal


def check_score(score: object) -> int:
    """A rating is 1–5."""
    try:
        value = int(str(score))
    except ValueError:
        raise InvalidField("rating.score", N_("满意度须为1到5分")) from None
    if value not in SCORES:
        raise InvalidField("rating.score", N_("满意度须为1到5分"))
    return value
