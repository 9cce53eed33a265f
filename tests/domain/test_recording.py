"""The recording's rules (domain/recording.py), with no database: who may use a recording for
what, which chunk is taken, which refusals are recorded, when a gap is, how a download's files
are compared with the ledger, and the retention."""

from __future__ import annotations

import datetime as dt

import pytest

from sunvote.domain.recording import (
    CHUNK_SECONDS,
    GENESIS,
    MAX_BYTES_PER_SECOND,
    MAX_RECORDED_REFUSALS,
    RATE_SLACK_BYTES,
    RATE_SLACK_CHUNKS,
    ChainTail,
    ChunkOffer,
    RecordingUse,
    chunk_refusal,
    gap_before,
    is_retry,
    purge_refusal,
    recording_access_refusal,
    recording_problems,
    refusal_to_record,
)
from sunvote.domain.roles import Role

T = dt.datetime(2026, 12, 6, 8, 0, tzinfo=dt.UTC)
A, B, C = "a" * 64, "b" * 64, "c" * 64


def offer(seq: int = 1, prev: str = A, sha: str = B, **kw: object) -> ChunkOffer:
    fields: dict[str, object] = {"seq": seq, "prev": prev, "sha256": sha, "actual_sha256": sha,
                                 "size": 100, "content_type": "video/webm;codecs=vp8,opus",
                                 "first": False, **kw}
    return ChunkOffer(**fields)  # type: ignore[arg-type]


TAIL = ChainTail(1, A, T)


@pytest.mark.parametrize(("meeting_open", "tail", "chunk", "rule"), [
    (True, TAIL, offer(), None),
    (False, TAIL, offer(), "recording.meeting_state"),
    (True, ChainTail(1, A, T, ended=True), offer(), "recording.meeting_state"),
    (True, TAIL, offer(content_type="text/html"), "recording.content_type"),
    (True, TAIL, offer(size=0), "recording.size"),
    (True, TAIL, offer(size=9 * 1024 * 1024), "recording.size"),
    (True, TAIL, offer(actual_sha256=C), "recording.hash"),
    (True, TAIL, offer(sha="B" * 64, actual_sha256="B" * 64), "recording.hash"),
    (True, TAIL, offer(seq=0), "recording.duplicate"),
    (True, TAIL, offer(seq=2), "recording.order"),
    (True, TAIL, offer(prev=GENESIS), "recording.chain"),
    (True, ChainTail(), offer(seq=0, prev=GENESIS), None),
])
def test_which_chunk_is_taken(meeting_open: bool, tail: ChainTail, chunk: ChunkOffer,
                              rule: str | None) -> None:
    refusal = chunk_refusal(meeting_open, tail, chunk)
    assert (refusal.rule if refusal else None) == rule


