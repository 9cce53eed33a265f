"""The hall's recording (issue 19): which chunk is taken, the hash chain of a meeting's chunks,
which refusals go into the ledger, who may watch or download, and retention. Pure: the service,
the pages and the offline verifier all ask these functions."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sunvote.domain.errors import (
    N_,
    Conflict,
    DomainError,
    InvalidInput,
    NotPermitted,
    RateLimited,
)
from sunvote.domain.roles import Role

#: The length the hall page records each chunk for (static/js/recording.js uses the same).
CHUNK_SECONDS = 5
#: The largest chunk taken: 5 s at the page's 4G caps is about 0.3 MB; a camera left at its
#: highest settings stays far below this. Anything larger is not a chunk of ours.
MAX_CHUNK_BYTES = 8 * 1024 * 1024
#: The content types of a chunk (the media type before any ``;codecs=`` parameter).
CHUNK_TYPES = frozenset({"video/webm", "audio/webm", "video/mp4"})
#: The ``prev`` of a meeting's first chunk.
GENESIS = "0" * 64
#: Without a chunk for this long, the next chunk is recorded after a ``recording.gap``: the hall
#: was off the network, its chunks were not witnessed as they were made.
GAP_SECONDS = 3 * CHUNK_SECONDS
#: At most this many refused uploads of one meeting go into the ledger (see refusal_to_record).
MAX_RECORDED_REFUSALS = 20
#: Chunks cannot come faster than a hall records them (the ``recording.rate`` rule of
#: chunk_refusal). The page makes one chunk every CHUNK_SECONDS at about 430 kbit/s
#: (static/js/recording.js); since the meeting opened, a recording may hold RATE_SLACK_CHUNKS
#: chunks plus two per CHUNK_SECONDS, and RATE_SLACK_BYTES plus MAX_BYTES_PER_SECOND (2 Mbit/s)
#: a second: room for reloads (each starts a run with a short last chunk), chunks kept offline
#: and sent in a burst, and a camera that overshoots, but not for a script that uploads valid
#: chunks as fast as it can to fill the disk and the ledger.
RATE_SLACK_CHUNKS = 12
RATE_SLACK_BYTES = MAX_CHUNK_BYTES
MAX_BYTES_PER_SECOND = 250_000

#: Rules whose refusals are recorded in the ledger (an upload for a meeting not open, out of
#: order, breaking the chain, or a second content for a chunk already taken). A refused size,
#: type or hash is a fault of transport and is only answered.
RECORDED_RULES = frozenset({"recording.meeting_state", "recording.order", "recording.chain",
                            "recording.duplicate", "recording.rate"})

_HEX64 = re.compile(r"[0-9a-f]{64}")

#: Who may do what with a meeting's recording (one rule: :func:`recording_access_refusal`).
#: Record it: the hall device, opened by those who run the meeting.
RECORDERS: frozenset[Role] = frozenset({Role.COMMITTEE_DIRECTOR, Role.COMMITTEE_MEMBER,
                                         Role.CLERK})
#: Watch it live, play it back and download it: the village's supervisory committee and the
#: township (its administrators and reviewers), who watch over the meeting from outside it.
WATCHERS: frozenset[Role] = frozenset({Role.SUPERVISOR_CHAIR, Role.SUPERVISOR,
                                       Role.TOWNSHIP_ADMIN, Role.TOWNSHIP_REVIEWER,
                                       Role.DISTRICT_ADMIN})
#: Delete it once the township's retention has passed: the township's administrators.
PURGERS: frozenset[Role] = frozenset({Role.TOWNSHIP_ADMIN, Role.DISTRICT_ADMIN})


class RecordingUse:
    """What someone may want to do with a recording."""

    RECORD = "record"
    WATCH_LIVE = "watch_live"
    PLAY = "play"
    DOWNLOAD = "download"
    PURGE = "purge"


_ALLOWED: Mapping[str, frozenset[Role]] = {
    RecordingUse.RECORD: RECORDERS,
    RecordingUse.WATCH_LIVE: WATCHERS,
    RecordingUse.PLAY: WATCHERS,
    RecordingUse.DOWNLOAD: WATCHERS,
    RecordingUse.PURGE: PURGERS,
}


def recording_access_refusal(roles: frozenset[Role], use: str, *, meeting_open: bool,
                             purged: bool = False) -> DomainError | None:
    """Whether someone holding ``roles`` may ``use`` a meeting's recording: None, or the
    refusal. Video is never public: nobody without one of these roles in the village (or above
    it) sees it. Live watching is only while the meeting is open; playing back and downloading
    only after it has closed (while it is open, the supervisors watch it live); nothing is left
    to play or download once the recording has been purged."""
    if not roles & _ALLOWED[use]:
        return NotPermitted("recording.access",
                            N_("只有村务监督委员会成员和乡镇人员可以观看和下载会场录像，"
                               "只有主持会议的人员可以录像"))
    if use == RecordingUse.WATCH_LIVE and not meeting_open:
        return Conflict("recording.access", N_("会议没有在进行，不能观看直播；会后可以回放录像"))
    if use in (RecordingUse.PLAY, RecordingUse.DOWNLOAD) and meeting_open:
        return Conflict("recording.access",
                        N_("会议结束后才能回放和下载录像；会议期间可以观看直播"))
    if use in (RecordingUse.PLAY, RecordingUse.DOWNLOAD) and purged:
        return Conflict("recording.purged", N_("录像已按保存期限删除，账本中只保留各段的指纹"))
    return None


# --- The chain ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainTail:
    """Where a meeting's recording stands: the next chunk's number, the SHA-256 (hex) of the
    last chunk taken (GENESIS before the first), when it arrived, and whether it has ended."""

    next_seq: int = 0
    last_sha256: str = GENESIS
    last_at: dt.datetime | None = None
    ended: bool = False
    bytes: int = 0  # the size of the chunks taken
    since: dt.datetime | None = None  # when the meeting opened (the ``recording.rate`` clock)


@dataclass(frozen=True)
class ChunkOffer:
    """An uploaded chunk as the hall page describes it (``seq``, ``prev``, ``sha256``,
    ``content_type``, ``first`` of a recorder's run) and what the server measured
    (``actual_sha256``, ``size``)."""

    seq: int
    prev: str
    sha256: str
    actual_sha256: str
    size: int
    content_type: str
    first: bool = False


def media_type(content_type: str) -> str:
    """``video/webm;codecs=vp8,opus`` → ``video/webm``."""
    return content_type.split(";", 1)[0].strip().lower()


def chunk_refusal(meeting_open: bool, tail: ChainTail, offer: ChunkOffer,
                  at: dt.datetime | None = None) -> DomainError | None:
    """Whether a chunk arriving ``at`` may be taken: None, or the refusal naming the first rule
    it breaks. The same rule the service applies as each chunk arrives and the verifier
    replays. ``recording.rate`` is asked when ``at`` and ``tail.since`` are known."""
    if not meeting_open or tail.ended:
        return Conflict("recording.meeting_state",
                        N_("会议没有在进行，不接收录像（会议结束后上传的录像段被拒绝并记入账本）"))
    if media_type(offer.content_type) not in CHUNK_TYPES:
        return InvalidInput("recording.content_type",
                            N_("录像段须为WebM或MP4视频（收到的类型：%(type)s）"),
                            type=offer.content_type[:60])
    if not 0 < offer.size <= MAX_CHUNK_BYTES:
        return InvalidInput("recording.size", N_("录像段须大于0且不超过%(mb)s MB"),
                            mb=MAX_CHUNK_BYTES // (1024 * 1024))
    if not _HEX64.fullmatch(offer.sha256) or offer.sha256 != offer.actual_sha256:
        return InvalidInput("recording.hash",
                            N_("录像段的SHA-256与收到的内容不符（传输中损坏），请重新上传"))
    if offer.seq < tail.next_seq:
        return Conflict("recording.duplicate",
                        N_("第%(seq)s段录像已经收到，不能换成别的内容"), seq=offer.seq)
    if offer.seq > tail.next_seq:
        return Conflict("recording.order",
                        N_("录像段顺序不对：应上传第%(want)s段，收到第%(seq)s段"),
                        want=tail.next_seq, seq=offer.seq)
    if offer.prev != tail.last_sha256:
        return Conflict("recording.chain",
                        N_("第%(seq)s段录像接不上前一段：前一段的SHA-256不符"), seq=offer.seq)
    if at is not None and tail.since is not None:
        seconds = max(0.0, (at - tail.since).total_seconds())
        if (offer.seq + 1 > RATE_SLACK_CHUNKS + 2 * seconds / CHUNK_SECONDS
                or tail.bytes + offer.size > RATE_SLACK_BYTES + MAX_BYTES_PER_SECOND * seconds):
            return RateLimited("recording.rate",
                               N_("录像段来得比录制还快（会议开始%(seconds)s秒，已收到%(chunks)s段），"
                                  "不予接收；请稍后再传"),
                               seconds=int(seconds), chunks=offer.seq)
    return None


def is_retry(stored_sha256: str | None, offer: ChunkOffer) -> bool:
    """The chunk ``offer.seq`` was taken already with these very bytes: the hall page did not
    hear the answer and sent it again. It is answered as taken, and nothing is written."""
    return stored_sha256 is not None and stored_sha256 == offer.actual_sha256


def gap_before(tail: ChainTail, offer: ChunkOffer, now: dt.datetime) -> bool:
    """Whether a ``recording.gap`` is recorded before this chunk: chunks came before, and either
    the hall page started a new recorder run (what it recorded in between is lost: a reload, a
    crash) or nothing arrived for GAP_SECONDS (the hall was off the network)."""
    if tail.next_seq == 0:
        return False
    if offer.first:
        return True
    return tail.last_at is not None and (now - tail.last_at).total_seconds() > GAP_SECONDS


def refusal_to_record(refusal: DomainError, recorded: int,
                      already: bool) -> bool:
    """Whether a refused upload goes into the ledger: refusals of RECORDED_RULES, once each
    (``already``: the same rule, chunk number and content was recorded before), and no more
    than MAX_RECORDED_REFUSALS per meeting. Only a logged-in hall device (a runner) uploads at
    all, and a page that retries a refused chunk cannot fill the ledger."""
    return (refusal.rule in RECORDED_RULES and not already
            and recorded < MAX_RECORDED_REFUSALS)


def sha256_hex(data: bytes) -> str:
    """The SHA-256 of a chunk, as hex (what the ledger records)."""
    return hashlib.sha256(data).hexdigest()


# --- Checking a downloaded recording against the ledger ------------------------------------------


@dataclass(frozen=True)
class ChunkProblem:
    """A chunk of a downloaded recording that does not match the ledger: ``seq`` names it."""

    seq: int
    problem: str  # missing | altered | reordered | extra

    def __str__(self) -> str:
        return f"chunk {self.seq}: {self.problem}"


def recording_problems(ledger_chunks: Sequence[str],
                       files: Mapping[int, str]) -> list[ChunkProblem]:
    """Compare the chunks' SHA-256 in the ledger (by chunk number) with the SHA-256 of the files
    of a download (by the number in the file's name). Each chunk that is missing, altered (its
    bytes hash to nothing the ledger holds), reordered (its bytes are another chunk's) or extra
    (no such chunk in the ledger) is named. An empty list: the recording is the one signed."""
    where = {sha: seq for seq, sha in enumerate(ledger_chunks)}
    problems: list[ChunkProblem] = []
    for seq, sha in enumerate(ledger_chunks):
        got = files.get(seq)
        if got is None:
            problems.append(ChunkProblem(seq, "missing"))
        elif got != sha:
            problems.append(ChunkProblem(seq, f"reordered (holds chunk {where[got]})"
                                         if got in where else "altered"))
    problems.extend(ChunkProblem(seq, "extra") for seq in sorted(files)
                    if not 0 <= seq < len(ledger_chunks))
    return problems


# --- Retention ---------------------------------------------------------------------------------


def purge_due(closed_at: dt.datetime | None, retention_days: int, now: dt.datetime) -> bool:
    """Whether a recording's retention has passed: its meeting closed more than
    ``retention_days`` ago (the township's setting recording_retention_days)."""
    return closed_at is not None and now >= closed_at + dt.timedelta(days=retention_days)


def purge_refusal(closed_at: dt.datetime | None, retention_days: int, now: dt.datetime,
                  purged: bool) -> DomainError | None:
    """A recording may be deleted once, and only after its retention has passed."""
    if purged:
        return Conflict("recording.purged", N_("录像已按保存期限删除，账本中只保留各段的指纹"))
    if not purge_due(closed_at, retention_days, now):
        return Conflict("recording.retention",
                        N_("录像的保存期限（会议结束后%(days)s天）未满，不能删除"),
                        days=retention_days)
    return None
