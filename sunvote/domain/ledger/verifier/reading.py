"""Reading an export's records: lines and records prepared (decoded, hashed, parsed, their
signatures checked) in this process or in workers, and the parsing helpers of the checks."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from fractions import Fraction
from multiprocessing import get_context
from pathlib import Path
from typing import Any, NamedTuple, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sunvote.domain.assembly import Choice, VoteMode
from sunvote.domain.ledger import crypto
from sunvote.domain.ledger.export import ExportError
from sunvote.domain.ledger.merkle import leaf_hash
from sunvote.domain.ledger.note import NoteSignature, decode_base64_strict
from sunvote.domain.ledger.records import Record, RecordFormatError, parse_record
from sunvote.domain.procedure import Action, MatterState, Step
from sunvote.domain.roles import Role, Scope
from sunvote.domain.settings import PassRule

#: A records line longer than this (base64 characters) is refused without being held in memory.
MAX_LINE_BYTES = 16 * 1024 * 1024

#: Records per batch sent to a worker process (jobs > 1); at most jobs + 1 batches are in flight.
DEFAULT_CHUNK_SIZE = 500

_AT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

_MATTER_NUMBER = re.compile(r"[0-9]{4}-[0-9]{3,}")

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")

#: A quorum in the settings' text form (``2/3``, ``3/4``, ``1``); bounded before Fraction().
_FRACTION = re.compile(r"[0-9]{1,9}(/[0-9]{1,9})?")


def _china() -> dt.tzinfo:
    """Asia/Shanghai from the system or tzdata; offline fallback: UTC+8 (no DST since 1991)."""
    try:
        return ZoneInfo("Asia/Shanghai")
    except ZoneInfoNotFoundError:  # pragma: no cover - depends on the platform's tz database
        return dt.timezone(dt.timedelta(hours=8), "CST")


CHINA = _china()

Candidate = tuple[str, int, bytes]
"""``(key name, key ID, Ed25519 public key)``: a log key the workers check signatures against."""


def signature_valid(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is a valid Ed25519 signature of ``message`` under ``public_key``."""
    return crypto.ed25519_valid(public_key, signature, message)


class ParsedRecord(NamedTuple):
    """The parts of a well-formed record that the sequential checks read (small to pickle)."""

    seq: int
    log: str
    prev: bytes
    type: str
    body: Mapping[str, Any]
    signatures: tuple[NoteSignature, ...]
    message: bytes  # the signed note text: what every signature line covers

    @classmethod
    def of(cls, record: Record) -> ParsedRecord:
        """Keep what the checks need from a parsed record (not its raw bytes twice over)."""
        return cls(record.seq, record.log, record.prev, record.type, record.body,
                   record.note.signatures, record.note.signed_bytes)

    def __reduce__(self) -> tuple[Any, ...]:
        """Unpickle with ``tuple.__new__`` (C) rather than the named tuple's ``__new__``."""
        return tuple.__new__, (ParsedRecord, tuple(self))


class Prepared(NamedTuple):
    """What can be checked about one records line without knowing the lines before it.

    ``line`` is the line index; ``leaf`` the leaf hash of the bytes that enter the tree (the
    decoded record, or a stand-in for a line that cannot be decoded); ``problems`` are format
    failures, in order; ``record`` is the parsed record (None if malformed); ``verified``
    holds ``(signature line position, candidate number, valid)`` for every signature line by a
    candidate key. (Named tuples: they cross from worker processes cheaply.)
    """

    line: int
    leaf: bytes
    record: ParsedRecord | None
    type_hint: str | None
    problems: tuple[str, ...] = ()
    verified: tuple[tuple[int, int, bool], ...] = ()

    def __reduce__(self) -> tuple[Any, ...]:
        """Unpickle with ``tuple.__new__`` (C) rather than the named tuple's ``__new__``."""
        return tuple.__new__, (Prepared, tuple(self))


