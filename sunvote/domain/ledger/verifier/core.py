"""The log verifier: the record loop (Merkle tree, chain, key chain and signatures), the
checkpoint and its cosignatures, and the dispatch of each record type to the checks of its
feature (register.py, matters.py, assembly.py, polls.py, cloud.py, supervision.py).

Each record type has one handler in ``_HANDLERS`` that checks its rules against the state kept
so far (role terms, settings, matters, suggestions, the assembly's meetings and polls) and then
applies its effect: e.g. ``role.appoint`` creates or amends a term, ``role.end`` shortens one,
``register.import`` needs an importing role on the China-time date of its ``at``,
``setting.snapshot`` (record 1 only) sets the settings the log began with, ``poll.open``
checks the quorum and ``poll.tally`` is recounted with :func:`sunvote.domain.assembly.count`;
``device.enrol`` and ``device.revoke`` keep each member's current cloud-voting device, whose
signature every cloud check-in, ballot and participation must carry (``device.py``);
step 6 (supervision) keeps each matter's notice period, objections and implementation updates:
``notice.publish`` follows its ``record_vote``, ``objection.file`` falls in the notice period,
an upheld ``objection.reply`` is followed by the matter's ``flag_breach`` back to the vote,
``start_implementation`` waits for the notice's end and every reply, and ``complete`` for every
``implementation.update`` confirmed and the last at 100 %.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Literal

from sunvote.domain.ledger.checkpoint import (
    CheckpointError,
    CosignatureError,
    CosignatureVerifier,
    open_checkpoint,
)
from sunvote.domain.ledger.export import ExportError, read_meta
from sunvote.domain.ledger.merkle import HASH_SIZE, append_leaf, border_root, root_from_border
from sunvote.domain.ledger.note import KeyFormatError, NoteError, Verifier, parse_note_unverified
from sunvote.domain.ledger.origin import legacy_origin, origin_names_village
from sunvote.domain.ledger.records import b64
from sunvote.domain.ledger.verifier.assembly import ASSEMBLY_HANDLERS, AssemblyChecks
from sunvote.domain.ledger.verifier.cloud import CLOUD_HANDLERS, CloudChecks
from sunvote.domain.ledger.verifier.matters import MATTERS_HANDLERS, MatterChecks
from sunvote.domain.ledger.verifier.polls import POLLS_HANDLERS, PollChecks
from sunvote.domain.ledger.verifier.reading import (
    DEFAULT_CHUNK_SIZE,
    Candidate,
    Line,
    ParsedRecord,
    Prepared,
    prepare_line,
    prepare_lines,
    prepare_record,
    read_record_lines,
    signature_valid,
)
from sunvote.domain.ledger.verifier.recording import RECORDING_HANDLERS, RecordingChecks
from sunvote.domain.ledger.verifier.register import REGISTER_HANDLERS, RegisterChecks
from sunvote.domain.ledger.verifier.report import EXIT_CODES, Failure, Report, _sig_name
from sunvote.domain.ledger.verifier.state import _Rotation
from sunvote.domain.ledger.verifier.supervision import SUPERVISION_HANDLERS, SupervisionChecks


class LogVerifier(RegisterChecks, MatterChecks, PollChecks, AssemblyChecks, CloudChecks,
                  SupervisionChecks, RecordingChecks):
    """Checks one village log, fed one record at a time; memory does not grow with the log.

    It keeps only the Merkle right border, the key chain, the role terms (and which of them a
    ``role.end`` has ended), the settings in force, each matter's state, step count and
    category, the suggestion ids (two bits per id up to the largest: :class:`_SuggestionIds`),
    the meetings not yet closed (agenda, frozen roster, who is present, the open poll), the
    open polls of each matter, the closing sequence of the last closed poll, and the ballot
    ids (which grow with the log: 16–64 bytes per ballot); in step 6, per matter its amount,
    notice period, open objections and unconfirmed updates. Feed it lines (:meth:`feed_line`),
    record bytes (:meth:`feed`) or :class:`Prepared` lines made elsewhere, e.g. in worker
    processes (:meth:`consume`); then call :meth:`finish`.
    """

    def __init__(self, origin: str, trusted_log_vkeys: Sequence[str], *,
                 trusted_key_source: Literal["given", "export"] = "given",
                 listed_log_vkeys: Sequence[str] | None = None) -> None:
        """``trusted_log_vkeys``: the keys trusted as log keys (``--key``, else ``log.vkey``);
        ``listed_log_vkeys``: the export's ``log.vkey`` lines, compared with the key chain."""
        super().__init__()
        self.origin = origin
        self._source: Literal["given", "export"] = trusted_key_source
        self._trusted: list[Verifier] = []
        for line in trusted_log_vkeys:
            key = self._parse_vkey(line)
            if key is None:
                self._failures.head.append(Failure(
                    None, None, "signature", f"trusted log key {line[:80]!r} is malformed"))
            elif key.name != origin:
                self._failures.head.append(Failure(
                    None, None, "signature",
                    f"trusted log key {key.vkey} is not named after the origin {origin!r}"))
            else:
                self._trusted.append(key)
        self._listed = None if listed_log_vkeys is None else tuple(listed_log_vkeys)
        # Keys worth checking signatures against in advance (a hint only: a worker's answer is
        # used only when its key is the very key the sequential checks need).
        hinted = [*self._trusted, *(k for k in map(self._parse_vkey, self._listed or ())
                                    if k is not None and k.name == origin)]
        self._candidates: tuple[Candidate, ...] = tuple(dict.fromkeys(
            (k.name, k.key_id, k.public_key) for k in hinted))
        # Merkle tree
        self._size = 0
        self._border: list[bytes] = []
        self._diverged: int | None = None  # first record whose prev did not match
        # keys
        self._key: Verifier | None = None
        self._chain: list[Verifier] = []
        self._known: dict[tuple[str, int], Verifier] = {}
        self._revoked: set[tuple[str, int]] = set()
        self._rotations: list[_Rotation] = []
    # ------------------------------------------------------------------ feeding

    @property
    def size(self) -> int:
        """The number of records fed so far."""
        return self._size

    @property
    def root(self) -> bytes:
        """The RFC 6962 root of the records fed so far."""
        return root_from_border(self._border)

    @property
    def candidates(self) -> tuple[Candidate, ...]:
        """Keys for :func:`prepare_lines` to check signatures against early: the trusted keys
        and those the export lists (a hint only; see :meth:`_signature_ok`)."""
        return self._candidates

    def feed_line(self, index: int, line: bytes, problem: str | None = None) -> None:
        """Feed one line of the ``records`` file (without its newline): strict base64.

        ``problem`` is a reading problem to report as a format failure (e.g. a cut-off last
        line); the line is still checked as far as it goes.
        """
        self.consume(prepare_line(index, line, problem))

    def feed(self, index: int, raw: bytes) -> None:
        """Feed record ``index`` (its exact bytes). Records must be fed in line order."""
        self.consume(prepare_record(index, raw))

    def consume(self, prepared: Prepared) -> None:
        """Run the sequential checks on one prepared line (lines must come in order)."""
        index = prepared.line
        if index != self._size:
            raise ValueError(f"records must be fed in order: got {index}, expected {self._size}")
        if len(prepared.leaf) != HASH_SIZE:
            raise ValueError("a prepared line's leaf must be a 32-byte hash")
        # The unchecked helpers: every hash in the border was made here or by leaf_hash.
        prev = border_root(self._border)
        append_leaf(self._size, self._border, prepared.leaf)
        self._size += 1
        for problem in prepared.problems:
            self._fail(index, prepared.type_hint, "format", problem)
        record = prepared.record
        if record is None:
            return
        # chain
        if record.seq != index:
            self._fail(index, record.type, "chain", f"seq is {record.seq}, expected {index}")
        if record.log != self.origin:
            self._fail(index, record.type, "chain",
                       f"log is {record.log!r}, not the export's origin {self.origin!r}")
        if record.prev != prev:
            since = ("" if self._diverged is None
                     else f"; the history already differs from record {self._diverged} on")
            self._fail(index, record.type, "chain",
                       f"prev {b64(record.prev)} is not the root of the {index} records before "
                       f"it ({b64(prev)}){since}")
            if self._diverged is None:
                self._diverged = index
        # keys and signatures (the key in force is the one before this record's own change)
        new_key: Verifier | None = None
        if record.type == "log.init":
            self._log_init(index, record)
        elif index == 0:
            self._fail(index, record.type, "semantics", "record 0 must be log.init")
            self._fallback_key()
        elif record.type == "key.rotate":
            new_key = self._rotation_key(index, record)
        sigs_ok = self._check_signatures(prepared, record, new_key)
        if new_key is not None:
            self._rotate(index, new_key, sigs_ok)
        # type rules
        handler = _HANDLERS.get(record.type)
        if handler is not None:
            self._after_upheld(index, record)
            self._fit = self._sequence(index, record)
            handler(self, index, record)
    # ------------------------------------------------------------------ keys

    @staticmethod
    def _parse_vkey(text: object) -> Verifier | None:
        if not isinstance(text, str):
            return None
        try:
            return Verifier.from_vkey(text)
        except (KeyFormatError, ValueError):
            return None

    def _fallback_key(self) -> None:
        """Without a valid log.init, check signatures against the first trusted key."""
        if self._key is None and self._trusted:
            self._set_initial_key(self._trusted[0])

    def _set_initial_key(self, key: Verifier) -> None:
        self._key = key
        self._chain = [key]
        self._known[(key.name, key.key_id)] = key

    def _log_init(self, index: int, record: ParsedRecord) -> None:
        body = record.body
        if index != 0:
            self._fail(index, record.type, "semantics",
                       "log.init may only be record 0 (the log has already begun)")
            return
        if not origin_names_village(self.origin, str(body["township"]), str(body["village"])):
            expected = f"<installation>/{body['township']}/{body['village']}"
            self._fail(index, record.type, "semantics",
                       f"log.init names village {body['village']!r} of township "
                       f"{body['township']!r}, i.e. origin {expected!r} (or "
                       f"{legacy_origin(str(body['township']), str(body['village']))!r} for "
                       f"a log begun before origins were unique), not {self.origin!r}")
        self._township = body["township"]
        key = self._parse_vkey(body["key"])
        if key is None:
            self._fail(index, record.type, "semantics",
                       f"log.init key {str(body['key'])[:80]!r} is not a valid verifier key")
            self._fallback_key()
        elif key.name != self.origin:
            self._fail(index, record.type, "semantics",
                       f"log.init key is named {key.name!r}, not the origin {self.origin!r}")
            self._fallback_key()
        else:
            self._set_initial_key(key)

    def _rotation_key(self, index: int, record: ParsedRecord) -> Verifier | None:
        """Validate a key.rotate's keys; return the new key if the rotation can take effect."""
        body = record.body
        old = self._parse_vkey(body["old"])
        new = self._parse_vkey(body["new"])
        if old is None or self._key is None or old != self._key:
            in_force = self._key.vkey if self._key is not None else "none"
            self._fail(index, record.type, "signature",
                       f"key.rotate names old key {str(body['old'])[:80]!r}, but the log key "
                       f"in force is {in_force}")
        if new is None:
            self._fail(index, record.type, "signature",
                       f"key.rotate new key {str(body['new'])[:80]!r} is not a valid verifier key")
            return None
        if new.name != self.origin:
            self._fail(index, record.type, "signature",
                       f"key.rotate new key is named {new.name!r}, not the origin")
            return None
        if new in self._chain:
            self._fail(index, record.type, "semantics",
                       f"key.rotate new key {new.vkey} was already used by this log")
        return new

    def _rotate(self, index: int, new: Verifier, signed: bool) -> None:
        old = self._key
        if old is not None:
            self._rotations.append(_Rotation(index, old, new, signed))
        self._key = new
        self._chain.append(new)
        self._known[(new.name, new.key_id)] = new

    def _signature_ok(self, prepared: Prepared, record: ParsedRecord, position: int,
                      key: Verifier) -> bool:
        """Whether signature line ``position`` verifies under ``key`` (a worker's answer when
        it checked the same key, else checked here: the same pure function either way)."""
        for pos, number, valid in prepared.verified:
            if pos == position and self._candidates[number][2] == key.public_key:
                return valid
        return signature_valid(key.public_key, record.message,
                               record.signatures[position].signature)

    def _check_signatures(self, prepared: Prepared, record: ParsedRecord,
                          new_key: Verifier | None) -> bool:
        """Check the record's signature lines; return whether the log key(s) verified."""
        index, t = prepared.line, record.type
        sigs = record.signatures
        key = self._key
        first = sigs[0]
        ok = True
        if key is None:
            self._fail(index, t, "signature", "no log key is in force to check it")
            ok = False
        elif (first.name, first.key_id) != (key.name, key.key_id):
            self._fail(index, t, "signature",
                       f"first signature is by {_sig_name(first)}, not by the log key in force "
                       f"{key.name}+{key.key_id:08x}")
            ok = False
        elif not self._signature_ok(prepared, record, 0, key):
            self._fail(index, t, "signature",
                       f"the log key's signature ({key.name}+{key.key_id:08x}) does not verify")
            ok = False
        if new_key is not None:
            second = sigs[1] if len(sigs) > 1 else None
            if second is None or (second.name, second.key_id) != (new_key.name, new_key.key_id):
                self._fail(index, t, "signature",
                           "key.rotate must carry the new key's signature on its second line "
                           f"({new_key.name}+{new_key.key_id:08x})")
                ok = False
            elif not self._signature_ok(prepared, record, 1, new_key):
                self._fail(index, t, "signature",
                           "the new key's signature on key.rotate does not verify")
                ok = False
        for position, sig in enumerate(sigs):
            pair = (sig.name, sig.key_id)
            if pair in self._revoked:
                self._fail(index, t, "signature",
                           f"signature line {position + 1} is by the revoked key {_sig_name(sig)}")
            if position == 0 or (new_key is not None and position == 1):
                continue
            known = self._known.get(pair)
            if known is not None and not self._signature_ok(prepared, record, position, known):
                # A former log key signing again must at least verify.
                self._fail(index, t, "signature",
                           f"signature line {position + 1} by {_sig_name(sig)} does not verify")
        return ok

    def _key_rotate(self, index: int, record: ParsedRecord) -> None:
        self._at(index, record)

    def _key_revoke(self, index: int, record: ParsedRecord) -> None:
        self._at(index, record)
        key = self._parse_vkey(record.body["key"])
        if key is None or key not in self._chain or key == self._key:
            self._fail(index, record.type, "semantics",
                       f"key.revoke names {str(record.body['key'])[:80]!r}, which is not a "
                       "former log key of this log")
            return
        pair = (key.name, key.key_id)
        if pair in self._revoked:
            self._fail(index, record.type, "semantics", f"key {key.vkey} is already revoked")
        self._revoked.add(pair)

    def _log_init_rules(self, index: int, record: ParsedRecord) -> None:
        self._at(index, record)
    # ------------------------------------------------------------------ finishing

    def finish(self, checkpoint: bytes, *, witness_vkeys: Sequence[str] = (),
               trusted_witness_source: Literal["given", "export"] = "export",
               require_cosignature: bool = False, witness_threshold: int = 0) -> Report:
        """Check the signed checkpoint, the trust in the key chain and the cosignatures: at
        least ``witness_threshold`` distinct known witnesses (1 with ``require_cosignature``)."""
        tail = self._failures.tail
        root = self.root
        if self._size == 0:
            tail.append(Failure(None, None, "semantics",
                                "the export has no records: a log begins with log.init"))
            self._fallback_key()
        self._check_trust(tail)
        self._recording_unended(tail)
        checkpoint_size, checkpoint_root = self._check_checkpoint(checkpoint, root, tail)
        required = max(witness_threshold, 1 if require_cosignature else 0)
        cosignatures = self._check_witnesses(checkpoint, witness_vkeys, required, tail)
        records = sorted(self._failures.records,
                         key=lambda f: (f.index if f.index is not None else -1,
                                        EXIT_CODES[f.kind]))
        return Report(
            origin=self.origin, records=self._size, root=root,
            checkpoint_size=checkpoint_size, checkpoint_root=checkpoint_root,
            cosignatures=tuple(cosignatures), trusted_key_source=self._source,
            trusted_witness_source=trusted_witness_source,
            log_keys=tuple(k.vkey for k in self._chain),
            failures=(*self._failures.head, *records, *tail), findings=tuple(self._findings))

    def _check_trust(self, tail: list[Failure]) -> None:
        chain = [k.vkey for k in self._chain]
        if self._listed is not None and list(self._listed) != chain:
            tail.append(Failure(None, None, "signature",
                                f"log.vkey lists {len(self._listed)} key(s) that are not the "
                                f"log's key chain ({len(chain)} key(s): log.init then each "
                                "key.rotate, oldest first)"))
        if self._key is None:
            return
        trusted = set(self._trusted)
        for rotation in self._rotations:
            if rotation.old in trusted and rotation.signed:
                trusted.add(rotation.new)
        if self._key not in trusted:
            source = "--key" if self._source == "given" else "log.vkey"
            tail.append(Failure(None, None, "signature",
                                f"the log key in force at the end ({self._key.vkey}) is neither "
                                f"a trusted key ({source}) nor reached from one by a validly "
                                "signed key.rotate"))

    def _check_checkpoint(self, checkpoint: bytes, root: bytes,
                          tail: list[Failure]) -> tuple[int | None, bytes | None]:
        try:
            parsed = parse_note_unverified(checkpoint)
        except NoteError as exc:
            tail.append(Failure(None, None, "chain", f"checkpoint is not a signed note: {exc}"))
            return None, None
        for position, sig in enumerate(parsed.signatures):
            if (sig.name, sig.key_id) in self._revoked:
                tail.append(Failure(None, None, "signature",
                                    f"checkpoint signature line {position + 1} is by the revoked "
                                    f"key {_sig_name(sig)}"))
        if self._key is None:
            tail.append(Failure(None, None, "chain", "no log key to check the checkpoint with"))
            return None, None
        try:
            opened = open_checkpoint(checkpoint, self._key, self.origin)
        except (NoteError, CheckpointError) as exc:
            tail.append(Failure(None, None, "chain",
                                f"checkpoint does not verify under the log key in force "
                                f"({self._key.name}+{self._key.key_id:08x}): {exc}"))
            return None, None
        if opened.size != self._size or opened.root != root:
            tail.append(Failure(None, None, "chain",
                                f"checkpoint is for {opened.size} records with root "
                                f"{b64(opened.root)}; the export has {self._size} records with "
                                f"root {b64(root)}"))
        return opened.size, opened.root

    def _check_witnesses(self, checkpoint: bytes, witness_vkeys: Sequence[str],
                         required: int, tail: list[Failure]) -> list[tuple[str, int]]:
        witnesses: list[CosignatureVerifier] = []
        for line in witness_vkeys:
            try:
                witness = CosignatureVerifier.from_vkey(line)
                if witness not in witnesses:  # a key given twice counts once
                    witnesses.append(witness)
            except (KeyFormatError, CosignatureError, ValueError):
                tail.append(Failure(None, None, "witness",
                                    f"witness key {line[:80]!r} is malformed"))
        found: list[tuple[str, int]] = []
        try:
            parsed = parse_note_unverified(checkpoint)
        except NoteError:
            parsed = None  # already reported as a chain failure
        if parsed is not None:
            for witness in witnesses:
                stamps: list[int] = []
                for sig in parsed.signatures:
                    if (sig.name, sig.key_id) != (witness.name, witness.key_id):
                        continue
                    if witness.signature_valid(parsed.signed_bytes, sig.signature):
                        stamps.append(int.from_bytes(sig.signature[:8], "big"))
                    else:
                        tail.append(Failure(None, None, "witness",
                                            f"cosignature by {witness.name} does not verify"))
                if stamps:
                    found.append((witness.name, max(stamps)))
        if required == 1 and not found:
            why = "" if witnesses else " (no witness key given or in witness.vkey)"
            tail.append(Failure(None, None, "witness",
                                "the checkpoint has no valid cosignature from a known witness"
                                + why))
        elif len(found) < required:
            tail.append(Failure(None, None, "witness",
                                f"the checkpoint has valid cosignatures from {len(found)} of the "
                                f"{len(witnesses)} known witnesses; the threshold is {required}"))
        return found


