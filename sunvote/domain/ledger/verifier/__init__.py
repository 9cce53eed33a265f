"""Offline, streaming verifier of a village ledger export (docs/ledger-format.md).

One module per part, each feature's checks the offline twin of its service, calling the same
domain rule functions: ``reading`` (records lines prepared, in workers too), ``report``
(failures, findings, exit codes), ``state`` (what is kept per log, and the checks every feature
shares), ``core`` (:class:`LogVerifier`: the record loop, key chain, checkpoint, and each record
type's handler) and the features ``register``, ``matters``, ``assembly`` (meetings),
``polls``, ``cloud`` and ``supervision`` (step 6).
"""

from __future__ import annotations

from sunvote.domain.ledger.verifier.core import LogVerifier, Progress, verify_export
from sunvote.domain.ledger.verifier.reading import (
    DEFAULT_CHUNK_SIZE,
    MAX_LINE_BYTES,
    Candidate,
    Line,
    ParsedRecord,
    Prepared,
    prepare_chunk,
    prepare_line,
    prepare_lines,
    prepare_record,
    read_record_lines,
    signature_valid,
)
from sunvote.domain.ledger.verifier.report import (
    EXIT_CODES,
    EXIT_OK,
    EXIT_USAGE,
    KINDS,
    Failure,
    Finding,
    Kind,
    Report,
    VerificationFailed,
    exit_code_for,
    summarise,
    utc_time,
)
from sunvote.domain.ledger.verifier.state import DENSE_SUGGESTION_IDS, _SuggestionIds

__all__ = [
    "DEFAULT_CHUNK_SIZE", "DENSE_SUGGESTION_IDS", "EXIT_CODES", "EXIT_OK", "EXIT_USAGE", "KINDS",
    "MAX_LINE_BYTES", "Candidate", "Failure", "Finding", "Kind", "Line", "LogVerifier",
    "ParsedRecord", "Prepared", "Progress", "Report", "VerificationFailed", "_SuggestionIds",
    "exit_code_for", "prepare_chunk", "prepare_line", "prepare_lines", "prepare_record",
    "read_record_lines", "signature_valid", "summarise", "utc_time", "verify_export",
]