def prepare_line(index: int, line: bytes, problem: str | None = None,
                 candidates: Sequence[Candidate] = ()) -> Prepared:
    """Decode (strict base64), hash and parse one records line; check the signatures by
    ``candidates``. Pure: the same answer in any process, so workers can run it."""
    problems: list[str] = [] if problem is None else [problem]
    try:
        raw = decode_base64_strict(line.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        problems.append("records line is not canonical standard base64")
        lenient = _lenient_base64(line)
        if lenient is None:  # keep the count and the later checks going with a stand-in leaf
            return Prepared(index, leaf_hash(line), None, None, tuple(problems))
        raw = lenient
    return prepare_record(index, raw, tuple(problems), candidates)


def prepare_record(index: int, raw: bytes, problems: tuple[str, ...] = (),
                   candidates: Sequence[Candidate] = ()) -> Prepared:
    """Hash and parse one record's bytes and check the signatures by ``candidates`` (pure)."""
    leaf = leaf_hash(raw)
    try:
        record = parse_record(raw)
    except RecordFormatError as exc:
        return Prepared(index, leaf, None, _guess_type(raw),
                        (*problems, f"malformed record: {exc}"))
    parsed = ParsedRecord.of(record)
    verified: list[tuple[int, int, bool]] = []
    for position, sig in enumerate(parsed.signatures):
        for number, (name, key_id, public_key) in enumerate(candidates):
            if (sig.name, sig.key_id) == (name, key_id):
                verified.append((position, number,
                                 signature_valid(public_key, parsed.message, sig.signature)))
    return Prepared(index, leaf, parsed, record.type, problems, tuple(verified))


def prepare_chunk(items: Sequence[tuple[int, bytes, str | None]],
                  candidates: Sequence[Candidate]) -> list[Prepared]:
    """:func:`prepare_line` for a batch of lines (what a worker process runs)."""
    return [prepare_line(index, line, problem, candidates) for index, line, problem in items]


Line = tuple[int, bytes, str | None]
"""``(index, line without newline, reading problem or None)``."""


def prepare_lines(lines: Iterable[Line], *, jobs: int = 1,
                  candidates: Sequence[Candidate] = (),
                  chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[Prepared]:
    """Prepare every line, in order: inline for ``jobs=1``, else in ``jobs`` worker processes.

    Workers get chunks of ``chunk_size`` lines (or about 4 MB); at most ``jobs + 1`` chunks are
    in flight, so memory is bounded whatever the log's length.
    """
    if jobs <= 1:
        for index, line, problem in lines:
            yield prepare_line(index, line, problem, candidates)
        return
    pending: deque[Future[list[Prepared]]] = deque()
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
        try:
            for chunk in _chunks(lines, chunk_size):
                while len(pending) > jobs:
                    yield from pending.popleft().result()
                pending.append(pool.submit(prepare_chunk, chunk, tuple(candidates)))
            while pending:
                yield from pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


def _chunks(lines: Iterable[Line], size: int, max_bytes: int = 4 << 20) -> Iterator[list[Line]]:
    chunk: list[Line] = []
    total = 0
    for item in lines:
        chunk.append(item)
        total += len(item[1])
        if len(chunk) >= size or total >= max_bytes:
            yield chunk
            chunk, total = [], 0
    if chunk:
        yield chunk


def _lenient_base64(line: bytes) -> bytes | None:
    """What a lenient decoder would read from a bad line (to keep the tree meaningful)."""
    try:
        return base64.b64decode(line, validate=False)
    except (binascii.Error, ValueError):
        return None


def _guess_type(raw: bytes) -> str | None:
    """The ``type`` of a malformed record, if it can still be read (for the failure line)."""
    match = re.search(rb'"type":"([a-z.]{1,40})"', raw[:100_000])
    return match.group(1).decode("ascii") if match else None


def read_record_lines(path: Path) -> Iterator[Line]:
    """Yield ``(index, line without newline, problem)`` from an export's ``records`` file.

    Streams with bounded memory: of a line longer than :data:`MAX_LINE_BYTES` only the start is
    kept (with a problem); a last line without its newline comes with a problem too. Raises
    :class:`ExportError` if the file cannot be opened or read.
    """
    try:
        handle = (path / "records").open("rb")
    except OSError as exc:
        raise ExportError(f"cannot read records: {exc}") from None
    with handle:
        index = 0
        while True:
            try:
                line = handle.readline(MAX_LINE_BYTES + 1)
                if not line:
                    return
                if line.endswith(b"\n"):
                    yield index, line[:-1], None
                elif len(line) > MAX_LINE_BYTES:
                    rest = line
                    while rest and not rest.endswith(b"\n"):
                        rest = handle.readline(1 << 20)
                    yield index, line[:MAX_LINE_BYTES], (
                        f"records line is longer than {MAX_LINE_BYTES} bytes; only its start "
                        "was checked")
                else:
                    yield index, line, "the last records line has no newline (cut off?)"
            except OSError as exc:
                raise ExportError(f"cannot read records: {exc}") from None
            index += 1


_E = TypeVar("_E", Action, MatterState, Role, Scope, Step, Choice, PassRule, VoteMode)


def _enum(cls: type[_E], value: object) -> _E | None:
    if not isinstance(value, str):
        return None
    try:
        return cls(value)
    except ValueError:
        return None


def _parse_at(value: object) -> dt.datetime | None:
    if not isinstance(value, str) or not _AT.fullmatch(value):
        return None
    try:
        return dt.datetime.fromisoformat(value[:-1]).replace(tzinfo=dt.UTC)
    except ValueError:
        return None


def _parse_date(value: object) -> dt.date | None:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _same_json(a: object, b: object) -> bool:
    """Equality of JSON values that keeps types apart (``1``, ``1.0`` and ``true`` differ)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        assert isinstance(b, dict)
        return a.keys() == b.keys() and all(_same_json(a[k], b[k]) for k in a)
    if isinstance(a, list):
        assert isinstance(b, list)
        return len(a) == len(b) and all(_same_json(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _json_safe(value: object) -> object:
    return value.isoformat() if isinstance(value, dt.date) else value


def _fraction(text: str) -> Fraction | None:
    """A fraction in the settings' text form (``str(Fraction)``: ``2/3``, ``1``), else None."""
    if not _FRACTION.fullmatch(text):
        return None
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        return None
    return value if str(value) == text else None


