"""What a verification reports: failures and findings, the report, exit codes, and the
English reasons' wording shared by every check."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sunvote.domain.errors import DomainError, SettingDisabled
from sunvote.domain.ledger.canonical import canonical_json
from sunvote.domain.ledger.note import NoteSignature
from sunvote.domain.ledger.records import b64
from sunvote.domain.procedure import FIELD_LABELS, TRANSITIONS_BY_ACTION, Action, MatterState
from sunvote.domain.roles import Role

Kind = Literal["format", "signature", "chain", "semantics", "witness"]

#: Exit codes of docs/ledger-format.md; when several kinds fail, the smallest code wins.
EXIT_OK = 0

EXIT_USAGE = 1

EXIT_CODES: dict[str, int] = {"format": 2, "signature": 3, "chain": 4, "semantics": 5,
                              "witness": 6}

KINDS: tuple[Kind, ...] = ("format", "signature", "chain", "semantics", "witness")

_FIELD_NAMES = {label: name for name, label in FIELD_LABELS.items()}


@dataclass(frozen=True)
class Failure:
    """One failure: the record index (None for the export or checkpoint), type, kind, reason."""

    index: int | None
    type: str | None
    kind: Kind
    reason: str

    @property
    def where(self) -> str:
        """``record 17 (matter.step)`` or ``export``."""
        if self.index is None:
            return "export"
        return f"record {self.index}" + (f" ({self.type})" if self.type else "")

    def describe(self) -> str:
        """One human-readable line: ``record 17 (matter.step): semantics: …``."""
        return f"{self.where}: {self.kind}: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"index": self.index, "type": self.type, "kind": self.kind, "reason": self.reason}


@dataclass(frozen=True)
class Report:
    """The outcome of verifying one export. Check it with :meth:`raise_for_failures`."""

    origin: str
    records: int
    root: bytes
    checkpoint_size: int | None
    checkpoint_root: bytes | None
    cosignatures: tuple[tuple[str, int], ...]
    trusted_key_source: Literal["given", "export"]
    trusted_witness_source: Literal["given", "export"]
    log_keys: tuple[str, ...]
    failures: tuple[Failure, ...]
    findings: tuple[Finding, ...] = ()  # privacy findings: reported, never a failure

    @property
    def ok(self) -> bool:
        """True when there is no failure at all."""
        return not self.failures

    @property
    def exit_code(self) -> int:
        """0 when verified, else the smallest exit code among the failures' kinds."""
        return exit_code_for(self.failures)

    def counts(self) -> dict[str, int]:
        """The number of failures of each kind (every kind present, zeros included)."""
        counts: dict[str, int] = dict.fromkeys(KINDS, 0)
        for f in self.failures:
            counts[f.kind] += 1
        return counts

    def raise_for_failures(self) -> Report:
        """Raise :class:`VerificationFailed` unless the export verified; return self otherwise."""
        if self.failures:
            raise VerificationFailed(self)
        return self

    def to_dict(self) -> dict[str, Any]:
        """The machine-readable report (what ``--json`` prints)."""
        return {
            "ok": self.ok,
            "exit_code": self.exit_code,
            "origin": self.origin,
            "records": self.records,
            "root": b64(self.root),
            "checkpoint": None if self.checkpoint_size is None or self.checkpoint_root is None
            else {"size": self.checkpoint_size, "root": b64(self.checkpoint_root)},
            "cosignatures": [{"name": name, "timestamp": ts, "time": utc_time(ts)}
                             for name, ts in self.cosignatures],
            "trusted_key_source": self.trusted_key_source,
            "trusted_witness_source": self.trusted_witness_source,
            "log_keys": list(self.log_keys),
            "counts": self.counts(),
            "failures": [f.to_dict() for f in self.failures],
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass(frozen=True)
class Finding:
    """A privacy finding that does not fail verification (the records are authentic, and a
    published record cannot be withdrawn), named by its rule code: e.g. ``ballot.secret_linkable``
    on a secret poll whose ``ballot.secret`` records carry their channel."""

    index: int
    type: str
    rule: str
    reason: str

    def describe(self) -> str:
        """One human-readable line: ``record 17 (poll.tally): ballot.secret_linkable: …``."""
        return f"record {self.index} ({self.type}): {self.rule}: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"index": self.index, "type": self.type, "rule": self.rule,
                "reason": self.reason}