def test_chunks_cannot_come_faster_than_they_are_recorded() -> None:
    """recording.rate: since the meeting opened, RATE_SLACK_CHUNKS chunks plus two per
    CHUNK_SECONDS, and RATE_SLACK_BYTES plus MAX_BYTES_PER_SECOND a second."""
    def rule(seq: int, seconds: float, size: int = 100, taken: int = 0) -> str | None:
        tail = ChainTail(seq, A if seq else GENESIS, T, bytes=taken, since=T)
        chunk = offer(seq=seq, prev=A if seq else GENESIS, size=size)
        refusal = chunk_refusal(True, tail, chunk, T + dt.timedelta(seconds=seconds))
        return refusal.rule if refusal else None

    last = RATE_SLACK_CHUNKS - 1
    assert rule(last, 0) is None and rule(last + 1, 0) == "recording.rate"
    assert rule(last + 2, CHUNK_SECONDS) is None
    assert rule(last + 3, CHUNK_SECONDS) == "recording.rate"
    hour = 3600
    assert rule(700, hour) is None  # a whole hour of 5 s chunks, sent late in a burst: taken
    assert rule(last + 2 * hour // CHUNK_SECONDS + 1, hour) == "recording.rate"
    budget = RATE_SLACK_BYTES + MAX_BYTES_PER_SECOND * 60
    assert rule(1, 60, size=1000, taken=budget - 1000) is None
    assert rule(1, 60, size=1001, taken=budget - 1000) == "recording.rate"
    # without a clock (a caller that does not know when the meeting opened) nothing is refused
    assert chunk_refusal(True, ChainTail(50, A, T), offer(seq=50), None) is None
    refusal = chunk_refusal(True, ChainTail(50, A, T, since=T), offer(seq=50), T)
    assert refusal is not None and refusal.status == 429
    assert refusal_to_record(refusal, 0, already=False)


def test_a_retry_is_the_same_bytes_and_a_gap_is_a_new_run_or_a_silence() -> None:
    assert is_retry(B, offer())
    assert not is_retry(C, offer()) and not is_retry(None, offer())
    assert not gap_before(ChainTail(), offer(seq=0, first=True), T)  # the very first chunk
    assert gap_before(TAIL, offer(first=True), T + dt.timedelta(seconds=5))
    assert not gap_before(TAIL, offer(), T + dt.timedelta(seconds=15))
    assert gap_before(TAIL, offer(), T + dt.timedelta(seconds=16))


def test_refusals_recorded_are_the_chains_each_once_and_capped() -> None:
    order = chunk_refusal(True, TAIL, offer(seq=5))
    size = chunk_refusal(True, TAIL, offer(size=0))
    assert order is not None and size is not None
    assert refusal_to_record(order, 0, already=False)
    assert not refusal_to_record(order, 0, already=True)
    assert not refusal_to_record(order, MAX_RECORDED_REFUSALS, already=False)
    assert not refusal_to_record(size, 0, already=False)


@pytest.mark.parametrize(("files", "found"), [
    ({0: A, 1: B, 2: C}, []),
    ({0: A, 2: C}, ["chunk 1: missing"]),
    ({0: A, 1: "d" * 64, 2: C}, ["chunk 1: altered"]),
    ({0: A, 1: C, 2: B}, ["chunk 1: reordered (holds chunk 2)",
                          "chunk 2: reordered (holds chunk 1)"]),
    ({0: A, 1: B, 2: C, 3: A}, ["chunk 3: extra"]),
    ({}, ["chunk 0: missing", "chunk 1: missing", "chunk 2: missing"]),
])
def test_a_download_is_compared_with_the_ledger_chunk_by_chunk(files: dict[int, str],
                                                              found: list[str]) -> None:
    assert [str(p) for p in recording_problems([A, B, C], files)] == found


ROLES = {
    "clerk": {Role.CLERK}, "director": {Role.COMMITTEE_DIRECTOR},
    "supervisor": {Role.SUPERVISOR}, "chair": {Role.SUPERVISOR_CHAIR},
    "reviewer": {Role.TOWNSHIP_REVIEWER}, "township": {Role.TOWNSHIP_ADMIN},
    "rep": {Role.REPRESENTATIVE}, "secretary": {Role.PARTY_SECRETARY},
}


@pytest.mark.parametrize(("use", "meeting_open", "allowed"), [
    (RecordingUse.RECORD, True, {"clerk", "director"}),
    (RecordingUse.WATCH_LIVE, True, {"supervisor", "chair", "reviewer", "township"}),
    (RecordingUse.PLAY, False, {"supervisor", "chair", "reviewer", "township"}),
    (RecordingUse.DOWNLOAD, False, {"supervisor", "chair", "reviewer", "township"}),
    (RecordingUse.PURGE, False, {"township"}),
])
def test_who_may_use_a_recording(use: str, meeting_open: bool, allowed: set[str]) -> None:
    may = {name for name, roles in ROLES.items()
           if recording_access_refusal(frozenset(roles), use, meeting_open=meeting_open) is None}
    assert may == allowed


def test_play_and_download_wait_for_the_close_and_end_with_the_purge() -> None:
    supervisor = frozenset({Role.SUPERVISOR})
    for use in (RecordingUse.PLAY, RecordingUse.DOWNLOAD):
        live = recording_access_refusal(supervisor, use, meeting_open=True)
        gone = recording_access_refusal(supervisor, use, meeting_open=False, purged=True)
        assert live is not None and live.rule == "recording.access"
        assert gone is not None and gone.rule == "recording.purged"
    after = recording_access_refusal(supervisor, RecordingUse.WATCH_LIVE, meeting_open=False)
    assert after is not None and after.status == 409


def test_a_recording_is_purged_once_after_its_retention() -> None:
    closed = T
    early = purge_refusal(closed, 30, closed + dt.timedelta(days=29, hours=23), False)
    assert early is not None and early.rule == "recording.retention"
    assert purge_refusal(closed, 30, closed + dt.timedelta(days=30), False) is None
    again = purge_refusal(closed, 30, closed + dt.timedelta(days=31), True)
    assert again is not None and again.rule == "recording.purged"
    never = purge_refusal(None, 30, closed + dt.timedelta(days=400), False)
    assert never is not None  # not closed: never due
