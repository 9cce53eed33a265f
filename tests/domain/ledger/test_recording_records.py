"""The hall's recording in the ledger (issue 19): a meeting's chunks verify as a hash chain taken
while it was open, with their gaps, refusals, end and purge; a chunk out of order, off the chain,
after the close or after a silence without its gap fails, naming the rule; so does a purge before
the retention, and a refusal the rule would not have made."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pytest

from sunvote.domain.recording import GENESIS
from tests.domain.ledger.logbuilder import LogBuilder, filed_matter, people, representatives
from tests.domain.ledger.test_assembly_records import assert_fails, assert_ok, verify

M1 = "2026-001"
CLERK = {"person": 1, "name": "王芳", "role": "clerk"}


def sha(n: int) -> str:
    return hashlib.sha256(f"chunk {n}".encode()).hexdigest()


def opened() -> LogBuilder:
    b = LogBuilder()
    b.init()
    people(b)
    representatives(b, 6)
    filed_matter(b, M1)
    b.convene([M1])
    b.open_meeting()
    b.tick = dt.timedelta(seconds=5)  # one chunk every 5 seconds
    return b


def chunk(b: LogBuilder, n: int, **override: Any) -> bytes:
    body = {"meeting": 1, "seq": n, "sha256": sha(n),
            "prev": GENESIS if n == 0 else sha(n - 1), "bytes": 1000, "type": "video/webm",
            "first": n == 0, **CLERK, "at": b.at()}
    return b.append("recording.chunk", {**body, **override})


def gap(b: LogBuilder, seq: int, since: str, lost: bool = False) -> bytes:
    return b.append("recording.gap", {"meeting": 1, "seq": seq, "since": since, "lost": lost,
                                      "at": b.at()})


def end(b: LogBuilder, chunks: int, **override: Any) -> bytes:
    body = {"meeting": 1, "chunks": chunks, "sha256": sha(chunks - 1) if chunks else GENESIS,
            "bytes": 1000 * chunks, "at": b.at()}
    return b.append("recording.end", {**body, **override})


def recorded(chunks: int = 3) -> LogBuilder:
    b = opened()
    for n in range(chunks):
        chunk(b, n)
    return b


def test_a_recording_with_a_gap_a_refusal_an_end_and_a_purge_verifies() -> None:
    b = recorded(2)
    last = b.clock - b.tick
    b.append("recording.refused", {"meeting": 1, "seq": 7, "sha256": sha(7), "bytes": 10,
                                   "rule": "recording.order", **CLERK, "at": b.at()})
    b.wait(minutes=2)  # off the network
    gap(b, 2, last.strftime("%Y-%m-%dT%H:%M:%SZ"))
    chunk(b, 2)
    gap(b, 3, (b.clock - b.tick).strftime("%Y-%m-%dT%H:%M:%SZ"), lost=True)
    chunk(b, 3, first=True)
    b.close_meeting()
    end(b, 4)
    b.append("recording.refused", {"meeting": 1, "seq": 4, "sha256": sha(4), "bytes": 10,
                                   "rule": "recording.meeting_state", **CLERK, "at": b.at()})
    b.wait(days=366)
    b.append("recording.purge", {"meeting": 1, "chunks": 4, "bytes": 4000,
                                 "retention_days": 365, "person": 0, "name": "",
                                 "role": "system", "at": b.at()})
    assert_ok(b)


@pytest.mark.parametrize(("override", "reason"), [
    ({"seq": 4}, "recording.order: chunk 4"),
    ({"seq": 1}, "recording.duplicate: chunk 1"),
    ({"prev": sha(0)}, "recording.chain: chunk 3"),
    ({"bytes": 9 * 1024 * 1024}, "recording.size"),
    ({"type": "image/png"}, "recording.content_type"),
    ({"role": "supervisor", "person": 5, "name": "孙丽"}, "may not record the hall"),
])
def test_a_chunk_off_the_chain_or_by_someone_else_fails(override: dict[str, Any],
                                                        reason: str) -> None:
    b = recorded()
    index = b.size
    chunk(b, 3, **override)
    assert_fails(b, index, "semantics", reason)


def test_a_chunk_after_a_silence_or_a_new_run_without_its_gap_fails() -> None:
    b = recorded()
    b.wait(minutes=1)
    index = b.size
    chunk(b, 3)
    assert_fails(b, index, "semantics", "follows a break with no recording.gap")
    b = recorded()
    index = b.size
    chunk(b, 3, first=True)
    assert_fails(b, index, "semantics", "follows a break with no recording.gap")


def test_a_chunk_after_the_close_or_a_second_end_fails() -> None:
    b = recorded()
    b.close_meeting()
    end(b, 3)
    index = b.size
    chunk(b, 3)
    assert_fails(b, index, "semantics", "recording.meeting_state: chunk 3")
    b = recorded()
    b.close_meeting()
    end(b, 3)
    index = b.size
    end(b, 3)
    assert_fails(b, index, "semantics", "ends only once")


def test_an_end_that_misstates_the_chain_fails() -> None:
    b = recorded()
    b.close_meeting()
    index = b.size
    end(b, 2)  # hides the last chunk
    assert_fails(b, index, "semantics", "recording.chain: the end of meeting 1's recording")


def test_a_refusal_the_rule_would_not_make_fails() -> None:
    b = recorded()
    index = b.size
    # chunk 3 is the next one: "out of order" is not true
    b.append("recording.refused", {"meeting": 1, "seq": 3, "sha256": sha(3), "bytes": 10,
                                   "rule": "recording.order", **CLERK, "at": b.at()})
    assert_fails(b, index, "semantics", "is not refused by recording.order")


def test_a_purge_before_the_retention_or_by_a_supervisor_fails() -> None:
    b = recorded()
    b.close_meeting()
    end(b, 3)
    b.wait(days=30)
    index = b.size
    b.append("recording.purge", {"meeting": 1, "chunks": 3, "bytes": 3000,
                                 "retention_days": 365, "person": 6, "name": "周杰",
                                 "role": "township_admin", "at": b.at()})
    assert_fails(b, index, "semantics", "recording.retention")
    b = recorded()
    b.close_meeting()
    end(b, 3)
    b.wait(days=400)
    index = b.size
    b.append("recording.purge", {"meeting": 1, "chunks": 3, "bytes": 3000,
                                 "retention_days": 365, "person": 5, "name": "孙丽",
                                 "role": "supervisor", "at": b.at()})
    assert_fails(b, index, "semantics", "may not delete a recording")


def test_a_closed_meeting_whose_recording_never_ends_fails_at_the_logs_end() -> None:
    b = recorded()
    b.close_meeting()
    report = verify(b)
    assert [(f.index, f.type) for f in report.failures] == [(None, "recording.end")]
    assert "meeting 1 closed, but its recording of 3 chunk(s) has no recording.end" \
        in report.failures[0].reason
    still_open = recorded()  # a meeting still going: its recording has not ended yet
    assert verify(still_open).failures == ()
