"""Offline checks of the village register: role terms (appoint, end early), register
imports and login accounts (the twin of services/register.py, services/register_import.py
and services/accounts.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sunvote.domain.administration import (
    REGISTER_KEEPERS,
    TOWNSHIP_ADMINS,
    login_issuer_refusal,
    register_keeper_refusal,
)
from sunvote.domain.ledger.verifier.reading import _SHA256_HEX, ParsedRecord, _enum, _parse_date
from sunvote.domain.ledger.verifier.report import _json, _names, _rule_text
from sunvote.domain.ledger.verifier.state import VerifierState
from sunvote.domain.roles import Role, Scope

#: The counts of a ``register.import`` that add up to its ``rows``.
IMPORT_COUNTS: tuple[str, ...] = ("created", "changed", "unchanged", "rejected")


class RegisterChecks(VerifierState):
    """Record types of the register: ``role.appoint`` creates or amends a term, ``role.end``
    shortens one, ``register.import`` needs a register keeper (domain.administration), and the
    ``account.*`` records keep who issued each login (``admin.checker_login``)."""

    def _role_appoint(self, index: int, record: ParsedRecord) -> None:
        body = record.body
        t = record.type
        self._at(index, record)
        ok = True
        person = body["person"]
        if person < 1:
            self._fail(index, t, "format", f"person {person} is not a positive id")
            ok = False
        try:
            role = Role(body["role"])
        except ValueError:
            self._fail(index, t, "format", f"unknown role {str(body['role'])[:40]!r}")
            return
        try:
            scope = Scope(body["scope"])
        except ValueError:
            self._fail(index, t, "format", f"unknown scope {str(body['scope'])[:40]!r}")
            scope = None
        starts_on = _parse_date(body["starts_on"])
        ends_on = None if body["ends_on"] is None else _parse_date(body["ends_on"])
        if starts_on is None:
            self._fail(index, t, "format", "starts_on is not a date YYYY-MM-DD")
            ok = False
        if body["ends_on"] is not None and ends_on is None:
            self._fail(index, t, "format", "ends_on is not a date YYYY-MM-DD (or null)")
            ok = False
        if role is Role.ASSEMBLY:
            self._fail(index, t, "semantics", "the assembly is not a role a person can hold")
            return
        if scope is not None and scope is not role.scope:
            self._fail(index, t, "semantics",
                       f"role {role.value} is held in scope {role.scope.value}, not {scope.value}")
        if starts_on is not None and ends_on is not None and ends_on < starts_on:
            self._fail(index, t, "semantics", f"term ends ({ends_on}) before it starts "
                       f"({starts_on})")
            ok = False
        if not ok or starts_on is None:
            return
        # A later record for the same person, role and start date amends that term (e.g. ends
        # it), except that a term ended by role.end may not be re-opened or extended: that
        # takes a new appointment (another start date).
        if (person, role, starts_on) in self._ended:
            current = self._term_end(person, role, starts_on)
            if ends_on is None or (current is not None and ends_on > current):
                self._fail(index, t, "semantics",
                           f"a role.appoint may not re-open an ended term: the term of person "
                           f"{person} as {role.value} from {starts_on} was ended by role.end on "
                           f"{current}; ends_on {ends_on or 'null'} would extend it")
                return
        terms = [term for term in self._terms.get(person, ())
                 if not (term[0] is role and term[1] == starts_on)]
        # Two terms of one person in one role may not overlap (the service refuses it too).
        for other_role, other_start, other_end in terms:
            if other_role is role and (ends_on is None or other_start <= ends_on) and (
                    other_end is None or starts_on <= other_end):
                self._fail(index, t, "semantics",
                           f"person {person} already holds {role.value} from {other_start} to "
                           f"{other_end or 'open-ended'}: terms in one role may not overlap")
                return
        terms.append((role, starts_on, ends_on))
        self._terms[person] = terms

    def _term_end(self, person: int, role: Role, starts_on: dt.date) -> dt.date | None:
        """The end of the term (person, role, starts_on); callers know the term exists."""
        return next(end for r, start, end in self._terms.get(person, ())
                    if r is role and start == starts_on)

    def _role_end(self, index: int, record: ParsedRecord) -> None:
        """A term ended early. It must exist (an earlier role.appoint), may only be shortened
        (never past its end so far, never before it starts), not further back than the day
        before ``at`` (China time), and needs a reason. Afterwards the term ends on ``ends_on``;
        a record that would extend or empty the term, or names none, changes nothing."""
        body = record.body
        t = record.type
        day = self._at(index, record)
        ok = True
        person = body["person"]
        if person < 1:
            self._fail(index, t, "format", f"person {person} is not a positive id")
            ok = False
        role = _enum(Role, body["role"])
        if role is None:
            self._fail(index, t, "format", f"unknown role {str(body['role'])[:40]!r}")
            ok = False
        scope = _enum(Scope, body["scope"])
        if scope is None:
            self._fail(index, t, "format", f"unknown scope {str(body['scope'])[:40]!r}")
        starts_on = _parse_date(body["starts_on"])
        ends_on = _parse_date(body["ends_on"])
        if starts_on is None:
            self._fail(index, t, "format", "starts_on is not a date YYYY-MM-DD")
        if ends_on is None:
            self._fail(index, t, "format", "ends_on is not a date YYYY-MM-DD")
        if not body["reason"].strip():
            self._fail(index, t, "semantics", "role.end needs a reason (it is empty)")
        if role is Role.ASSEMBLY:
            self._fail(index, t, "semantics", "the assembly is not a role a person can hold")
            return
        if role is not None and scope is not None and scope is not role.scope:
            self._fail(index, t, "semantics",
                       f"role {role.value} is held in scope {role.scope.value}, not {scope.value}")
        if not ok or role is None or starts_on is None or ends_on is None:
            return
        effective = True
        if ends_on < starts_on:
            self._fail(index, t, "semantics",
                       f"term ends ({ends_on}) before it starts ({starts_on})")
            effective = False
        if not any(r is role and start == starts_on for r, start, _ in self._terms.get(person, ())):
            self._fail(index, t, "semantics",
                       f"no such term: no earlier role.appoint of person {person} as "
                       f"{role.value} starting {starts_on}")
            return
        current = self._term_end(person, role, starts_on)
        if current is not None and ends_on > current:
            self._fail(index, t, "semantics",
                       f"role.end may only shorten a term: it ends on {current}, not later; "
                       f"ends_on {ends_on} would extend it (that takes a new role.appoint)")
            effective = False
        if day is not None and ends_on < day - dt.timedelta(days=1):
            self._fail(index, t, "semantics",
                       f"retroactive removal: ends_on {ends_on} is before the day before the "
                       f"record ({day}, China time); earlier records were judged under the "
                       "old term")
        if effective:
            self._terms[person] = [(r, start, ends_on if r is role and start == starts_on
                                    else end) for r, start, end in self._terms[person]]
            self._ended.add((person, role, starts_on))

    def _register_import(self, index: int, record: ParsedRecord) -> None:
        """A register import: the file's hash and consistent counts (no personal data), by a
        person holding an importing role on the China date of ``at``."""
        body = record.body
        t = record.type
        day = self._at(index, record)
        if not _SHA256_HEX.fullmatch(body["file_sha256"]):
            self._fail(index, t, "format", "file_sha256 is not 64 lowercase hex digits")
        negative = [key for key in ("rows", *IMPORT_COUNTS) if body[key] < 0]
        if negative:
            self._fail(index, t, "format", f"{', '.join(negative)} must not be negative")
        else:
            total = sum(body[key] for key in IMPORT_COUNTS)
            if total != body["rows"]:
                self._fail(index, t, "semantics",
                           f"created + changed + unchanged + rejected is {total}, not rows "
                           f"({body['rows']})")
        person = body["person"]
        if person < 1:
            self._fail(index, t, "format", f"person {person} is not a positive id")
        elif day is not None:
            roles = self._roles_on(person, day)
            refusal = register_keeper_refusal(roles)  # the app's own rule
            if refusal is not None:
                self._fail(index, t, "semantics",
                           f"{refusal.rule}: person {person} holds {_names(roles)} on {day} "
                           f"(China time); an import needs one of {_names(REGISTER_KEEPERS)}")

    def _holder(self, index: int, record: ParsedRecord) -> bool:
        """Format of an account record's holder: a positive id, roles a list of known role
        values."""
        body, t = record.body, record.type
        ok = self._positive(index, t, body, "holder")
        roles = body["holder_roles"]
        if not all(isinstance(r, str) and _enum(Role, r) is not None for r in roles):
            self._fail(index, t, "format",
                       f"holder_roles {_json(roles)[:80]} is not a list of role names")
        return ok

    def _account_event(self, index: int, record: ParsedRecord) -> None:
        """A login issued, reset, disabled or enabled, by a register keeper or the township
        (or district) admin, held on the day; a supervisory committee member's or party
        secretary's login issued or reset only by the township (admin.login_issuer). Effect of
        issue and reset: the actor is who issued the login (admin.checker_login)."""
        body, t = record.body, record.type
        day = self._at(index, record)
        if not self._holder(index, record):
            return
        holder, person = body["holder"], body["person"]
        managing = t in ("account.issue", "account.reset")
        allowed = (REGISTER_KEEPERS | TOWNSHIP_ADMINS) if managing else TOWNSHIP_ADMINS
        what = "issue or reset a login" if managing else "disable or enable a login"
        if body["role"] == Role.DISTRICT_ADMIN.value:
            # District roles are in no village log: the role cannot be checked here.
            if person < 1:
                self._fail(index, t, "format", f"person {person} is not a positive id")
                return
        else:
            self._actor(index, t, body, day, allowed, what)
        role = _enum(Role, body["role"])
        if not managing or day is None or role is None or person < 1:
            return
        refusal = login_issuer_refusal(person, holder, {role}, self._roles_on(holder, day))
        if refusal is not None:
            self._fail(index, t, "semantics",
                       f"person {person} ({role.value}) {t.split('.')[1]}s the login of person "
                       f"{holder}, who holds {_names(self._roles_on(holder, day))} on {day}: "
                       f"only the township admin may {_rule_text(refusal)}")
        self._issuers[holder] = person

    def _account_password(self, index: int, record: ParsedRecord) -> None:
        """The holder changed their own password: always allowed. It does not change who
        issued the login (whoever knew the temporary password could have made the change)."""
        self._at(index, record)
        self._holder(index, record)


#: The record types checked here, and their handlers.
REGISTER_HANDLERS: dict[str, Callable[[RegisterChecks, int, ParsedRecord], None]] = {
    "role.appoint": RegisterChecks._role_appoint,
    "role.end": RegisterChecks._role_end,
    "register.import": RegisterChecks._register_import,
    "account.issue": RegisterChecks._account_event,
    "account.reset": RegisterChecks._account_event,
    "account.disable": RegisterChecks._account_event,
    "account.enable": RegisterChecks._account_event,
    "account.password": RegisterChecks._account_password,
}
