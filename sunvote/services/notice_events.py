"""The events that write notices besides the meeting's legal notice (issue 18): who each one
tells, the page its link opens, and its idempotency key. Each function is called inside the
event's own use case, so the notices are written, or not, with the event.

The texts are in domain/notices.py ("Event texts"); the outbox writers in services/notices.py;
the time-based events (answers due, notice periods ended, red warnings) in
services/notice_scan.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence

from sqlalchemy import ColumnElement, or_, select

from sunvote.domain.notices import (
    NoticeEvent,
    objection_received_text,
    poll_opened_text,
    review_requested_text,
    suggestion_declined_text,
    suggestion_taken_up_text,
)
from sunvote.domain.roles import SUPERVISOR_ROLES, Role
from sunvote.extensions import db
from sunvote.models import (
    Invitation,
    Matter,
    Meeting,
    Objection,
    Person,
    Poll,
    RoleAssignment,
    Suggestion,
    Village,
)
from sunvote.services.access import local_date, term_in_force
from sunvote.services.notices import WrittenNotice, write_address_notice, write_notices

# --- The pages a notice links to (paths of this site) ---------------------------------------------

#: The phone's cloud-voting page (the member's session on the enrolled phone).
CLOUD_VOTE_PATH = "/c/meeting"


def matter_path(village: Village, number: str) -> str:
    """The matter's page, where its next step is taken."""
    return f"/v/{village.code}/m/{number}"


def supervision_path(village: Village) -> str:
    """The supervisory committee's page (objections, updates to confirm)."""
    return f"/v/{village.code}/supervise"


def suggestion_path(village: Village, number: int) -> str:
    """A suggestion's public page, which its suggester follows."""
    return f"/p/{village.code}/s/{number}"


def oversight_path(township_code: str, village: Village) -> str:
    """The village's warnings on the township's oversight dashboard."""
    return f"/t/{township_code}/oversight/v/{village.code}"


# --- Who is told --------------------------------------------------------------------------------


def village_role_holders(village: Village, roles: Collection[Role], now: dt.datetime
                         ) -> list[Person]:
    """The people holding one of ``roles`` in ``village`` today."""
    return _holders(RoleAssignment.village_id == village.id, roles, now)


def township_role_holders(township_id: int, roles: Collection[Role], now: dt.datetime
                          ) -> list[Person]:
    """The people holding one of ``roles`` in the township today (district administrators
    are held district-wide, so they are included when asked for)."""
    where: ColumnElement[bool] = RoleAssignment.township_id == township_id
    if Role.DISTRICT_ADMIN in roles:
        where = or_(where, RoleAssignment.role == Role.DISTRICT_ADMIN.value)
    return _holders(where, roles, now)


def _holders(where: ColumnElement[bool], roles: Collection[Role], now: dt.datetime
             ) -> list[Person]:
    ids = select(RoleAssignment.person_id).where(
        where, RoleAssignment.role.in_([r.value for r in roles]), term_in_force(local_date(now)))
    return list(db.session.execute(select(Person).where(Person.id.in_(ids))
                                   .order_by(Person.id)).scalars())


def cloud_invitees(meeting: Meeting) -> list[Person]:
    """The members invited to vote on their phones at ``meeting`` (docs/cloud-voting.md): those
    who expect to be told when a poll opens."""
    ids = select(Invitation.person_id).where(Invitation.meeting_id == meeting.id)
    return list(db.session.execute(select(Person).where(Person.id.in_(ids))
                                   .order_by(Person.id)).scalars())


# --- The events -----------------------------------------------------------------------------------


def poll_opened(poll: Poll, meeting: Meeting, matter: Matter, village: Village,
                now: dt.datetime) -> list[WrittenNotice]:
    """A poll opened: its meeting's invited cloud voters, to their phone's voting page."""
    text = poll_opened_text(village.name, meeting.number, matter.number, matter.title)
    return write_notices(NoticeEvent.POLL_OPENED, cloud_invitees(meeting), text,
                         CLOUD_VOTE_PATH, key=f"poll:{poll.id}", now=now, village=village,
                         meeting_id=meeting.id)


def objection_received(objection: Objection, matter: Matter, village: Village,
                       now: dt.datetime) -> list[WrittenNotice]:
    """An objection filed: the supervisory committee, to its page."""
    text = objection_received_text(village.name, matter.number, objection.number,
                                   objection.reply_due_at)
    return write_notices(NoticeEvent.OBJECTION_RECEIVED,
                         village_role_holders(village, SUPERVISOR_ROLES, now), text,
                         supervision_path(village), key=f"objection:{objection.id}", now=now,
                         village=village)


def suggestions_taken_up(suggestions: Sequence[Suggestion], matter: Matter, village: Village,
                         now: dt.datetime) -> list[WrittenNotice]:
    """Suggestions merged into a new matter: each suggester who left a mobile number."""
    notices: list[WrittenNotice] = []
    for suggestion in suggestions:
        notices += write_address_notice(
            NoticeEvent.SUGGESTION_ANSWERED, suggestion.contact,
            suggestion_taken_up_text(village.name, suggestion.number, matter.number),
            suggestion_path(village, suggestion.number), key=f"suggestion:{suggestion.id}",
            now=now, village=village)
    return notices


def suggestion_declined(suggestion: Suggestion, village: Village,
                        now: dt.datetime) -> list[WrittenNotice]:
    """A suggestion answered without being taken up: its suggester, if they left a mobile."""
    return write_address_notice(
        NoticeEvent.SUGGESTION_ANSWERED, suggestion.contact,
        suggestion_declined_text(village.name, suggestion.number),
        suggestion_path(village, suggestion.number), key=f"suggestion:{suggestion.id}",
        now=now, village=village)


def review_requested(matter: Matter, step_seq: int, village: Village,
                     now: dt.datetime) -> list[WrittenNotice]:
    """A matter sent to township review (step 3 done, or returned and discussed again): the
    township's reviewers, to the matter's page. ``step_seq`` tells one submission from the
    next."""
    text = review_requested_text(village.name, matter.number, matter.title)
    return write_notices(NoticeEvent.REVIEW_REQUESTED,
                         township_role_holders(village.township_id,
                                               {Role.TOWNSHIP_REVIEWER}, now),
                         text, matter_path(village, matter.number),
                         key=f"review:{matter.id}:{step_seq}", now=now, village=village)
