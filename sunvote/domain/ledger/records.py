"""Ledger records: one line of canonical JSON, signed as a C2SP note; types and body schemas.

A record's bytes are the leaf bytes of the village's Merkle tree. The text is
``{"body":{…},"log":<origin>,"prev":<base64 root of the tree of size seq>,"seq":<n>,
"type":<type>,"v":1}`` followed by a newline; signatures follow per C2SP signed-note, always the
log key's first. :data:`BODY_SCHEMAS` gives every type's body (keys and JSON types) and
:data:`OPTIONAL_BODY_KEYS` the keys a type may leave out; the verifier (``verifier/``, one
module per feature) holds each type's rules, e.g. that a ``role.end`` only shortens a term,
that a ``register.import`` carries a file hash and counts, no personal data, the assembly's
rules (meetings, polls, ballots, the tally) and cloud voting's (device keys and signatures,
``device.py``). See docs/ledger-format.md.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sunvote.domain.ledger.canonical import CanonicalJSONError, canonical_json, parse_canonical
from sunvote.domain.ledger.note import (
    NoteError,
    NoteSigner,
    ParsedNote,
    parse_note_unverified,
    sign_note,
)

RECORD_VERSION = 1


class RecordFormatError(ValueError):
    """The bytes are not a well-formed record of a known type."""


_STR = str
_INT = int
_BOOL = bool
_OPT_STR = (str, type(None))
_OPT_INT = (int, type(None))

#: For each record type, the body keys it must have and their JSON types. Extra keys are refused,
#: so a verifier knows exactly what each record says.
BODY_SCHEMAS: dict[str, dict[str, Any]] = {
    # seq 0: the village's log begins; ``key`` is the log's first verifier key.
    "log.init": {"village": _STR, "village_name": _STR, "township": _STR,
                 "township_name": _STR, "key": _STR, "at": _STR},
    # A new log key replaces the current one; signed by both (old first, then new).
    "key.rotate": {"old": _STR, "new": _STR, "reason": _STR, "at": _STR},
    # A former log key is revoked: no later record may carry its signature.
    "key.revoke": {"key": _STR, "reason": _STR, "at": _STR},
    # Someone holds a role for a term (village roles, and township/district roles that act here).
    # A later role.appoint with the same person, role and starts_on amends that term's end; it
    # may not re-open or extend a term that a role.end has ended.
    "role.appoint": {"person": _INT, "name": _STR, "role": _STR, "scope": _STR,
                     "starts_on": _STR, "ends_on": _OPT_STR, "at": _STR},
    # A term is ended early (resignation, removal). ``person``, ``role`` and ``starts_on``
    # name a term an earlier role.appoint created; ``ends_on`` is its new last day (inclusive),
    # never later than its end so far nor before the day before ``at`` (China time); ``reason``
    # is not blank.
    "role.end": {"person": _INT, "name": _STR, "role": _STR, "scope": _STR,
                 "starts_on": _STR, "ends_on": _STR, "reason": _STR, "at": _STR},
    # A township setting changed (recorded in each village log of the township).
    "setting.change": {"township": _STR, "key": _STR, "value": _STR, "person": _INT,
                       "name": _STR, "at": _STR},
    # The township settings in force when the log began, those that differ from the built-in
    # defaults (a township changed earlier, or installation defaults set by SUNVOTE_DEFAULT_*):
    # ``values`` maps setting keys to their text form, as ``value`` of setting.change (string
    # values only; the verifier checks that). Written by the system when the village is
    # created, so no actor; only as record 1, directly after log.init, at most once.
    "setting.snapshot": {"township": _STR, "values": dict, "at": _STR},
    # --- Account events (logins). ``holder``/``holder_name``: whose login; ``holder_roles``:
    # the roles (values, sorted) they hold in this log's village or township that day, i.e.
    # what the login is for. ``person``/``name``/``role``: who did it, in which role (a register
    # keeper, the township admin, or the district admin: district roles are not in village
    # logs). Never the user name, password, phone or ID number. In the holder's village log, or
    # for a township official in every village log of the township. A login is issued, its
    # password reset (a new temporary one), the login disabled or enabled again:
    "account.issue": {"holder": _INT, "holder_name": _STR, "holder_roles": list, "person": _INT,
                      "name": _STR, "role": _STR, "at": _STR},
    "account.reset": {"holder": _INT, "holder_name": _STR, "holder_roles": list, "person": _INT,
                      "name": _STR, "role": _STR, "at": _STR},
    "account.disable": {"holder": _INT, "holder_name": _STR, "holder_roles": list,
                        "person": _INT, "name": _STR, "role": _STR, "at": _STR},
    "account.enable": {"holder": _INT, "holder_name": _STR, "holder_roles": list,
                       "person": _INT, "name": _STR, "role": _STR, "at": _STR},
    # The holder changed their own password (the actor is the holder).
    "account.password": {"holder": _INT, "holder_name": _STR, "holder_roles": list,
                         "at": _STR},
    # A suggestion arrived (step 1 intake). ``name`` is null unless the suggester agreed.
    "suggestion.add": {"id": _INT, "channel": _STR, "text": _STR, "name": _OPT_STR,
                       "party_member": _BOOL, "recorded_by": _OPT_INT, "at": _STR},
    # A suggestion was not taken up, with the reason the suggester and the public read; by a
    # clerk, committee director or party secretary (domain.suggestions.DECLINERS).
    "suggestion.decline": {"id": _INT, "reason": _STR, "person": _INT, "name": _STR,
                           "role": _STR, "at": _STR},
    # The clerk imported villagers, households or representatives from a file. No personal
    # data: only the file's SHA-256 (64 lowercase hex), its name and the row counts
    # (created + changed + unchanged + rejected == rows), by a clerk, committee director or
    # member, or township admin.
    "register.import": {"file_sha256": _STR, "filename": _STR, "rows": _INT, "created": _INT,
                        "changed": _INT, "unchanged": _INT, "rejected": _INT, "person": _INT,
                        "name": _STR, "at": _STR},
    # A step of the procedure was taken on a matter.
    "matter.step": {"matter": _STR, "step_seq": _INT, "step": _STR, "action": _STR,
                    "from": _STR, "to": _STR, "person": _INT, "name": _STR, "role": _STR,
                    "fields": dict, "attachments": list, "suggestions": list,
                    "origin": _OPT_STR, "at": _STR},
    # --- The representative assembly (step 5). ``person``, ``name``, ``role``: the actor, in a
    # role held on the China date of ``at`` (or ``member``: a member acting themself).
    # A meeting (numbered 1, 2, … per log) is convened on matters awaiting the vote, with notice.
    "meeting.convene": {"meeting": _INT, "title": _STR, "place": _STR, "starts_at": _STR,
                        "agenda": list, "notice_days": _INT, "person": _INT, "name": _STR,
                        "role": _STR, "at": _STR},
    # The meeting opens; ``members`` is the frozen roster: [{person, name, roles}] by person id.
    "meeting.open": {"meeting": _INT, "members": list, "person": _INT, "name": _STR,
                     "role": _STR, "at": _STR},
    # A member checks in (``hall`` or ``cloud``), or switches channel.
    "meeting.attend": {"meeting": _INT, "member": _INT, "member_name": _STR, "channel": _STR,
                       "person": _INT, "name": _STR, "role": _STR, "at": _STR},
    # A present member leaves (离场): by their own word (role member) or a runner's; later polls
    # count them absent, the open poll takes no more ballots from them.
    "meeting.leave": {"meeting": _INT, "member": _INT, "member_name": _STR, "person": _INT,
                      "name": _STR, "role": _STR, "at": _STR},
    # A poll (numbered 1, 2, … per meeting) opens on one agenda matter; the counts and the
    # settings it will be decided by are stated up front.
    "poll.open": {"meeting": _INT, "poll": _INT, "matter": _STR, "mode": _STR, "present": _INT,
                  "members": _INT, "quorum": _STR, "rule": _STR,
                  "recusal_counts_present": _BOOL, "person": _INT, "name": _STR, "role": _STR,
                  "at": _STR},
    # A present member declares recusal (回避) on the open poll, before voting.
    "poll.recuse": {"meeting": _INT, "poll": _INT, "member": _INT, "member_name": _STR,
                    "reason": _STR, "person": _INT, "name": _STR, "role": _STR, "at": _STR},
    # A named ballot: the voter and the choice are public. ``ballot`` is a random id.
    "ballot.cast": {"meeting": _INT, "poll": _INT, "member": _INT, "member_name": _STR,
                    "choice": _STR, "channel": _STR, "ballot": _STR, "person": _INT,
                    "name": _STR, "role": _STR, "at": _STR},
    # Secret poll: member X took part (no choice, no ballot id).
    "poll.participation": {"meeting": _INT, "poll": _INT, "member": _INT, "member_name": _STR,
                           "channel": _STR, "person": _INT, "name": _STR, "role": _STR,
                           "at": _STR},
    # A supervisor confirms ``count`` paper ballots entered by ``entered_by`` (sheet's SHA-256).
    "paper.confirm": {"meeting": _INT, "poll": _INT, "count": _INT, "sheet_sha256": _STR,
                      "entered_by": _INT, "person": _INT, "name": _STR, "role": _STR,
                      "at": _STR},
    # The poll closes with ``ballots`` ballots (named) or participations (secret).
    "poll.close": {"meeting": _INT, "poll": _INT, "ballots": _INT, "person": _INT, "name": _STR,
                   "role": _STR, "at": _STR},
    # A secret ballot: no identity, no time, no channel; appended in a shuffled batch after
    # poll.close. Logs written before 2026-12 carry ``channel`` too (an optional key, which the
    # verifier reports as ``ballot.secret_linkable``: it singles out a member alone on a channel).
    "ballot.secret": {"meeting": _INT, "poll": _INT, "ballot": _STR, "choice": _STR},
    # The poll's count and verdict (domain.assembly.count()); a matter.step record_vote follows.
    "poll.tally": {"meeting": _INT, "poll": _INT, "matter": _STR, "yes": _INT, "no": _INT,
                   "abstain": _INT, "recused": _INT, "present": _INT, "members": _INT,
                   "rule": _STR, "recusal_counts_present": _BOOL, "base": _INT, "needed": _INT,
                   "verdict": _STR, "at": _STR},
    # A poll that cannot be tallied (its matter decided at another meeting, or another poll on
    # it opened first) ends without a count: its ballots are not counted (domain/assembly.py).
    "poll.void": {"meeting": _INT, "poll": _INT, "matter": _STR, "reason": _STR,
                  "person": _INT, "name": _STR, "role": _STR, "at": _STR},
    "meeting.close": {"meeting": _INT, "person": _INT, "name": _STR, "role": _STR, "at": _STR},
    # --- Step 6, supervision (docs/supervision.md). The vote's result is published right
    # after its record_vote: a passed one opens a notice period of ``days`` (the township's
    # public_notice_days) ending at ``ends_at``; a rejected one has days 0 and ends_at null.
    "notice.publish": {"matter": _STR, "meeting": _INT, "poll": _INT, "verdict": _STR,
                       "days": _INT, "ends_at": _OPT_STR, "at": _STR},
    # A villager objects during the notice period (numbered per matter). No personal data: the
    # objector's name and household stay in the village database.
    "objection.file": {"matter": _STR, "objection": _INT, "text": _STR, "reply_due": _STR,
                       "at": _STR},
    # A supervisory committee member answers: dismissed, or upheld (a matter.step flag_breach
    # back to the vote follows in the same transaction).
    "objection.reply": {"matter": _STR, "objection": _INT, "outcome": _STR, "reply": _STR,
                        "person": _INT, "name": _STR, "role": _STR, "at": _STR},
    # The committee records implementation progress (numbered per matter): percent done, money
    # spent so far against the plan, evidence files by SHA-256.
    "implementation.update": {"matter": _STR, "update": _INT, "milestone": _STR,
                              "progress": _INT, "spent_fen": _INT, "planned_fen": _OPT_INT,
                              "note": _STR, "evidence": list, "person": _INT, "name": _STR,
                              "role": _STR, "at": _STR},
    # A supervisory committee member (not the recorder) confirms an update.
    "implementation.confirm": {"matter": _STR, "update": _INT, "person": _INT, "name": _STR,
                               "role": _STR, "at": _STR},
    # A household rated a completed matter (1–5); the household is not named.
    "rating.add": {"matter": _STR, "score": _INT, "at": _STR},
    # A representative asks for a meeting (one fifth of them force one, 组织法 art. 26).
    # The legal notice of meeting ``meeting`` was issued (written to the outbox) at ``at``: to
    # ``recipients`` people, the assembly's members on the day, whose ids in increasing order
    # hash to ``recipients_sha256``; ``text_sha256`` is the notice's text, rebuilt from the
    # meeting.convene record and ``village`` (domain/notices.py meeting_notice_text).
    "meeting.notice": {"meeting": _INT, "village": _STR, "recipients": _INT,
                       "recipients_sha256": _STR, "text_sha256": _STR, "at": _STR},
    "meeting.request": {"reason": _STR, "person": _INT, "name": _STR, "role": _STR, "at": _STR},
    # --- The hall's recording (issue 19; domain/recording.py, docs/recording.md). Chunk
    # ``seq`` (0, 1, …) of meeting ``meeting``'s recording: its SHA-256 (hex), the previous
    # chunk's (``prev``; 64 zeros for chunk 0), its size and media type, whether it begins a
    # run of the hall page's recorder (``first``: a playable file starts there), and the
    # runner whose hall device uploaded it.
    "recording.chunk": {"meeting": _INT, "seq": _INT, "sha256": _STR, "prev": _STR,
                        "bytes": _INT, "type": _STR, "first": _BOOL, "person": _INT,
                        "name": _STR, "role": _STR, "at": _STR},
    # Before chunk ``seq``: nothing arrived since ``since`` (the last chunk's ``at``). ``lost``:
    # the hall page began a new recorder run, what it recorded in between is lost; otherwise
    # its chunks came late (the hall was off the network), none lost.
    "recording.gap": {"meeting": _INT, "seq": _INT, "since": _STR, "lost": _BOOL, "at": _STR},
    # A hall device's upload refused by ``rule`` (recording.meeting_state, .order, .chain,
    # .duplicate; at most 20 a meeting, domain.recording.refusal_to_record): the chunk number
    # it claimed and the SHA-256 and size of what it sent.
    "recording.refused": {"meeting": _INT, "seq": _INT, "sha256": _STR, "bytes": _INT,
                          "rule": _STR, "person": _INT, "name": _STR, "role": _STR,
                          "at": _STR},
    # The meeting closed: its recording has ``chunks`` chunks, ``bytes`` in all, the last
    # chunk's SHA-256 is ``sha256`` (64 zeros if none). Written with meeting.close.
    "recording.end": {"meeting": _INT, "chunks": _INT, "sha256": _STR, "bytes": _INT,
                      "at": _STR},
    # The recording's files were deleted after the township's retention
    # (recording_retention_days); the chunk records and their hashes stay. ``person`` 0 and
    # ``role`` "system" when the `sunvote recordings purge` command did it.
    "recording.purge": {"meeting": _INT, "chunks": _INT, "bytes": _INT,
                        "retention_days": _INT, "person": _INT, "name": _STR, "role": _STR,
                        "at": _STR},
    # --- Cloud voting (docs/cloud-voting.md). A phone's public key is enrolled for ``member``
    # by a runner (who issued the enrolment QR); ``replaces`` is the member's previous device
    # key or null; ``statement`` (an ``enrol`` statement, as text) and ``sig`` (base64) are the
    # phone's proof of possession (device.py).
    "device.enrol": {"member": _INT, "member_name": _STR, "key": _STR, "replaces": _OPT_STR,
                     "statement": _STR, "sig": _STR, "person": _INT, "name": _STR,
                     "role": _STR, "at": _STR},
    # A lost phone's key is revoked by a runner; the member has no device afterwards.
    "device.revoke": {"member": _INT, "member_name": _STR, "key": _STR, "reason": _STR,
                      "person": _INT, "name": _STR, "role": _STR, "at": _STR},
}

#: Body keys a type *may* carry, with their JSON types: absent is valid, present must have the
#: type. They are never in :data:`BODY_SCHEMAS` (which lists the keys every body has). So
#: far: ``device`` — ``{"key", "statement", "sig"}``, the member's phone signature — on
#: the records a member makes by cloud (required when ``channel`` is ``cloud`` and forbidden
#: otherwise; the verifier checks that and the object's shape); ``proof`` — how a check-in or a
#: ballot shows it is the member's own (domain.assembly.AttendProof / BallotProof); absent only in
# logs
#: written before it existed (docs/ledger-format.md); ``channel`` of a ``ballot.secret`` written
#: before 2026-12 (accepted, reported as ``ballot.secret_linkable``).
OPTIONAL_BODY_KEYS: dict[str, dict[str, Any]] = {
    "meeting.attend": {"device": dict, "proof": str},
    "ballot.cast": {"device": dict, "proof": str},
    "poll.participation": {"device": dict, "proof": str},
    "ballot.secret": {"channel": _STR},  # old logs only: never written since 2026-12
}

_ENVELOPE_KEYS = {"body", "log", "prev", "seq", "type", "v"}


@dataclass(frozen=True)
class Record:
    """A parsed record; ``raw`` is the exact signed note (the Merkle leaf bytes)."""

    log: str
    seq: int
    prev: bytes
    type: str
    body: Mapping[str, Any]
    raw: bytes
    note: ParsedNote


def b64(data: bytes) -> str:
    """Standard base64 with padding (as in checkpoints)."""
    return base64.b64encode(data).decode("ascii")


def record_text(log: str, seq: int, prev: bytes, type_: str, body: Mapping[str, Any]) -> str:
    """The canonical text of a record (one line and its newline); checks the body's schema."""
    check_body(type_, body)
    envelope = {"body": dict(body), "log": log, "prev": b64(prev), "seq": seq, "type": type_,
                "v": RECORD_VERSION}
    return canonical_json(envelope).decode("utf-8") + "\n"


