"""Builds synthetic, fully valid village logs and their export directories with the pure core."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from sunvote.domain.assembly import Choice, Tally, count
from sunvote.domain.errors import DomainError
from sunvote.domain.ledger.checkpoint import Checkpoint, Cosigner, add_cosignature, sign_checkpoint
from sunvote.domain.ledger.device import DeviceKey, expected_statement, parse_device_key
from sunvote.domain.ledger.export import write_export
from sunvote.domain.ledger.merkle import append_nodes, leaf_hash, root_from_border
from sunvote.domain.ledger.note import NoteSignature, NoteSigner, Signer, parse_note_unverified
from sunvote.domain.ledger.records import b64, check_body, make_record
from sunvote.domain.notices import meeting_notice_text, recipients_digest, text_digest
from sunvote.domain.procedure import (
    TRANSITIONS_BY_ACTION,
    Action,
    MatterState,
    ProcedureSettings,
    Step,
    transition,
)
from sunvote.domain.roles import ASSEMBLY_ROLES, Role
from sunvote.domain.settings import PassRule

TOWNSHIP = "demo-town"
VILLAGE = "sunshine"
ORIGIN = f"sunvote.{TOWNSHIP}/{VILLAGE}"
WITNESS_NAME = f"sunvote.{TOWNSHIP}/witness"
START = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)  # 09:00 in China
COSIGN_TIME = int(dt.datetime(2026, 6, 1, tzinfo=dt.UTC).timestamp())

#: Valid fields for each action (what the procedure engine accepts and keeps as they are).
FIELDS: dict[str, dict[str, Any]] = {
    "suggest": {"title": "硬化村口道路", "text": "村口道路坑洼，雨天难行，建议硬化。"},
    "propose": {"category": 2, "title": "硬化村口道路", "summary": "硬化村口道路 300 米",
                "amount_fen": 12_000_000},
    "discuss": {"meeting_date": "2026-03-05", "expected": 9, "present": 8,
                "minutes": "联席会议同意方案。", "plan": "硬化村口道路 300 米，公开招标。"},
    "file": {"filing_no": "备2026-001"},
    "propose_and_discuss": {"category": 6, "title": "村集体厂房出租", "summary": "出租厂房",
                            "amount_fen": 500_000, "meeting_date": "2026-03-06", "expected": 9,
                            "present": 9, "minutes": "一致同意。"},
    "flag_breach": {"breach_step": "discuss", "reason": "会议未提前公告。"},
    "drop": {"meeting_date": "2026-03-05", "expected": 9, "present": 8, "minutes": "不予推进。",
             "reason": "资金不足。"},
    "return": {"reason": "方案不完整。"},
    "withdraw": {"reason": "撤回。"},
}


@dataclass(frozen=True)
class CachedSigner:
    """A note signer that derives its Ed25519 key once (signing 50,000 records stays fast)."""

    name: str
    key_id: int
    key: Ed25519PrivateKey = field(repr=False)

    @classmethod
    def of(cls, signer: Signer) -> CachedSigner:
        return cls(signer.name, signer.key_id, Ed25519PrivateKey.from_private_bytes(signer.seed))

    def sign(self, message: bytes) -> bytes:
        return self.key.sign(message)


#: The order of the P-256 group (a private key is a number in [1, n − 1]).
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


@dataclass(frozen=True)
class DeviceSigner:
    """A phone's key pair as WebCrypto would hold it (made by ``cryptography``): signs
    statements with a 64-byte signature (Ed25519, or ECDSA P-256 with SHA-256 as r ‖ s)."""

    alg: str
    private: Ed25519PrivateKey | ec.EllipticCurvePrivateKey = field(repr=False)
    key: DeviceKey

    @classmethod
    def generate(cls, alg: str = "ed25519", *, seed: int | str = 0) -> DeviceSigner:
        """A deterministic device key (derived from ``alg`` and ``seed``)."""
        digest = hashlib.sha256(f"device/{alg}/{seed}".encode()).digest()
        private: Ed25519PrivateKey | ec.EllipticCurvePrivateKey
        if alg == "ed25519":
            private = Ed25519PrivateKey.from_private_bytes(digest)
            raw = private.public_key().public_bytes(serialization.Encoding.Raw,
                                                    serialization.PublicFormat.Raw)
        else:
            private = ec.derive_private_key(int.from_bytes(digest, "big") % (P256_ORDER - 1) + 1,
                                            ec.SECP256R1())
            raw = private.public_key().public_bytes(serialization.Encoding.X962,
                                                    serialization.PublicFormat.UncompressedPoint)
        key = parse_device_key(f"{alg}:{base64.b64encode(raw).decode()}")
        return cls(alg, private, key)

    @property
    def key_text(self) -> str:
        return self.key.text

    def sign(self, statement: str) -> str:
        """The base64 signature of the statement's UTF-8 bytes, as the phone sends it."""
        message = statement.encode("utf-8")
        if isinstance(self.private, Ed25519PrivateKey):
            return base64.b64encode(self.private.sign(message)).decode()
        r, s = decode_dss_signature(self.private.sign(message, ec.ECDSA(hashes.SHA256())))
        return base64.b64encode(r.to_bytes(32, "big") + s.to_bytes(32, "big")).decode()


def seeded_signer(name: str, label: str) -> Signer:
    """A deterministic log signer (the seed is derived from ``label``)."""
    return Signer(name, hashlib.sha256(label.encode()).digest())


def seeded_cosigner(name: str = WITNESS_NAME, label: str = "witness") -> Cosigner:
    """A deterministic witness key."""
    return Cosigner(name, hashlib.sha256(label.encode()).digest())


