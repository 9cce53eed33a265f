"""Offline checks of cloud voting: enrolled devices and the device signature of every cloud
check-in and ballot (the twin of services/cloud.py; docs/cloud-voting.md)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from sunvote.domain.assembly import MEETING_RUNNERS, Channel
from sunvote.domain.ledger.device import (
    DeviceKey,
    DeviceKeyError,
    DeviceSignatureError,
    StatementError,
    parse_device_key,
    parse_signature,
    parse_statement,
)
from sunvote.domain.ledger.verifier.reading import ParsedRecord
from sunvote.domain.ledger.verifier.report import _json, _names
from sunvote.domain.ledger.verifier.state import VerifierState, _Device
from sunvote.domain.roles import ASSEMBLY_ROLES

#: The ``device`` object of a cloud record (docs/cloud-voting.md).
_DEVICE_KEYS = frozenset({"key", "statement", "sig"})

#: Statement values that the record does not carry, checked by their form: the presence code
#: of a check-in (six digits, read off the hall screen) and an enrolment's challenge.
_PRESENCE_CODE = (re.compile(r"[0-9]{6}"), "six digits")

_CHALLENGE = (re.compile(r".+"), "a non-empty string")


def _fingerprint(key_text: str) -> str:
    """A device key's short id, as DeviceKey.fingerprint (key texts in state always parse)."""
    return parse_device_key(key_text).fingerprint