def make_record(log: str, seq: int, prev: bytes, type_: str, body: Mapping[str, Any],
                signers: Sequence[NoteSigner]) -> bytes:
    """Build and sign a record; the log key must be the first signer."""
    return sign_note(record_text(log, seq, prev, type_, body), signers)


def check_body(type_: str, body: Mapping[str, Any]) -> None:
    """Raise RecordFormatError unless ``body`` has exactly the keys and types of ``type_``:
    every key of its schema, any of its optional keys, nothing else."""
    schema = BODY_SCHEMAS.get(type_)
    if schema is None:
        raise RecordFormatError(f"unknown record type {type_!r}")
    if not isinstance(body, Mapping):
        raise RecordFormatError("body is not an object")
    optional = OPTIONAL_BODY_KEYS.get(type_, {})
    missing = set(schema) - set(body)
    extra = set(body) - set(schema) - set(optional)
    if missing or extra:
        raise RecordFormatError(
            f"{type_} body keys: missing {sorted(missing)}, unexpected {sorted(extra)}")
    present = {key: optional[key] for key in optional if key in body}
    for key, expected in (schema | present).items():
        value = body[key]
        # bool is an int in Python; keep the JSON types apart.
        if isinstance(value, bool) and expected is not bool and bool not in _as_tuple(expected):
            raise RecordFormatError(f"{type_}.{key} must not be a boolean")
        if not isinstance(value, expected):
            raise RecordFormatError(f"{type_}.{key} has the wrong type")