def _fast_record(log: str, seq: int, prev: bytes, type_: str, body: Mapping[str, Any],
                 signers: Sequence[NoteSigner]) -> bytes:
    check_body(type_, body)
    envelope = {"body": body, "log": log, "prev": b64(prev), "seq": seq, "type": type_, "v": 1}
    text = json.dumps(envelope, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    message = (text + "\n").encode("utf-8")
    lines = "".join(NoteSignature(s.name, s.key_id, s.sign(message)).line() for s in signers)
    return message + b"\n" + lines.encode("utf-8")


def _json_safe(value: object) -> object:
    return value.isoformat() if isinstance(value, dt.date) else value


def utc(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class BuiltPoll:
    """What the builder remembers of a poll (to fill in close, ballot.secret and tally)."""

    number: int
    matter: str
    mode: str
    present: int
    members: int
    rule: str
    recusal_counts_present: bool
    ballots: list[tuple[str, str]] = field(default_factory=list)  # (choice, channel)
    records: int = 0  # ballot.cast or poll.participation records
    recused: int = 0
    closer: int = 1


@dataclass
class BuiltMeeting:
    """What the builder remembers of a meeting."""

    number: int
    agenda: list[str]
    starts_at: dt.datetime
    title: str = ""
    place: str = ""
    members: list[dict[str, Any]] = field(default_factory=list)
    present: dict[int, str] = field(default_factory=dict)
    polls: dict[int, BuiltPoll] = field(default_factory=dict)


class LogBuilder:
    """Appends signed records to an in-memory log exactly as the server would."""

    def __init__(self, township: str = TOWNSHIP, village: str = VILLAGE, *,
                 key_label: str = "log-1", start: dt.datetime = START,
                 tick: dt.timedelta = dt.timedelta(minutes=1), fast: bool = False) -> None:
        """``fast`` writes the record text with the standard library's JSON encoder (which
        gives RFC 8785 output for these bodies; the verifier's strict check confirms it),
        for generating big logs quickly."""
        self.fast = fast
        self.township = township
        self.village = village
        self.origin = f"sunvote.{township}/{village}"
        self.signer = seeded_signer(self.origin, key_label)
        self.log_vkeys = [self.signer.verifier().vkey]
        self.records: list[bytes] = []
        self._border: list[bytes] = []
        self.clock = start
        self.tick = tick
        self.roles: dict[int, set[Role]] = {}
        self.names: dict[int, str] = {}
        self.matters: dict[str, tuple[MatterState, int]] = {}
        self.settings = ProcedureSettings()
        self.township_settings: dict[str, str] = {}
        self.categories: dict[str, int] = {}
        self.meetings: dict[int, BuiltMeeting] = {}
        self.ballot_count = 0
        # cloud voting: each member's current phone, and how many devices were made (seeds)
        self.devices: dict[int, DeviceSigner] = {}
        self.device_count = 0
        self.auto_enrol = True
        # step 6: each matter's amount (fen), notice end, objections and updates so far
        self.amounts: dict[str, int] = {}
        self.notice_ends: dict[str, dt.datetime | None] = {}
        self.objections: dict[str, int] = {}
        self.updates: dict[str, int] = {}

    # ------------------------------------------------------------------ plumbing

    @property
    def signer(self) -> Signer:
        """The log key in force."""
        return self._signer

    @signer.setter
    def signer(self, signer: Signer) -> None:
        self._signer = signer
        self._cached = CachedSigner.of(signer)

    @property
    def size(self) -> int:
        return len(self.records)

    @property
    def root(self) -> bytes:
        return root_from_border(self._border)

    def at(self) -> str:
        """The next record's time (advances the clock)."""
        moment = self.clock
        self.clock += self.tick
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    def append(self, type_: str, body: Mapping[str, Any], *,
               signers: Sequence[NoteSigner] | None = None, seq: int | None = None,
               prev: bytes | None = None, log: str | None = None) -> bytes:
        """Sign and append one record (overrides make deliberately wrong envelopes)."""
        args = (log or self.origin, self.size if seq is None else seq,
                self.root if prev is None else prev, type_, body)
        chosen = list(signers) if signers is not None else [self._cached]
        raw = _fast_record(*args, chosen) if self.fast else make_record(*args, chosen)
        self.add_raw(raw)
        return raw

    def add_raw(self, raw: bytes) -> None:
        """Append exact record bytes (e.g. one taken from another log)."""
        _, self._border = append_nodes(self.size, self._border, leaf_hash(raw))
        self.records.append(raw)

    # ------------------------------------------------------------------ record types

    def init(self, **override: Any) -> bytes:
        body = {"village": self.village, "village_name": "阳光村", "township": self.township,
                "township_name": "示范镇", "key": self.signer.verifier().vkey, "at": self.at()}
        return self.append("log.init", {**body, **override})

    def appoint(self, person: int, name: str, role: str, *, scope: str | None = None,
                starts_on: str = "2026-01-01", ends_on: str | None = None,
                **override: Any) -> bytes:
        r = Role(role)
        self.roles.setdefault(person, set()).add(r)
        self.names[person] = name
        body = {"person": person, "name": name, "role": role,
                "scope": scope or r.scope.value, "starts_on": starts_on, "ends_on": ends_on,
                "at": self.at()}
        return self.append("role.appoint", {**body, **override})

    def end_role(self, person: int, role: str, ends_on: str, *, starts_on: str = "2026-01-01",
                 reason: str = "本人辞职", scope: str | None = None,
                 **override: Any) -> bytes:
        """A role.end. The builder keeps the role in ``self.roles`` (it does not track dates),
        so later steps by the person still pass the engine and only the verifier judges them."""
        body = {"person": person, "name": self.names.get(person, "某人"), "role": role,
                "scope": scope or Role(role).scope.value, "starts_on": starts_on,
                "ends_on": ends_on, "reason": reason, "at": self.at()}
        return self.append("role.end", {**body, **override})

    def register_import(self, person: int = 1, *, rows: int = 10, created: int = 6,
                        changed: int = 2, unchanged: int = 1, rejected: int = 1,
                        **override: Any) -> bytes:
        """A register.import by ``person`` of a file with the given counts."""
        body = {"file_sha256": hashlib.sha256(b"villagers.xlsx").hexdigest(),
                "filename": "villagers.xlsx", "rows": rows, "created": created,
                "changed": changed, "unchanged": unchanged, "rejected": rejected,
                "person": person, "name": self.names.get(person, "某人"), "at": self.at()}
        return self.append("register.import", {**body, **override})

    def suggestion(self, sid: int, *, text: str = "建议修路", channel: str = "paper",
                   recorded_by: int | None = 1, signers: Sequence[NoteSigner] | None = None,
                   **override: Any) -> bytes:
        body = {"id": sid, "channel": channel, "text": text, "name": None,
                "party_member": False, "recorded_by": recorded_by, "at": self.at()}
        return self.append("suggestion.add", {**body, **override}, signers=signers)

    def setting(self, key: str, value: str, person: int = 6, **override: Any) -> bytes:
        if key == "merge_propose_discuss":
            self.settings = ProcedureSettings(merge_propose_discuss=value == "true")
        self.township_settings[key] = value
        body = {"township": self.township, "key": key, "value": value, "person": person,
                "name": self.names.get(person, "某人"), "at": self.at()}
        return self.append("setting.change", {**body, **override})

    def snapshot(self, values: Mapping[str, Any], **override: Any) -> bytes:
        """A setting.snapshot (the township settings in force when the log began, as the
        system writes it right after log.init); the builder then uses ``values`` as settings
        (those that are strings), like setting.change. ``override`` replaces body keys."""
        for key, value in values.items():
            if not isinstance(value, str):
                continue
            if key == "merge_propose_discuss":
                self.settings = ProcedureSettings(merge_propose_discuss=value == "true")
            self.township_settings[key] = value
        body = {"township": self.township, "values": dict(values), "at": self.at()}
        return self.append("setting.snapshot", {**body, **override})

    def step(self, matter: str, action: str, person: int,
             fields: Mapping[str, Any] | None = None, *, suggestions: Iterable[int] = (),
             origin: str | None = None, check: bool = True,
             signers: Sequence[NoteSigner] | None = None, **override: Any) -> bytes:
        """A matter.step; the engine computes step, to and role unless ``check`` is False
        (then the transition's static values are used: for deliberately illegal steps).
        ``override`` replaces body keys (``from_`` stands for ``from``)."""
        fields = dict(FIELDS[action] if fields is None else fields)
        state, done = self.matters.get(matter, (MatterState.NEW, 0))
        act = Action(action)
        t = TRANSITIONS_BY_ACTION[act]
        try:
            decision = transition(state, act, frozenset(self.roles.get(person, ())), fields,
                                  self.settings)
            body_fields = {k: _json_safe(v) for k, v in decision.fields.items()}
            to, step, role = decision.to_state, decision.step, decision.role
        except DomainError:
            if check:
                raise
            body_fields = fields
            to = t.to_state or state
            step = t.step or Step.SUGGEST
            role = min(t.roles)
        body: dict[str, Any] = {
            "matter": matter, "step_seq": done + 1, "step": step.value, "action": action,
            "from": state.value, "to": to.value, "person": person,
            "name": self.names.get(person, "某人"), "role": role.value, "fields": body_fields,
            "attachments": [], "suggestions": list(suggestions), "origin": origin,
            "at": self.at()}
        for key, value in override.items():
            body["from" if key == "from_" else key] = value
        self.matters[matter] = (MatterState(body["to"]), body["step_seq"])
        if action in ("propose", "propose_and_discuss", "repropose"):
            self.categories[matter] = int(body["fields"]["category"])
        if action in ("propose", "propose_and_discuss", "repropose", "discuss") and isinstance(
                body["fields"].get("amount_fen"), int):
            self.amounts[matter] = body["fields"]["amount_fen"]
        return self.append("matter.step", body, signers=signers)

    # ------------------------------------------------------------------ the assembly
    #
    # Each helper writes a valid record by default (its numbers filled in from what the builder
    # remembers); ``override`` replaces body keys to make deliberately wrong ones.

    def _actor(self, person: int, role: str) -> dict[str, Any]:
        return {"person": person, "name": self.names.get(person, "某人"), "role": role,
                "at": self.at()}

    def _self_or(self, member: int, person: int | None, role: str | None) -> dict[str, Any]:
        """A member acting themself (role member) unless ``person`` is given."""
        if person is None:
            return self._actor(member, role or "member")
        return self._actor(person, role or "clerk")

    def assembly_members(self) -> list[dict[str, Any]]:
        """The roster a meeting opened now freezes (the builder does not track term dates)."""
        return [{"person": p, "name": self.names.get(p, "某人"),
                 "roles": sorted(r.value for r in roles & ASSEMBLY_ROLES)}
                for p, roles in sorted(self.roles.items()) if roles & ASSEMBLY_ROLES]

    def rule_for(self, matter: str) -> str:
        category = self.categories.get(matter)
        override = self.township_settings.get(f"pass_rule.category_{category}")
        return override or self.township_settings.get("pass_rule", "majority_of_present")

    def convene(self, agenda: Sequence[str], *, person: int = 1, role: str = "clerk",
                days_ahead: int | None = None, notice: bool = True,
                **override: Any) -> bytes:
        """meeting.convene, starting ``days_ahead`` days (default: the notice period) after
        today (China time), at 09:00 China time; then (unless ``notice`` is false) its
        meeting.notice, as the service writes them in one transaction."""
        convened = self._convene(agenda, person=person, role=role, days_ahead=days_ahead,
                                 **override)
        if notice:
            self.meeting_notice(max(self.meetings))
        return convened

    def meeting_notice(self, meeting: int = 1, **override: Any) -> bytes:
        """meeting.notice of ``meeting`` now, to the assembly's members today."""
        m = self.meetings[meeting]
        members = [row["person"] for row in self.assembly_members()]
        text = meeting_notice_text("阳光村", meeting, m.title, m.place, m.starts_at,
                                   [str(a) for a in m.agenda])
        body = {"meeting": meeting, "village": "阳光村", "recipients": len(members),
                "recipients_sha256": recipients_digest(members),
                "text_sha256": text_digest(text), "at": utc(self.clock)}
        body.update(override)
        return self.append("meeting.notice", body)

    def notice_added(self, joined: Sequence[int], meeting: int = 1, **override: Any) -> bytes:
        """meeting.notice_added of ``meeting`` now, to ``joined`` (who joined the assembly
        after its notice)."""
        m = self.meetings[meeting]
        text = meeting_notice_text("阳光村", meeting, m.title, m.place, m.starts_at,
                                   [str(a) for a in m.agenda])
        body = {"meeting": meeting, "village": "阳光村", "members": sorted(joined),
                "text_sha256": text_digest(text), "at": utc(self.clock)}
        body.update(override)
        return self.append("meeting.notice_added", body)

    def _convene(self, agenda: Sequence[str], *, person: int, role: str,
                 days_ahead: int | None, **override: Any) -> bytes:
        notice = int(self.township_settings.get("meeting_notice_days", "3"))
        number = max(self.meetings, default=0) + 1
        today = (self.clock + dt.timedelta(hours=8)).date()
        day = today + dt.timedelta(days=notice if days_ahead is None else days_ahead)
        starts = dt.datetime(day.year, day.month, day.day, 1, 0, tzinfo=dt.UTC)
        body = {"meeting": number, "title": "第一季度村民代表会议", "place": "村委会会议室",
                "starts_at": utc(starts), "agenda": list(agenda), "notice_days": notice,
                **self._actor(person, role)}
        body.update(override)
        built = self.meetings.setdefault(body["meeting"], BuiltMeeting(
            body["meeting"], list(agenda), starts))
        built.title, built.place = str(body["title"]), str(body["place"])
        return self.append("meeting.convene", body)

    def open_meeting(self, meeting: int = 1, *, person: int = 1, role: str = "clerk",
                     **override: Any) -> bytes:
        """meeting.open on the meeting's day (the clock jumps there if it is earlier)."""
        m = self.meetings[meeting]
        self.clock = max(self.clock, m.starts_at)
        m.members = self.assembly_members()
        body = {"meeting": meeting, "members": m.members, **self._actor(person, role)}
        body.update(override)
        m.members = body["members"]
        return self.append("meeting.open", body)

    def attend(self, member: int, channel: str = "hall", *, meeting: int = 1,
               person: int | None = None, role: str | None = None, code: str = "042917",
               signer: DeviceSigner | None = None, signed: Mapping[str, Any] | None = None,
               proof: bool = True, how: str | None = None, **override: Any) -> bytes:
        """meeting.attend; a cloud one carries the member's device signature of an ``attend``
        statement (see :meth:`device_proof` for ``signer``, ``signed`` and ``proof``); ``how``
        is the body's ``proof`` (how presence was shown; none in a legacy log)."""
        m = self.meetings[meeting]
        m.present[member] = channel
        device = channel == "cloud" and proof and "device" not in override
        if device and signer is None:
            self._current_device(member)  # an automatic enrolment comes before the check-in
        body = {"meeting": meeting, "member": member,
                "member_name": self.names.get(member, "某人"), "channel": channel,
                **self._self_or(member, person, role)}
        if how is not None:
            body["proof"] = how
        body.update(override)
        if device:
            body["device"] = self.device_proof(member, "attend", signer, signed,
                                               meeting=body["meeting"], member=body["member"],
                                               code=code)
        return self.append("meeting.attend", body)

    def leave(self, member: int, *, meeting: int = 1, person: int | None = None,
              role: str | None = None, **override: Any) -> bytes:
        """meeting.leave: the member leaves (by their own word unless ``person`` is given)."""
        self.meetings[meeting].present.pop(member, None)
        body = {"meeting": meeting, "member": member,
                "member_name": self.names.get(member, "某人"),
                **self._self_or(member, person, role), **override}
        return self.append("meeting.leave", body)

    def open_poll(self, matter: str, mode: str = "named", *, meeting: int = 1,
                  person: int = 1, role: str = "clerk", **override: Any) -> bytes:
        m = self.meetings[meeting]
        body = {"meeting": meeting, "poll": len(m.polls) + 1, "matter": matter, "mode": mode,
                "present": len(m.present), "members": len(m.members),
                "quorum": self.township_settings.get("quorum", "2/3"),
                "rule": self.rule_for(matter),
                "recusal_counts_present":
                    self.township_settings.get("recusal_counts_present", "true") == "true",
                **self._actor(person, role)}
        body.update(override)
        m.polls[body["poll"]] = BuiltPoll(body["poll"], matter, mode, body["present"],
                                          body["members"], body["rule"],
                                          body["recusal_counts_present"])
        return self.append("poll.open", body)

    def _poll(self, meeting: int, poll: int | None) -> BuiltPoll:
        m = self.meetings[meeting]
        return m.polls[max(m.polls) if poll is None else poll]

    def recuse(self, member: int, *, meeting: int = 1, poll: int | None = None,
               reason: str = "本人近亲属承包该地块", person: int | None = None,
               role: str | None = None, **override: Any) -> bytes:
        p = self._poll(meeting, poll)
        p.recused += 1
        body = {"meeting": meeting, "poll": p.number, "member": member,
                "member_name": self.names.get(member, "某人"), "reason": reason,
                **self._self_or(member, person, role)}
        return self.append("poll.recuse", {**body, **override})

    def ballot_id(self) -> str:
        self.ballot_count += 1
        return base64.urlsafe_b64encode(hashlib.sha256(
            f"{self.origin}/{self.ballot_count}".encode()).digest()[:16]).decode().rstrip("=")

    def cast(self, member: int, choice: str = "yes", channel: str = "hall", *,
             meeting: int = 1, poll: int | None = None, person: int | None = None,
             role: str | None = None, signer: DeviceSigner | None = None,
             signed: Mapping[str, Any] | None = None, proof: bool = True,
             how: str | None = None, **override: Any) -> bytes:
        """A ballot: ballot.cast in a named poll, poll.participation in a secret one (its
        ballot.secret follows at close). A paper ballot is entered by the clerk (person 1). A
        cloud one carries the member's device signature of a ``ballot`` (``participation``)
        statement of the record as written (see :meth:`device_proof`)."""
        p = self._poll(meeting, poll)
        if channel == "paper" and person is None:
            person = 1
        device = channel == "cloud" and proof and "device" not in override
        if device and signer is None:
            self._current_device(member)  # an automatic enrolment comes before the ballot
        actor = self._self_or(member, person, role)
        body: dict[str, Any] = {"meeting": meeting, "poll": p.number, "member": member,
                                "member_name": self.names.get(member, "某人"),
                                "channel": channel}
        if how is not None:
            body["proof"] = how
        p.records += 1
        if p.mode == "named":
            body.update(choice=choice, ballot=self.ballot_id())
            body.update(actor)
            body.update(override)
            p.ballots.append((body["choice"], body["channel"]))
            if device:
                body["device"] = self.device_proof(
                    member, "ballot", signer, signed, meeting=body["meeting"],
                    poll=body["poll"], member=body["member"], choice=body["choice"],
                    ballot=body["ballot"])
            return self.append("ballot.cast", body)
        p.ballots.append((choice, channel))
        body = {**body, **actor, **override}
        if device:
            body["device"] = self.device_proof(member, "participation", signer, signed,
                                               meeting=body["meeting"], poll=body["poll"],
                                               member=body["member"])
        return self.append("poll.participation", body)

    # ------------------------------------------------------------------ cloud voting

    def new_device(self, alg: str = "ed25519") -> DeviceSigner:
        """A fresh phone key pair (deterministic: the builder counts the devices it made)."""
        self.device_count += 1
        return DeviceSigner.generate(alg, seed=f"{self.origin}/{self.device_count}")

    def _current_device(self, member: int) -> DeviceSigner:
        """The member's phone; enrolled now (by the clerk) if the member has none and
        ``auto_enrol`` is on, so that a cloud record is valid by default."""
        if member not in self.devices:
            if not self.auto_enrol:
                raise KeyError(f"member {member} has no enrolled device")
            self.enrol_device(member)
        return self.devices[member]

    def device_proof(self, owner: int, t: str, signer: DeviceSigner | None = None,
                     signed: Mapping[str, Any] | None = None, **fields: Any) -> dict[str, str]:
        """The ``device`` of a cloud record: ``signer`` (default: ``owner``'s current phone)
        signs the ``t`` statement of ``fields`` for this log; ``signed`` replaces statement
        keys (``log`` included) to make a phone's signature of something else."""
        signer = signer or self._current_device(owner)
        values = {"log": self.origin, **fields, **(signed or {})}
        log = values.pop("log")
        statement = expected_statement(t, log, **values)
        return {"key": signer.key_text, "statement": statement, "sig": signer.sign(statement)}

    def enrol_device(self, member: int, alg: str = "ed25519", *,
                     signer: DeviceSigner | None = None, person: int = 1, role: str = "clerk",
                     challenge: str = "q7Rk2x9MZt4bWc8VnL0pYs5HdJ3aFg6E",
                     signed: Mapping[str, Any] | None = None,
                     **override: Any) -> DeviceSigner:
        """device.enrol of a new phone (or ``signer``) for ``member`` by a runner, with the
        phone's signed ``enrol`` statement (``signed`` replaces its keys); ``replaces`` is the
        member's current device. The phone becomes the member's device; returns it."""
        signer = signer or self.new_device(alg)
        current = self.devices.get(member)
        values = {"log": self.origin, "member": member, "key": signer.key_text,
                  "challenge": challenge, **(signed or {})}
        log = values.pop("log")
        statement = expected_statement("enrol", log, **values)
        body = {"member": member, "member_name": self.names.get(member, "某人"),
                "key": signer.key_text, "replaces": None if current is None else current.key_text,
                "statement": statement, "sig": signer.sign(statement),
                **self._actor(person, role)}
        self.append("device.enrol", {**body, **override})
        self.devices[member] = signer
        return signer

    def revoke_device(self, member: int, *, key: str | None = None, person: int = 1,
                      role: str = "clerk", reason: str = "手机遗失", **override: Any) -> bytes:
        """device.revoke of the member's current phone (or ``key``); the member has none
        afterwards."""
        current = self.devices.pop(member, None)
        text = key if key is not None else current.key_text if current is not None else ""
        body = {"member": member, "member_name": self.names.get(member, "某人"), "key": text,
                "reason": reason, **self._actor(person, role)}
        return self.append("device.revoke", {**body, **override})

    def rewrite(self, edits: Mapping[int, Callable[[dict[str, Any]], None]]) -> None:
        """What a server holding the log key could do: change the bodies of records
        (``edits``: index → a function changing the body in place), then re-chain and re-sign
        every record from the first one changed with the current log key (so the log is
        consistent again and only what the log key cannot forge shows)."""
        start = min(edits)
        kept, records = self.records[:start], self.records[start:]
        self.records, self._border = [], []
        for raw in kept:
            self.add_raw(raw)
        for offset, raw in enumerate(records):
            envelope = json.loads(parse_note_unverified(raw).text)
            body = envelope["body"]
            edit = edits.get(start + offset)
            if edit is not None:
                edit(body)
            self.append(envelope["type"], body)

    def paper_confirm(self, count_: int, *, meeting: int = 1, poll: int | None = None,
                      person: int = 5, role: str = "supervisor", entered_by: int = 1,
                      **override: Any) -> bytes:
        p = self._poll(meeting, poll)
        body = {"meeting": meeting, "poll": p.number, "count": count_,
                "sheet_sha256": hashlib.sha256(b"tally-sheet.jpg").hexdigest(),
                "entered_by": entered_by, **self._actor(person, role)}
        return self.append("paper.confirm", {**body, **override})

    def close_poll(self, *, meeting: int = 1, poll: int | None = None, person: int = 1,
                   role: str = "clerk", **override: Any) -> bytes:
        p = self._poll(meeting, poll)
        p.closer = person
        body = {"meeting": meeting, "poll": p.number, "ballots": p.records,
                **self._actor(person, role)}
        return self.append("poll.close", {**body, **override})

    def secret_ballots(self, *, meeting: int = 1, poll: int | None = None,
                       seed: int = 0, old_shape: bool = False) -> list[bytes]:
        """The poll's ballot.secret records, shuffled (as the server appends them at close);
        ``old_shape``: with their channel, as written before 2026-12."""
        p = self._poll(meeting, poll)
        ballots = list(p.ballots)
        random.Random(seed).shuffle(ballots)
        return [self.append("ballot.secret", {"meeting": meeting, "poll": p.number,
                                              "ballot": self.ballot_id(), "choice": choice,
                                              **({"channel": channel} if old_shape else {})})
                for choice, channel in ballots]

    def count(self, *, meeting: int = 1, poll: int | None = None) -> Tally:
        """domain.assembly.count() of the poll's ballots as the builder remembers them."""
        p = self._poll(meeting, poll)
        return count([Choice(c) for c, _ in p.ballots], present=p.present, members=p.members,
                     recused=p.recused, rule=PassRule(p.rule),
                     recusal_counts_present=p.recusal_counts_present)

    def tally(self, *, meeting: int = 1, poll: int | None = None, **override: Any) -> bytes:
        p = self._poll(meeting, poll)
        t = self.count(meeting=meeting, poll=p.number)
        body = {"meeting": meeting, "poll": p.number, "matter": p.matter, "yes": t.yes,
                "no": t.no, "abstain": t.abstain, "recused": t.recused, "present": t.present,
                "members": t.members, "rule": t.rule.value,
                "recusal_counts_present": t.recusal_counts_present, "base": t.base,
                "needed": t.needed, "verdict": t.verdict, "at": self.at()}
        return self.append("poll.tally", {**body, **override})

    def record_vote(self, matter: str, verdict: str, *, person: int = 1,
                    **override: Any) -> bytes:
        """The matter.step record_vote that follows a tally, in the role assembly."""
        state, done = self.matters.get(matter, (MatterState.FILED, 0))
        to = MatterState.PASSED if verdict == "passed" else MatterState.REJECTED
        body: dict[str, Any] = {
            "matter": matter, "step_seq": done + 1, "step": "vote", "action": "record_vote",
            "from": state.value, "to": to.value, "person": person,
            "name": self.names.get(person, "某人"), "role": "assembly",
            "fields": {"verdict": verdict}, "attachments": [], "suggestions": [],
            "origin": None, "at": self.at()}
        for key, value in override.items():
            body["from" if key == "from_" else key] = value
        self.matters[matter] = (MatterState(body["to"]), body["step_seq"])
        return self.append("matter.step", body)

    def finish_poll(self, *, meeting: int = 1, poll: int | None = None, person: int = 1,
                    seed: int = 0, old_shape: bool = False) -> Tally:
        """poll.close, the shuffled ballot.secret records (secret poll; ``old_shape``: with
        their channel), poll.tally, the record_vote and the notice.publish: the closing sequence
        as the server writes it."""
        p = self._poll(meeting, poll)
        self.close_poll(meeting=meeting, poll=p.number, person=person)
        if p.mode == "secret":
            self.secret_ballots(meeting=meeting, poll=p.number, seed=seed, old_shape=old_shape)
        t = self.count(meeting=meeting, poll=p.number)
        self.tally(meeting=meeting, poll=p.number)
        self.record_vote(p.matter, t.verdict, person=person)
        self.publish(p.matter, t.verdict, meeting=meeting, poll=p.number)
        return t

    # ------------------------------------------------------------------ step 6, supervision

    def wait(self, days: float = 0, **kwargs: float) -> None:
        """Move the clock on (``days``, or any ``timedelta`` keywords)."""
        self.clock += dt.timedelta(days=days, **kwargs)

    def publish(self, matter: str, verdict: str, *, meeting: int = 1, poll: int | None = None,
                **override: Any) -> bytes:
        """notice.publish of the poll's result (the township's public_notice_days when
        passed; days 0 and ends_at null when rejected), as the server writes it right after
        the record_vote."""
        number = poll if poll is not None else self._poll(meeting, None).number
        moment = self.clock
        passed = verdict == "passed"
        days = int(self.township_settings.get("public_notice_days", "5")) if passed else 0
        ends = moment + dt.timedelta(days=days) if passed else None
        body = {"matter": matter, "meeting": meeting, "poll": number, "verdict": verdict,
                "days": days, "ends_at": None if ends is None else utc(ends), "at": self.at()}
        body.update(override)
        self.notice_ends[matter] = ends
        return self.append("notice.publish", body)

    def object(self, matter: str, *, text: str = "招标公告没有张贴，村民不知情。",
               **override: Any) -> bytes:
        """objection.file, numbered after the matter's earlier ones, due after the township's
        objection_reply_days."""
        number = self.objections.get(matter, 0) + 1
        self.objections[matter] = number
        moment = self.clock
        days = int(self.township_settings.get("objection_reply_days", "7"))
        body = {"matter": matter, "objection": number, "text": text,
                "reply_due": utc(moment + dt.timedelta(days=days)), "at": self.at()}
        return self.append("objection.file", {**body, **override})

    def reply(self, matter: str, objection: int, outcome: str = "dismissed", *,
              person: int = 5, role: str = "supervisor", reply: str = "经核实，招标公告已张贴。",
              breach: bool = True, **override: Any) -> bytes:
        """objection.reply by a supervisor; an upheld one is followed (unless ``breach`` is
        False) by the matter's flag_breach back to the vote, by the same person."""
        body = {"matter": matter, "objection": objection, "outcome": outcome, "reply": reply,
                **self._actor(person, role)}
        raw = self.append("objection.reply", {**body, **override})
        if outcome == "upheld" and breach:
            self.step(matter, "flag_breach", person,
                      {"breach_step": "vote", "reason": f"异议{objection}成立：{reply}"})
        return raw

    def update(self, matter: str, progress: int, *, person: int = 1, role: str = "clerk",
               spent_fen: int = 0, evidence: list[Any] | None = None,
               **override: Any) -> bytes:
        """implementation.update (numbered after the matter's earlier ones; planned_fen is the
        matter's amount), with one evidence photo by default."""
        number = self.updates.get(matter, 0) + 1
        self.updates[matter] = number
        photo = {"name": "路面.png", "sha256": hashlib.sha256(b"photo").hexdigest(),
                 "size": 128, "type": "image/png"}
        body = {"matter": matter, "update": number, "milestone": f"节点{number}",
                "progress": progress, "spent_fen": spent_fen,
                "planned_fen": self.amounts.get(matter), "note": "",
                "evidence": [photo] if evidence is None else evidence,
                **self._actor(person, role)}
        return self.append("implementation.update", {**body, **override})

    def confirm(self, matter: str, update: int, *, person: int = 5, role: str = "supervisor",
                **override: Any) -> bytes:
        """implementation.confirm by a supervisor."""
        body = {"matter": matter, "update": update, **self._actor(person, role)}
        return self.append("implementation.confirm", {**body, **override})

    def rate(self, matter: str, score: int = 5, **override: Any) -> bytes:
        """rating.add."""
        body = {"matter": matter, "score": score, "at": self.at()}
        return self.append("rating.add", {**body, **override})

    def void_poll(self, *, meeting: int = 1, poll: int | None = None, person: int = 1,
                  role: str = "clerk", reason: str = "该事项已被退回，本项表决无法计票",
                  **override: Any) -> bytes:
        """poll.void: a poll that cannot be tallied ends without a count."""
        p = self._poll(meeting, poll)
        body = {"meeting": meeting, "poll": p.number, "matter": p.matter, "reason": reason,
                **self._actor(person, role)}
        return self.append("poll.void", {**body, **override})

    def close_meeting(self, meeting: int = 1, *, person: int = 1, role: str = "clerk",
                      **override: Any) -> bytes:
        body = {"meeting": meeting, **self._actor(person, role)}
        return self.append("meeting.close", {**body, **override})

    def request_meeting(self, person: int, *, reason: str = "村道修缮需尽快议定",
                        role: str = "representative", **override: Any) -> bytes:
        body = {"reason": reason, **self._actor(person, role)}
        return self.append("meeting.request", {**body, **override})

    def rotate(self, label: str, *, cosign: bool = True, **override: Any) -> Signer:
        """Rotate to a new log key (signed by the old, then by the new unless ``cosign``)."""
        old, new = self.signer, seeded_signer(self.origin, label)
        body = {"old": old.verifier().vkey, "new": new.verifier().vkey, "reason": "例行轮换",
                "at": self.at()}
        self.append("key.rotate", {**body, **override}, signers=[old, new] if cosign else [old])
        self.signer = new
        self.log_vkeys.append(new.verifier().vkey)
        return old

    def revoke(self, vkey: str, **override: Any) -> bytes:
        body = {"key": vkey, "reason": "旧设备报废", "at": self.at()}
        return self.append("key.revoke", {**body, **override})

    # ------------------------------------------------------------------ output

    def checkpoint(self, cosigners: Sequence[Cosigner] = (), *,
                   timestamp: int = COSIGN_TIME, size: int | None = None,
                   root: bytes | None = None, signer: NoteSigner | None = None) -> bytes:
        """The signed checkpoint of the whole log (with cosignatures)."""
        note = sign_checkpoint(
            Checkpoint(self.origin, self.size if size is None else size,
                       self.root if root is None else root), signer or self.signer)
        for cosigner in cosigners:
            note = add_cosignature(note, cosigner, timestamp)
        return note

    def export(self, path: Path, *, cosigners: Sequence[Cosigner] = (),
               witness_vkeys: Sequence[str] | None = None,
               records: Iterable[bytes] | None = None, checkpoint: bytes | None = None,
               log_vkeys: Sequence[str] | None = None) -> Path:
        """Write the export directory (defaults: this log, checkpoint, keys and witness)."""
        witnesses = ([c.verifier().vkey for c in cosigners] or [seeded_cosigner().verifier().vkey]
                     if witness_vkeys is None else list(witness_vkeys))
        write_export(path, self.origin, self.records if records is None else records,
                     self.checkpoint(cosigners) if checkpoint is None else checkpoint,
                     self.log_vkeys if log_vkeys is None else log_vkeys, witnesses,
                     "验证方法 / how to verify: python -m sunvote.verify <dir>\n")
        return path


# ---------------------------------------------------------------------- standard logs


def people(b: LogBuilder) -> None:
    """The cast: clerk 1, party secretary and committee director 2 (一肩挑), township reviewer 4,
    supervisor 5, township admin 6."""
    b.appoint(1, "王芳", "clerk")
    b.appoint(2, "李强", "party_secretary")
    b.appoint(2, "李强", "committee_director")
    b.appoint(4, "赵敏", "township_reviewer", scope="township")
    b.appoint(5, "孙丽", "supervisor")
    b.appoint(6, "周杰", "township_admin", scope="township")


def standard_log(**kwargs: Any) -> LogBuilder:
    """A fully valid village log touching every record type and most of the procedure.

    Returns the builder; ``b.marks`` names interesting indices.
    """
    b = LogBuilder(**kwargs)
    marks: dict[str, int] = {}
    b.init()
    people(b)
    for sid in (1, 2, 3):
        b.suggestion(sid)
    marks["suggest"] = b.size
    b.step("2026-001", "suggest", 1, suggestions=[1, 2])
    marks["propose"] = b.size
    b.step("2026-001", "propose", 2)
    b.step("2026-001", "discuss", 1)
    b.step("2026-001", "file", 4)
    b.step("2026-001", "flag_breach", 5)
    b.step("2026-001", "discuss", 2)
    b.step("2026-001", "file", 4)
    marks["setting"] = b.size
    b.setting("merge_propose_discuss", "true")
    b.step("2026-002", "suggest", 1, suggestions=[3])
    marks["merge"] = b.size
    b.step("2026-002", "propose_and_discuss", 2)
    marks["rotate"] = b.size
    old = b.rotate(f"{kwargs.get('key_label', 'log-1')} rotated")
    b.suggestion(4, channel="qr", recorded_by=None)
    b.step("2026-002", "file", 4)
    marks["revoke"] = b.size
    b.revoke(old.verifier().vkey)
    b.suggestion(5)
    b.marks = marks  # type: ignore[attr-defined]
    b.old_signer = old  # type: ignore[attr-defined]
    return b


def representatives(b: LogBuilder, n: int, *, first: int = 101) -> list[int]:
    """Appoint ``n`` representatives (persons ``first``, ``first + 1``, …)."""
    people_ = list(range(first, first + n))
    for person in people_:
        b.appoint(person, f"代表{person}", "representative")
    return people_


def filed_matter(b: LogBuilder, matter: str = "2026-001", *, sid: int | None = None,
                 category: int = 2) -> None:
    """A matter walked from a new suggestion to filed (awaiting the vote), of ``category``."""
    sid = sid if sid is not None else int(matter.split("-")[1])
    b.suggestion(sid)
    b.step(matter, "suggest", 1, suggestions=[sid])
    fields = {**FIELDS["propose"], "category": category}
    if category == 10:
        fields["category_reason"] = "涉及全体村民切身利益。"
    b.step(matter, "propose", 2, fields)
    b.step(matter, "discuss", 1)
    b.step(matter, "file", 4)


#: The same steps with ASCII text (cheaper to trace with tracemalloc: no per-character objects).
ASCII_FIELDS: dict[str, dict[str, Any]] = {
    "suggest": {"title": "Pave the village road", "text": "The road floods when it rains."},
    "propose": {"category": 2, "title": "Pave the village road", "summary": "Pave 300 m",
                "amount_fen": 12_000_000},
    "discuss": {"meeting_date": "2026-03-05", "expected": 9, "present": 8,
                "minutes": "Agreed.", "plan": "Pave 300 m after a public tender."},
    "file": {"filing_no": "F-2026-001"},
}


def big_log(n: int, *, ascii_text: bool = False) -> LogBuilder:
    """A valid log of exactly ``n`` records (n ≥ 8): the cast, then matters walked through
    suggest → propose → discuss → file, each from one new suggestion. Each step's body is
    worked out once by the engine and reused (only matter, step_seq, suggestions and at change)."""
    fields = ASCII_FIELDS if ascii_text else FIELDS
    b = LogBuilder(tick=dt.timedelta(seconds=1), fast=True)
    b.init()
    people(b)
    cycle = (("suggest", 1), ("propose", 2), ("discuss", 1), ("file", 4))
    sid = 1
    b.suggestion(sid, text="Fix the road" if ascii_text else "建议修路")
    templates = []
    for i, (action, person) in enumerate(cycle):  # the first matter, through the engine
        b.step("2026-001", action, person, fields[action], suggestions=[sid] if i == 0 else [])
        templates.append(json.loads(parse_note_unverified(b.records[-1]).text)["body"])
    while b.size < n:
        sid += 1
        b.suggestion(sid, text="Fix the road" if ascii_text else "建议修路")
        for template in templates:
            if b.size >= n:
                break
            b.append("matter.step", {**template, "matter": f"2026-{sid:03d}",
                                     "suggestions": [sid] if template["step_seq"] == 1 else [],
                                     "at": b.at()})
    return b


def read_lines(path: Path) -> list[bytes]:
    """The base64 lines of an export's records file (without newlines)."""
    return (path / "records").read_bytes().split(b"\n")[:-1]


def write_lines(path: Path, lines: Iterable[bytes]) -> None:
    """Rewrite an export's records file."""
    (path / "records").write_bytes(b"".join(line + b"\n" for line in lines))


def decode(line: bytes) -> bytes:
    return base64.b64decode(line)


def encode(raw: bytes) -> bytes:
    return base64.b64encode(raw)
