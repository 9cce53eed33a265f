"""Households, people, kinship, role assignments with terms, and login accounts."""

from __future__ import annotations

import datetime as dt

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sunvote.models.base import Base, utcnow


class Household(Base):
    """A registered household (户) of a village."""

    __tablename__ = "household"
    __table_args__ = (UniqueConstraint("village_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), index=True)
    number: Mapped[str] = mapped_column(String(30))
    head_name: Mapped[str] = mapped_column(String(60))
    group_name: Mapped[str | None] = mapped_column(String(60))  # 村民小组
    address: Mapped[str | None] = mapped_column(String(200))


class Person(Base):
    """A person SunVote knows: a villager, or an official of a township or the district
    (``village_id`` is then empty). ID and phone numbers are private: never on public pages."""

    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int | None] = mapped_column(ForeignKey("village.id"), index=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    female: Mapped[bool] = mapped_column(default=False)
    id_number: Mapped[str | None] = mapped_column(String(18), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    # Where e-mail notices go (domain/notices.py personal_channels); private like the phone.
    email: Mapped[str | None] = mapped_column(String(120))
    party_member: Mapped[bool] = mapped_column(default=False)
    accounting_skill: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    account: Mapped[Account | None] = relationship(back_populates="person",
                                                   foreign_keys="Account.person_id")
    roles: Mapped[list[RoleAssignment]] = relationship(
        back_populates="person", foreign_keys="RoleAssignment.person_id")
    household: Mapped[Household | None] = relationship()


class Kinship(Base):
    """Two people who are close relatives (近亲属), for the supervisory-committee bar:
    ``relative_id`` is the ``relation`` (配偶, 子女 …) of ``person_id``."""

    __tablename__ = "kinship"
    __table_args__ = (
        UniqueConstraint("person_id", "relative_id"),
        CheckConstraint("person_id < relative_id", name="ordered_pair"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    relative_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    relation: Mapped[str] = mapped_column(String(30))


class RoleAssignment(Base):
    """A person holds a role in a village, a township or the district from ``starts_on`` to
    ``ends_on`` (inclusive; open-ended when empty). Rows are kept after the term ends: a term
    ended early keeps its planned end in ``planned_ends_on`` with the reason, who and when."""

    __tablename__ = "role_assignment"
    __table_args__ = (
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="term_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    role: Mapped[str] = mapped_column(String(30))
    village_id: Mapped[int | None] = mapped_column(ForeignKey("village.id"), index=True)
    township_id: Mapped[int | None] = mapped_column(ForeignKey("township.id"), index=True)
    starts_on: Mapped[dt.date]
    ends_on: Mapped[dt.date | None]
    # For representatives: how many households they represent, or the village group.
    households_represented: Mapped[int | None]
    group_name: Mapped[str | None] = mapped_column(String(60))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Set when the term is ended early (a ``role.end`` ledger record): the end it had before.
    planned_ends_on: Mapped[dt.date | None]
    end_reason: Mapped[str | None] = mapped_column(String(500))
    ended_at: Mapped[dt.datetime | None]
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))

    person: Mapped[Person] = relationship(back_populates="roles", foreign_keys=[person_id])

    def active_on(self, day: dt.date) -> bool:
        """Whether the term covers ``day``."""
        return self.starts_on <= day and (self.ends_on is None or day <= self.ends_on)


class Account(UserMixin, Base):
    """A login for a person who acts in SunVote; the user name is usually a phone number."""

    __tablename__ = "account"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), unique=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    must_change_password: Mapped[bool] = mapped_column(default=False)
    disabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[dt.datetime | None]
    # Wrong passwords in a row, and until when the account waits before the next one is looked
    # at (domain/login.py login_delay; not from a browser it logged in from before).
    failed_logins: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_until: Mapped[dt.datetime | None]

    # Who issued the login or last reset its password (None: made from the command line or the
    # demo, or before this was kept). Someone whose work this person confirms may not be it
    # (domain.administration.checker_login_refusal).
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    # Every login session carries the value this had when it began (get_id); logging out,
    # changing or resetting the password and disabling the account add one, which ends every
    # session begun before, on every browser (sunvote.auth.sessions).
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")

    person: Mapped[Person] = relationship(back_populates="account", foreign_keys=[person_id])

    @property
    def is_active(self) -> bool:  # Flask-Login refuses disabled accounts
        return not self.disabled

    def get_id(self) -> str:
        """What the session keeps: ``<id>:<session_epoch>`` (see ``session_epoch``)."""
        return f"{self.id}:{self.session_epoch}"
