"""The representative assembly: meetings, their agenda and frozen roster, attendance, polls,
recusals, participation (one per member per poll, any channel), ballots, paper batches and
members' requests for a meeting."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sunvote.domain.assembly import Channel, Choice, MeetingState, PollState, VoteMode
from sunvote.models.base import Base, enum_column, utcnow


class Meeting(Base):
    """A villagers' representative assembly meeting: convened with notice, opened (roster frozen),
    closed. Numbered 1, 2, … per village (the ledger's ``meeting``)."""

    __tablename__ = "meeting"
    __table_args__ = (UniqueConstraint("village_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), index=True)
    number: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    place: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[dt.datetime]
    notice_days: Mapped[int]
    state: Mapped[MeetingState] = mapped_column(enum_column(MeetingState, 20))
    # Shown as a QR on the hall screen: a member's logged-in phone opening it checks them in.
    checkin_code: Mapped[str] = mapped_column(String(40))
    # Key of the live presence code on the hall screen (cloud check-in, domain/cloud.py); hex.
    presence_secret: Mapped[str | None] = mapped_column(String(64))
    convened_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    convened_by_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    opened_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]

    items: Mapped[list[MeetingItem]] = relationship(order_by="MeetingItem.position")
    members: Mapped[list[MeetingMember]] = relationship(order_by="MeetingMember.person_id")
    polls: Mapped[list[Poll]] = relationship(order_by="Poll.number")
    village = relationship("Village")


class MeetingItem(Base):
    """A matter on a meeting's agenda."""

    __tablename__ = "meeting_item"
    __table_args__ = (UniqueConstraint("meeting_id", "matter_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"), index=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matter.id"), index=True)
    position: Mapped[int]

    matter = relationship("Matter")


class MeetingMember(Base):
    """A member of the assembly as frozen when the meeting opened, with the roles that made them
    one (comma-separated role values)."""

    __tablename__ = "meeting_member"
    __table_args__ = (UniqueConstraint("meeting_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    roles: Mapped[str] = mapped_column(String(200))

    person = relationship("Person")


class Attendance(Base):
    """A member is present now: one row per member and meeting, whatever the channel (a switch
    of channel updates it; the ledger keeps each check-in). A member who leaves loses the row
    (``meeting.leave`` says who recorded it and when); coming back inserts a new one. Ids are
    never reused (SQLite AUTOINCREMENT; PostgreSQL's sequence), so ``poll.attendance_upto``
    tells who was present when a poll opened."""

    __tablename__ = "attendance"
    __table_args__ = (UniqueConstraint("meeting_id", "person_id"),
                      {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, 10))
    checked_in_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("person.id"))

    person = relationship("Person", foreign_keys=[person_id])


class Poll(Base):
    """The vote on one agenda matter: opened with the present count checked against the quorum,
    closed with its tally (or voided when it cannot be tallied). At most one poll per matter and
    meeting, and at most one open poll per matter (domain.assembly.poll_opening_refusal)."""

    __tablename__ = "poll"
    __table_args__ = (UniqueConstraint("meeting_id", "number"),
                      UniqueConstraint("meeting_id", "matter_id"),
                      # Covers the dashboards' quorum check on every poll row (an index-only
                      # scan); serves look-ups by meeting too.
                      Index("ix_poll_quorum_check", "meeting_id", "quorum", "present", "members"),
                      # One open poll per matter, whatever the meeting: the database's own
                      # guarantee behind domain.assembly.poll_opening_refusal.
                      Index("uq_poll_open_matter", "matter_id", unique=True,
                            sqlite_where=text("state = 'open'"),
                            postgresql_where=text("state = 'open'")))

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"))
    number: Mapped[int]
    matter_id: Mapped[int] = mapped_column(ForeignKey("matter.id"))
    mode: Mapped[VoteMode] = mapped_column(enum_column(VoteMode, 10))
    state: Mapped[PollState] = mapped_column(enum_column(PollState, 10))
    present: Mapped[int]  # at opening
    # The newest attendance row when the poll opened: members whose attendance row is not newer
    # were present at opening and vote on this poll (rows are created in order under the lock).
    attendance_upto: Mapped[int] = mapped_column(default=0)
    members: Mapped[int]
    quorum: Mapped[str] = mapped_column(String(20))
    rule: Mapped[str] = mapped_column(String(40))
    recusal_counts_present: Mapped[bool]
    opened_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    opened_by_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    closed_at: Mapped[dt.datetime | None]
    yes: Mapped[int | None]
    no: Mapped[int | None]
    abstain: Mapped[int | None]
    recused: Mapped[int | None]
    # Ballots cast by cloud vote, counted at close like yes / no / abstain: the oversight
    # dashboard reads a district's cloud-vote share from poll rows, not from its ballots.
    cloud: Mapped[int | None]
    verdict: Mapped[str | None] = mapped_column(String(10))
    void_reason: Mapped[str | None] = mapped_column(Text)  # why it was voided (state void)

    matter = relationship("Matter")
    meeting: Mapped[Meeting] = relationship(back_populates="polls")


class Recusal(Base):
    """A member declared a personal interest and does not vote on this poll."""

    __tablename__ = "recusal"
    __table_args__ = (UniqueConstraint("poll_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("poll.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    reason: Mapped[str] = mapped_column(Text)
    declared_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    person = relationship("Person")


class PaperBatch(Base):
    """Paper ballots the clerk entered from a signed tally sheet (its photo or scan stored by
    SHA-256); they count only once a supervisory committee member confirms them."""

    __tablename__ = "paper_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("poll.id"), index=True)
    sheet_sha256: Mapped[str] = mapped_column(ForeignKey("blob.sha256"))
    sheet_name: Mapped[str] = mapped_column(String(200))
    entered_by_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    entered_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    confirmed_at: Mapped[dt.datetime | None]


class Participation(Base):
    """Member X took part in poll P, by some channel. The unique constraint is the database's own
    guarantee of one ballot per member per poll across every channel, in both modes."""

    __tablename__ = "participation"
    __table_args__ = (UniqueConstraint("poll_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("poll.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, 10))
    paper_batch_id: Mapped[int | None] = mapped_column(ForeignKey("paper_batch.id"))

    person = relationship("Person")


class Ballot(Base):
    """A ballot: its random code (the voter's receipt code), choice and channel. Named ballots
    name the voter; secret ones do not (and carry no time and no channel), and are written to
    the ledger in a shuffled batch when the poll closes (``appended``), their rows re-inserted
    in that order."""

    __tablename__ = "ballot"
    __table_args__ = (
        CheckConstraint("choice IN ('yes', 'no', 'abstain')", name="choice_value"),
        UniqueConstraint("poll_id", "voter_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("poll.id"), index=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    choice: Mapped[Choice] = mapped_column(enum_column(Choice, 10))
    channel: Mapped[Channel | None] = mapped_column(enum_column(Channel, 10))  # named only
    voter_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))  # named only
    cast_at: Mapped[dt.datetime | None]  # named only
    paper_batch_id: Mapped[int | None] = mapped_column(ForeignKey("paper_batch.id"))
    appended: Mapped[bool] = mapped_column(default=False)
    ledger_seq: Mapped[int | None]

    voter = relationship("Person")


class MeetingRequest(Base):
    """A representative asked for a meeting (1/5 of representatives force one, art. 26)."""

    __tablename__ = "meeting_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    reason: Mapped[str] = mapped_column(Text)
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    answered_by_meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meeting.id"))

    person = relationship("Person")