class CloudChecks(VerifierState):
    """Record types of cloud voting: ``device.enrol`` and ``device.revoke`` keep each member's
    current device, whose signature every cloud check-in, ballot and participation carries."""

    def _device_enrol(self, index: int, record: ParsedRecord) -> None:
        """A runner enrols a phone for a member of the assembly: the key parses, the phone
        proved possession (an ``enrol`` statement it signed), ``replaces`` names the member's
        current device, and no key is enrolled twice. Taken as written (one wrong enrolment is
        one failure): the key becomes the member's device whenever it parses."""
        body = record.body
        t = record.type
        day = self._at(index, record)
        member, text = body["member"], body["key"]
        if not self._positive(index, t, body, "member"):
            return
        self._actor(index, t, body, day, MEETING_RUNNERS, "enrol a device")
        if day is not None and not self._roles_on(member, day) & ASSEMBLY_ROLES:
            self._fail(index, t, "semantics",
                       f"person {member} is not a member of the assembly on {day} (China "
                       f"time): holds none of {_names(ASSEMBLY_ROLES)}")
        try:
            key = parse_device_key(text)
        except DeviceKeyError as exc:
            self._fail(index, t, "format", f"key: {exc}")
            return
        self._device_signature(index, t, key, body["statement"], body["sig"],
                               "the phone's proof of possession")
        self._device_statement(index, t, body["statement"],
                               {"t": "enrol", "log": record.log, "member": member, "key": text},
                               {"challenge": _CHALLENGE})
        current = self._devices.get(member)
        if body["replaces"] != current:
            now = "none" if current is None else f"{_fingerprint(current)} ({current})"
            self._fail(index, t, "semantics",
                       f"replaces {str(body['replaces'])[:100]!r}, but member {member}'s current "
                       f"device is {now}")
        earlier = self._device_keys.get(text)
        if earlier is not None:
            self._fail(index, t, "semantics",
                       f"device {key.fingerprint} was already enrolled at record "
                       f"{earlier.enrolled} (for member {earlier.member}): a key is enrolled "
                       "once")
        if current is not None and current != text:
            self._device_keys[current].ended = f"replaced at record {index}"
        self._devices[member] = text
        self._device_keys[text] = _Device(member, index)

    def _device_revoke(self, index: int, record: ParsedRecord) -> None:
        """A runner revokes a member's current device (a lost phone), with a reason; the member
        has no device afterwards (also when the record named another key)."""
        body = record.body
        t = record.type
        day = self._at(index, record)
        member, text = body["member"], body["key"]
        if not body["reason"].strip():
            self._fail(index, t, "semantics", "a revocation needs a reason (it is empty)")
        if not self._positive(index, t, body, "member"):
            return
        self._actor(index, t, body, day, MEETING_RUNNERS, "revoke a device")
        current = self._devices.pop(member, None)
        if current != text:
            now = "none" if current is None else f"{_fingerprint(current)} ({current})"
            self._fail(index, t, "semantics",
                       f"key {str(text)[:100]!r} is not member {member}'s current device "
                       f"(current: {now})")
        for revoked in {current, text} - {None}:
            device = self._device_keys.get(str(revoked))
            if device is not None and device.member == member and device.ended is None:
                device.ended = f"revoked at record {index}"

    def _cloud_proof(self, index: int, record: ParsedRecord, signed: Mapping[str, object],
                     forms: Mapping[str, tuple[re.Pattern[str], str]] | None = None) -> None:
        """The optional ``device`` of a meeting.attend, ballot.cast or poll.participation:
        present exactly when ``channel`` is ``cloud``; by the member's current device; its
        signature verifies; its statement says ``signed`` (and the record's log), and the
        values the record does not carry have their ``forms``."""
        body = record.body
        t = record.type
        channel, device = body["channel"], body.get("device")
        if channel != Channel.CLOUD.value:
            if device is not None:
                self._fail(index, t, "format",
                           f"a {str(channel)[:20]} record carries no device (only a cloud one "
                           "does)")
            return
        if device is None:
            self._fail(index, t, "signature",
                       "a cloud record needs the member's device signature (no device)")
            return
        if set(device) != _DEVICE_KEYS or not all(isinstance(v, str) for v in device.values()):
            self._fail(index, t, "format",
                       "device must have exactly key, statement and sig, all strings")
            return
        try:
            key = parse_device_key(device["key"])
        except DeviceKeyError as exc:
            self._fail(index, t, "format", f"device.key: {exc}")
            return
        member = body["member"]
        current = self._devices.get(member)
        if current != key.text:
            known = self._device_keys.get(key.text)
            if known is None:
                why = "it was never enrolled in this log"
            elif known.member != member:
                why = f"it is member {known.member}'s device"
            else:
                why = f"it was {known.ended}" if known.ended else "it is not the current one"
            # like a record signed by a revoked log key: a signature, but not by a key that
            # may sign this record
            self._fail(index, t, "signature",
                       f"device {key.fingerprint} is not member {member}'s enrolled device: "
                       f"{why} (current: "
                       f"{'none' if current is None else _fingerprint(current)})")
        self._device_signature(index, t, key, device["statement"], device["sig"],
                               "the device signature")
        self._device_statement(index, t, device["statement"], {**signed, "log": record.log},
                               forms or {})

    def _device_signature(self, index: int, t: str, key: DeviceKey, statement: str, sig: str,
                          what: str) -> None:
        """Signature: ``sig`` is ``key``'s signature over the statement's UTF-8 bytes."""
        try:
            key.verify(statement.encode("utf-8"), parse_signature(sig))
        except DeviceSignatureError as exc:
            self._fail(index, t, "signature",
                       f"{what} by device {key.fingerprint} is invalid: {exc}")
        except UnicodeEncodeError:
            self._fail(index, t, "signature", f"{what}: the statement is not UTF-8 text")

    def _device_statement(self, index: int, t: str, text: str, signed: Mapping[str, object],
                          forms: Mapping[str, tuple[re.Pattern[str], str]]) -> None:
        """Semantics: ``text`` is a strict statement (canonical, flat, version 1, its type's
        keys) that says exactly ``signed``, and whose other values have their ``forms`` (a
        pattern and its description)."""
        try:
            statement = parse_statement(text)
        except StatementError as exc:
            self._fail(index, t, "semantics", f"the device statement is not valid: {exc}")
            return
        wrong = [f"{key} {_json(statement.get(key))} ≠ {_json(value)}"
                 for key, value in signed.items() if statement.get(key) != value]
        if wrong:
            self._fail(index, t, "semantics",
                       "the device statement does not say what the record says (statement ≠ "
                       "record): " + "; ".join(wrong))
            return
        for key, (form, what) in forms.items():
            value = statement.get(key)
            if not isinstance(value, str) or not form.fullmatch(value):
                self._fail(index, t, "semantics",
                           f"the device statement's {key} {_json(value)} is not {what}")


#: The record types checked here, and their handlers.
CLOUD_HANDLERS: dict[str, Callable[[CloudChecks, int, ParsedRecord], None]] = {
    "device.enrol": CloudChecks._device_enrol,
    "device.revoke": CloudChecks._device_revoke,
}