def _as_tuple(expected: Any) -> tuple[Any, ...]:
    return expected if isinstance(expected, tuple) else (expected,)


def parse_record(raw: bytes) -> Record:
    """Parse a record's bytes strictly: a signed note whose text is one canonical JSON line with
    the envelope and a body of a known type. Signatures are NOT verified here."""
    try:
        note = parse_note_unverified(raw)
    except NoteError as exc:
        raise RecordFormatError(f"not a signed note: {exc}") from None
    text = note.text
    if not text.endswith("\n") or text.count("\n") != 1:
        raise RecordFormatError("record text must be exactly one line")
    try:
        envelope = parse_canonical(text[:-1].encode("utf-8"))
    except CanonicalJSONError as exc:
        raise RecordFormatError(f"record text is not canonical JSON: {exc}") from None
    if not isinstance(envelope, dict) or set(envelope) != _ENVELOPE_KEYS:
        raise RecordFormatError("record envelope must have exactly body, log, prev, seq, type, v")
    if envelope["v"] != RECORD_VERSION:
        raise RecordFormatError(f"unknown record version {envelope['v']!r}")
    seq, log, type_, prev_text = (envelope["seq"], envelope["log"], envelope["type"],
                                  envelope["prev"])
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise RecordFormatError("seq must be a non-negative integer")
    if not isinstance(log, str) or not isinstance(type_, str) or not isinstance(prev_text, str):
        raise RecordFormatError("log, type and prev must be strings")
    try:
        prev = base64.b64decode(prev_text, validate=True)
    except ValueError:
        raise RecordFormatError("prev is not base64") from None
    if len(prev) != 32 or b64(prev) != prev_text:
        raise RecordFormatError("prev must be a canonical base64 SHA-256 hash")
    body = envelope["body"]
    check_body(type_, body)
    return Record(log=log, seq=seq, prev=prev, type=type_, body=body, raw=raw, note=note)
