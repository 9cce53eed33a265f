"""Township settings: read the values in force, and change one (kept as history)."""

from __future__ import annotations

import datetime as dt

from flask import current_app
from sqlalchemy import func, select

from sunvote.domain.errors import N_, NotPermitted
from sunvote.domain.roles import Role
from sunvote.domain.settings import SETTINGS, TownshipSettings, encode_setting, validate_setting
from sunvote.extensions import db
from sunvote.models import Person, RoleAssignment, Township, TownshipSetting
from sunvote.models.base import utcnow
from sunvote.services import ledger
from sunvote.services.access import local_date, term_in_force
from sunvote.services.unit_of_work import use_case


def township_settings(township_id: int) -> TownshipSettings:
    """The settings in force for a township: its newest value per key, else the built-in
    default (the law's or local practice's). Installation defaults (SUNVOTE_DEFAULT_*) were
    written into the township's rows when it was created (:func:`initial_settings`), so what a
    township's villages' logs record never changes behind them when the environment does."""
    latest = (select(TownshipSetting.key, func.max(TownshipSetting.revision).label("rev"))
              .where(TownshipSetting.township_id == township_id)
              .group_by(TownshipSetting.key).subquery())
    rows = db.session.execute(
        select(TownshipSetting.key, TownshipSetting.value).join(
            latest, (TownshipSetting.key == latest.c.key)
            & (TownshipSetting.revision == latest.c.rev))
        .where(TownshipSetting.township_id == township_id)
    ).all()
    stored = {key: value for key, value in rows}
    return TownshipSettings.from_stored(stored)


def initial_settings(township_id: int, now: dt.datetime) -> None:
    """A new township's first rows: the installation defaults (SUNVOTE_DEFAULT_*) that differ
    from the built-in ones, as revision 1 set by nobody (the installation)."""
    builtin = {s.key: s.default for s in SETTINGS}
    for key, value in current_app.config["SETTING_DEFAULTS"].items():
        if encode_setting(value) != encode_setting(builtin[key]):
            db.session.add(TownshipSetting(township_id=township_id, key=key, revision=1,
                                           value=encode_setting(value), set_at=now,
                                           set_by_id=None))
    db.session.flush()


def differing_from_defaults(township_id: int) -> dict[str, str]:
    """The township's settings in force that differ from the built-in defaults, in text form
    (what a new village's log records as its ``setting.snapshot``)."""
    current = township_settings(township_id)
    return {s.key: encode_setting(current[s.key]) for s in SETTINGS
            if encode_setting(current[s.key]) != encode_setting(s.default)}


@use_case
def change_setting(township_id: int, key: str, value: object, actor_id: int,
                   now: dt.datetime | None = None) -> object:
    """A township administrator sets ``key``; a value looser than the law is refused."""
    now = now or utcnow()
    day = local_date(now)
    is_admin = db.session.execute(
        select(RoleAssignment.id).where(
            RoleAssignment.person_id == actor_id, RoleAssignment.township_id == township_id,
            RoleAssignment.role == Role.TOWNSHIP_ADMIN.value, term_in_force(day))
    ).first()
    if is_admin is None:
        raise NotPermitted("procedure.role", N_("只有乡镇管理员可以修改乡镇设置"))
    parsed = validate_setting(key, value)
    revision = db.session.execute(
        select(func.coalesce(func.max(TownshipSetting.revision), 0)).where(
            TownshipSetting.township_id == township_id, TownshipSetting.key == key)
    ).scalar_one() + 1
    value = encode_setting(parsed)
    db.session.add(TownshipSetting(township_id=township_id, key=key, revision=revision,
                                   value=value, set_at=now, set_by_id=actor_id))
    township = db.session.get(Township, township_id)
    actor = db.session.get(Person, actor_id)
    assert township is not None and actor is not None
    for village in township.villages:
        ledger.append(village, "setting.change", {
            "township": township.code, "key": key, "value": value, "person": actor.id,
            "name": actor.name, "at": ledger.iso(now)})
    return parsed