#: Each record type's handler: the key chain's here, the others from their feature's module.
_HANDLERS: dict[str, Callable[[LogVerifier, int, ParsedRecord], None]] = {
    "log.init": LogVerifier._log_init_rules,
    "key.rotate": LogVerifier._key_rotate,
    "key.revoke": LogVerifier._key_revoke,
    **REGISTER_HANDLERS,
    **MATTERS_HANDLERS,
    **ASSEMBLY_HANDLERS,
    **POLLS_HANDLERS,
    **CLOUD_HANDLERS,
    **SUPERVISION_HANDLERS,
    **RECORDING_HANDLERS,
}


Progress = Callable[[int, int, int], None]
"""``progress(records done, bytes read, total bytes)``."""


def verify_export(path: Path | str, *, log_vkeys_override: Sequence[str] | None = None,
                  witness_vkeys_override: Sequence[str] | None = None,
                  require_cosignature: bool = False, witness_threshold: int = 0,
                  jobs: int = 1, progress: Progress | None = None,
                  chunk_size: int = DEFAULT_CHUNK_SIZE) -> Report:
    """Verify the export directory ``path`` and return the report of every failure.

    ``log_vkeys_override`` (``--key``) replaces ``log.vkey`` as the trusted log keys;
    ``witness_vkeys_override`` (``--witness-key``) replaces ``witness.vkey``;
    ``witness_threshold`` (``--witness-threshold``) is how many distinct known witnesses must
    have cosigned the checkpoint (``require_cosignature`` is a threshold of 1). With ``jobs > 1``,
    worker processes decode, hash and parse the records and check their Ed25519 signatures,
    ``chunk_size`` lines per task, while this process runs the sequential checks; the report
    is identical to ``jobs=1``. Raises :class:`ExportError` when the export cannot be read and
    :class:`KeyFormatError` for a malformed override key (both are exit code 1). Verification
    failures are in the report, never raised here: use :meth:`Report.raise_for_failures`.
    """
    if jobs < 1:
        raise ValueError("jobs must be at least 1")
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    path = Path(path)
    for vkey in log_vkeys_override or ():
        Verifier.from_vkey(vkey)
    try:
        for vkey in witness_vkeys_override or ():
            CosignatureVerifier.from_vkey(vkey)
    except CosignatureError as exc:
        raise KeyFormatError(str(exc)) from None
    meta = read_meta(path)
    try:
        total = (path / "records").stat().st_size
    except OSError as exc:
        raise ExportError(f"cannot read records: {exc}") from None
    given = bool(log_vkeys_override)
    verifier = LogVerifier(
        meta.origin, list(log_vkeys_override or ()) if given else list(meta.log_vkeys),
        trusted_key_source="given" if given else "export", listed_log_vkeys=meta.log_vkeys)
    counted = _Counter()
    lines = counted.count(read_record_lines(path))
    for prepared in prepare_lines(lines, jobs=jobs, candidates=verifier.candidates,
                                  chunk_size=chunk_size):
        verifier.consume(prepared)
        if progress is not None and prepared.line % 1024 == 1023:
            progress(prepared.line + 1, min(counted.bytes, total), total)
    if progress is not None:
        progress(verifier.size, total, total)
    witnessed = bool(witness_vkeys_override)
    return verifier.finish(
        meta.checkpoint,
        witness_vkeys=list(witness_vkeys_override or ()) if witnessed
        else list(meta.witness_vkeys),
        trusted_witness_source="given" if witnessed else "export",
        require_cosignature=require_cosignature, witness_threshold=witness_threshold)


class _Counter:
    """Counts the bytes of the lines that pass through (for the progress bar)."""

    def __init__(self) -> None:
        self.bytes = 0

    def count(self, lines: Iterable[Line]) -> Iterator[Line]:
        for item in lines:
            self.bytes += len(item[1]) + 1
            yield item