class VerificationFailed(Exception):
    """The export did not verify; ``report`` holds every failure."""

    def __init__(self, report: Report) -> None:
        """Keep the report; the message names the first failure and the count."""
        first = report.failures[0].describe() if report.failures else "no failure"
        super().__init__(f"{len(report.failures)} verification failure(s); first: {first}")
        self.report = report


def utc_time(timestamp: int) -> str:
    """A POSIX timestamp as ``YYYY-MM-DDTHH:MM:SSZ`` (or the number if out of range)."""
    try:
        return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return str(timestamp)


def exit_code_for(failures: Iterable[Failure]) -> int:
    """The exit code for a set of failures (smallest code among their kinds; 0 if none)."""
    return min((EXIT_CODES[f.kind] for f in failures), default=EXIT_OK)


def summarise(counts: Mapping[str, int]) -> str:
    """``signature 1, chain 2`` (kinds with failures only)."""
    return ", ".join(f"{kind} {n}" for kind, n in counts.items() if n) or "none"


def _rule_text(refusal: DomainError) -> str:
    return f"[{refusal.rule}]"


def _refusal(exc: DomainError, number: str, state: MatterState, action: Action, person: int,
             day: dt.date, roles: frozenset[Role]) -> str:
    """An English reason for a refusal by the procedure engine (the rule code included)."""
    rule = exc.rule
    if rule == "procedure.closed":
        text = f"matter {number} is {state.value} (closed); {action.value} is not possible"
    elif rule == "procedure.step_order":
        awaiting = state.awaiting
        text = (f"matter {number} is {state.value}"
                + (f" and awaits {awaiting.value}" if awaiting else "")
                + f"; {action.value} is out of order")
    elif rule == "procedure.role":
        allowed = TRANSITIONS_BY_ACTION[action].roles
        text = (f"person {person} holds {_names(roles)} on {day} (China time); "
                f"{action.value} needs one of {_names(allowed)}")
    elif rule == "procedure.merge_propose_discuss":
        if isinstance(exc, SettingDisabled):
            text = ("propose_and_discuss (一肩挑) is used but the township setting "
                    "merge_propose_discuss is off")
        else:
            text = (f"propose_and_discuss needs a party secretary who is also committee "
                    f"director; person {person} holds {_names(roles)}")
    else:
        label = exc.params.get("field")
        field_name = _FIELD_NAMES.get(str(label), str(label)) if label is not None else None
        text = (f"the fields of {action.value} are refused"
                + (f" (field {field_name})" if field_name else "")
                + f": {exc.render(_identity)}")
    return f"{text} [{rule}]"


def _identity(text: str) -> str:
    return text


def _names(roles: Iterable[Role]) -> str:
    names = sorted(r.value for r in roles)
    return ", ".join(names) if names else "no role"


def _sig_name(sig: NoteSignature) -> str:
    return f"{sig.name}+{sig.key_id:08x}"


def _json(value: object) -> str:
    """A JSON value as the record or statement shows it, cut short for a failure's reason."""
    try:
        text = canonical_json(value).decode("utf-8")
    except ValueError:
        text = repr(value)
    return text if len(text) <= 70 else text[:67] + "..."


def _utc(moment: dt.datetime) -> str:
    """A time as the ledger writes it: ``YYYY-MM-DDTHH:MM:SSZ`` (UTC)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _numbers(numbers: Iterable[int]) -> str:
    """``1, 3`` (sorted)."""
    return ", ".join(str(n) for n in sorted(numbers))


def _counts(counter: Mapping[str, int]) -> str:
    return ", ".join(f"{key} {n}" for key, n in sorted(counter.items()) if n) or "none"


def _text(value: object) -> str:
    """A JSON value as the record shows it (``true``, not ``True``)."""
    return canonical_json(value).decode("utf-8") if isinstance(value, bool) else str(value)


