"""The PIN of a member's enrolled phone, checked for the phone (cloud voting) and for the hall
device, with wrong ones counted in the database one attempt at a time."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from sunvote.domain.cloud import PIN_ATTEMPTS, CloudRefused, check_pin_lock
from sunvote.extensions import db
from sunvote.models import Device
from sunvote.services.passwords import secret_matches
from sunvote.services.unit_of_work import KeepAndRefuse


def check_device_pin(device_id: int, pin: object, refusal: Callable[[], CloudRefused],
                     holds_key: Callable[[], bool] = lambda: True) -> Device:
    """Inside a use case: refuse unless ``pin`` is the device's PIN (and ``holds_key()``, the
    phone's signature, verifies). The attempt is counted before the PIN is looked at, on the
    device row locked for the rest of the transaction (PostgreSQL: SELECT ... FOR UPDATE;
    SQLite: the use case's BEGIN IMMEDIATE), so parallel attempts wait their turn and never get
    more than PIN_ATTEMPTS wrong tries. A wrong one ends the use case with its count committed
    and ``refusal()``, the same answer whichever of the two checks failed."""
    device = db.session.execute(select(Device).where(Device.id == device_id)
                                .with_for_update()
                                .execution_options(populate_existing=True)).scalar_one()
    check_pin_lock(device.failed_pins)
    device.failed_pins += 1
    db.session.flush()
    right_pin = isinstance(pin, str) and secret_matches(device.pin_hash, pin)
    if not (holds_key() and right_pin):
        raise KeepAndRefuse(refusal())
    device.failed_pins = 0
    return device


__all__ = ["PIN_ATTEMPTS", "check_device_pin"]
