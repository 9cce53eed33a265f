"""Townships and villages: each village gets its log key and its first ledger record at creation."""

from __future__ import annotations

import datetime as dt

from flask import current_app
from sqlalchemy import or_, select

from sunvote.domain.errors import N_, Conflict, InvalidField
from sunvote.domain.ledger.origin import log_origin
from sunvote.domain.roles import Role, Scope
from sunvote.domain.text import clean_text
from sunvote.extensions import db
from sunvote.models import LedgerKey, Person, RoleAssignment, Township, Village, WitnessKey
from sunvote.models.base import utcnow
from sunvote.services import keys, ledger, settings
from sunvote.services.access import local_date
from sunvote.services.unit_of_work import use_case
from sunvote.services.witness import register_log

CODE_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-")


def _code(value: str) -> str:
    if not value or len(value) > 40 or not set(value) <= CODE_CHARS or value.startswith("-"):
        raise InvalidField("input.invalid",
                           N_("代码只能由小写字母、数字和连字符组成，最长40个字符"))
    return value


@use_case
def create_township(code: str, name: str) -> Township:
    """A township, with its witness key (it cosigns its villages' checkpoints)."""
    code = _code(code)
    title = clean_text(name, N_("名称"), max_length=100)
    if db.session.execute(select(Township.id).where(Township.code == code)).first():
        raise Conflict("input.invalid", N_("代码“%(code)s”已被使用"), code=code)
    township = Township(code=code, name=title)
    db.session.add(township)
    db.session.flush()
    cosigner, salt, sealed = keys.new_cosigner(witness_name(township))
    db.session.add(WitnessKey(township_id=township.id, vkey=cosigner.verifier().vkey,
                              encrypted_seed=sealed, salt=salt))
    db.session.flush()
    settings.initial_settings(township.id, utcnow())
    return township


def witness_name(township: Township) -> str:
    """The township witness's key name."""
    return f"sunvote.{township.code}/witness"


@use_case
def create_village(township_id: int, code: str, name: str,
                   now: dt.datetime | None = None) -> Village:
    """A village: its row, its log key, and its log's first records (``log.init``, then the
    township roles in force, so the log alone tells who may review its matters)."""
    now = now or utcnow()
    code = _code(code)
    title = clean_text(name, N_("名称"), max_length=100)
    township = db.session.get(Township, township_id)
    if township is None:
        raise InvalidField("input.invalid", N_("没有这个乡镇"))
    if db.session.execute(select(Village.id).where(Village.code == code)).first():
        raise Conflict("input.invalid", N_("代码“%(code)s”已被使用"), code=code)
    village = Village(township_id=township.id, code=code, name=title,
                      ledger_origin=log_origin(str(current_app.config["LOG_ORIGIN_PREFIX"]),
                                               township.code, code))
    village.township = township
    db.session.add(village)
    db.session.flush()
    signer, salt, sealed = keys.new_log_signer(village.origin)
    vkey = signer.vkey
    db.session.add(LedgerKey(village_id=village.id, vkey=vkey, encrypted_seed=sealed, salt=salt,
                             created_at=now))
    db.session.flush()
    # This instance's township witness follows the new log (a separate township server
    # registers it with `sunvote witness add-log`).
    register_log(township.id, village.origin, vkey)
    ledger.append(village, "log.init", {
        "village": village.code, "village_name": village.name, "township": township.code,
        "township_name": township.name, "key": vkey, "at": ledger.iso(now)}, signer=signer)
    # The township's rules in force (where they differ from the built-in defaults), so the log
    # alone tells the verifier which quorum, notice and pass rules apply.
    snapshot = settings.differing_from_defaults(township.id)
    if snapshot:
        ledger.append(village, "setting.snapshot", {
            "township": township.code, "values": snapshot, "at": ledger.iso(now)})
    day = local_date(now)
    for assignment, person in db.session.execute(
            select(RoleAssignment, Person).join(Person, Person.id == RoleAssignment.person_id)
            .where(RoleAssignment.township_id == township.id,
                   or_(RoleAssignment.ends_on.is_(None), RoleAssignment.ends_on >= day))
            .order_by(RoleAssignment.id)).all():
        ledger.append(village, "role.appoint", appointment_body(assignment, person, now))
    return village


def appointment_body(assignment: RoleAssignment, person: Person,
                     now: dt.datetime) -> dict[str, object]:
    """The ledger body of a role appointment."""
    return {"person": person.id, "name": person.name, "role": assignment.role,
            "scope": Role(assignment.role).scope.value,
            "starts_on": assignment.starts_on.isoformat(),
            "ends_on": assignment.ends_on.isoformat() if assignment.ends_on else None,
            "at": ledger.iso(now)}


def villages_reached(assignment: RoleAssignment) -> list[Village]:
    """The village logs a role appointment belongs in: its village, or every village of its
    township. District roles act on no village's procedure and are not recorded in one."""
    role = Role(assignment.role)
    if role.scope is Scope.VILLAGE and assignment.village_id is not None:
        village = db.session.get(Village, assignment.village_id)
        return [village] if village is not None else []
    if role.scope is Scope.TOWNSHIP:
        return list(db.session.execute(select(Village).where(
            Village.township_id == assignment.township_id).order_by(Village.id)).scalars())
    return []


@use_case
def rotate_log_key(village_id: int, reason: str, now: dt.datetime | None = None) -> LedgerKey:
    """Replace the village's log key: a ``key.rotate`` record signed by the old key and the new
    one; from then on records and checkpoints carry the new key. The witness is told here
    (same instance) or with `sunvote witness add-log` on a separate township server."""
    now = now or utcnow()
    village = db.session.get(Village, village_id)
    if village is None:
        raise InvalidField("input.invalid", N_("没有这个村"))
    text = clean_text(reason, N_("理由"), max_length=500)
    old = ledger.active_key(village.id)
    old_signer = ledger.signer_of(old)
    new_signer, salt, sealed = keys.new_log_signer(village.origin)
    ledger.append(village, "key.rotate", {"old": old.vkey, "new": new_signer.vkey,
                                          "reason": text, "at": ledger.iso(now)},
                  signer=old_signer, extra_signers=[new_signer], checkpoint_signer=new_signer)
    old.retired_at = now
    key = LedgerKey(village_id=village.id, vkey=new_signer.vkey, encrypted_seed=sealed,
                    salt=salt, created_at=now)
    db.session.add(key)
    db.session.flush()
    ledger.forget_tail(village.id)
    register_log(village.township_id, village.origin, new_signer.vkey)
    return key


@use_case
def revoke_log_key(village_id: int, vkey: str, reason: str,
                   now: dt.datetime | None = None) -> LedgerKey:
    """Revoke a former log key (e.g. a stolen laptop held it): a ``key.revoke`` record; no later
    record may carry its signature. The active key cannot be revoked: rotate it first."""
    now = now or utcnow()
    key = db.session.execute(select(LedgerKey).where(
        LedgerKey.village_id == village_id, LedgerKey.vkey == vkey)).scalar_one_or_none()
    if key is None:
        raise InvalidField("input.invalid", N_("该村没有这个账本公钥"))
    if key.retired_at is None:
        raise Conflict("input.invalid", N_("正在使用的账本密钥不能直接吊销，请先更换密钥"))
    if key.revoked_at is not None:
        raise Conflict("input.invalid", N_("该密钥已被吊销"))
    text = clean_text(reason, N_("理由"), max_length=500)
    village = db.session.get(Village, village_id)
    assert village is not None
    ledger.append(village, "key.revoke", {"key": vkey, "reason": text, "at": ledger.iso(now)})
    key.revoked_at = now
    return key
