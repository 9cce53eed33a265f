"""Offline checks of the hall's recording (issue 19; docs/recording.md): each meeting's chunks
form a hash chain taken only while the meeting was open, gaps are recorded as gaps, refused
uploads are ones the rule refuses, the recording ends with its meeting, and a purge comes only
after the township's retention. The twin of services/recording.py, calling the same rules
(domain/recording.py)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from sunvote.domain.assembly import MeetingState
from sunvote.domain.ledger.verifier.reading import ParsedRecord, _parse_at
from sunvote.domain.ledger.verifier.report import Failure
from sunvote.domain.ledger.verifier.state import VerifierState
from sunvote.domain.recording import (
    GENESIS,
    MAX_RECORDED_REFUSALS,
    PURGERS,
    RECORDED_RULES,
    RECORDERS,
    ChainTail,
    ChunkOffer,
    chunk_refusal,
    gap_before,
    purge_refusal,
)

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass
class _Chain:
    """One meeting's recording as the log tells it so far."""

    next_seq: int = 0
    last_sha256: str = GENESIS
    last_at: dt.datetime | None = None
    bytes: int = 0
    gap_for: int | None = None  # a recording.gap announced this chunk number
    ended_at: dt.datetime | None = None
    purged: bool = False
    refused: int = 0
    hashes: list[str] = field(default_factory=list)

    def tail(self, since: dt.datetime | None = None) -> ChainTail:
        return ChainTail(self.next_seq, self.last_sha256, self.last_at,
                         self.ended_at is not None, self.bytes, since)


class RecordingChecks(VerifierState):
    """Record types of the hall's recording: recording.chunk, .gap, .refused, .end, .purge."""

    def _chains(self) -> dict[int, _Chain]:
        """Each meeting's recording chain (made on first use: the shared state knows nothing of
        recordings)."""
        chains: dict[int, _Chain] | None = self.__dict__.get("_recording_chains")
        if chains is None:
            chains = self.__dict__["_recording_chains"] = {}
        return chains

    def recording_hashes(self, meeting: int) -> list[str]:
        """The SHA-256 of meeting ``meeting``'s chunks in order, as the log signed them (what a
        downloaded recording is compared with)."""
        chain = self._chains().get(meeting)
        return list(chain.hashes) if chain else []

    def _recording_unended(self, tail: list[Failure]) -> None:
        """At the log's end: every closed meeting with a recorded chunk has its recording.end
        (written in meeting.close's transaction, so no checkpoint falls between them)."""
        for number, chain in sorted(self._chains().items()):
            if chain.next_seq and chain.ended_at is None and number not in self._meetings \
                    and number <= self._last_meeting:
                tail.append(Failure(None, "recording.end", "semantics",
                                    f"recording.meeting_state: meeting {number} closed, but its "
                                    f"recording of {chain.next_seq} chunk(s) has no "
                                    "recording.end"))

    def _recording_meeting_open(self, number: int) -> bool:
        meeting = self._meetings.get(number)
        return meeting is not None and meeting.state is MeetingState.OPEN

    def _recording_since(self, number: int) -> dt.datetime | None:
        """When meeting ``number`` opened (the clock of the recording.rate rule)."""
        meeting = self._meetings.get(number)
        return meeting.opened_at if meeting is not None else None

    def _recording_convened(self, index: int, t: str, number: int) -> bool:
        if not 1 <= number <= self._last_meeting:
            self._fail(index, t, "semantics", f"recording: meeting {number} was never convened")
            return False
        return True

    def _recording_chunk(self, index: int, record: ParsedRecord) -> None:
        """Chunk ``seq`` is the next one, names the previous chunk's hash, is taken while its
        meeting is open (domain.recording.chunk_refusal), by a runner; a chunk that starts a
        new recorder run, or comes after a silence, has its recording.gap before it."""
        body, t = record.body, record.type
        day = self._at(index, record)
        self._actor(index, t, body, day, RECORDERS, "record the hall")
        if not self._recording_convened(index, t, body["meeting"]):
            return
        if not _SHA256_HEX.fullmatch(body["sha256"]):
            self._fail(index, t, "format", "sha256 is not 64 lowercase hex digits")
            return
        chain = self._chains().setdefault(body["meeting"], _Chain())
        offer = ChunkOffer(seq=body["seq"], prev=body["prev"], sha256=body["sha256"],
                           actual_sha256=body["sha256"], size=body["bytes"],
                           content_type=body["type"], first=body["first"])
        at = _parse_at(body["at"])
        refusal = chunk_refusal(self._recording_meeting_open(body["meeting"]),
                                chain.tail(self._recording_since(body["meeting"])), offer, at)
        if refusal is not None:
            self._fail(index, t, "semantics",
                       f"{refusal.rule}: chunk {body['seq']} of meeting {body['meeting']} "
                       f"({refusal.render(lambda s: s)[:80]})")
            return
        if at is not None and gap_before(chain.tail(), offer, at) and chain.gap_for != offer.seq:
            self._fail(index, t, "semantics",
                       f"recording.gap: chunk {offer.seq} of meeting {body['meeting']} "
                       "follows a break with no recording.gap before it")
        chain.gap_for = None
        chain.next_seq = offer.seq + 1
        chain.last_sha256 = offer.sha256
        chain.last_at = at
        chain.bytes += offer.size
        chain.hashes.append(offer.sha256)

    def _recording_gap(self, index: int, record: ParsedRecord) -> None:
        """A gap is announced for the next chunk of a recording that has chunks, while its
        meeting is open; ``since`` is the last chunk's time."""
        body, t = record.body, record.type
        self._at(index, record)
        if not self._recording_convened(index, t, body["meeting"]):
            return
        chain = self._chains().get(body["meeting"])
        if chain is None or chain.next_seq == 0 or body["seq"] != chain.next_seq:
            want = chain.next_seq if chain else 0
            self._fail(index, t, "semantics",
                       f"recording.order: a gap before chunk {body['seq']} of meeting "
                       f"{body['meeting']}, whose next chunk is {want}"
                       + ("" if want else " (no chunk before it)"))
            return
        if not self._recording_meeting_open(body["meeting"]) or chain.ended_at is not None:
            self._fail(index, t, "semantics",
                       f"recording.meeting_state: meeting {body['meeting']} is not open")
            return
        if chain.last_at is not None and _parse_at(body["since"]) != chain.last_at:
            self._fail(index, t, "semantics",
                       f"recording.gap: since {body['since']!r} is not the last chunk's time")
        chain.gap_for = body["seq"]

    def _recording_refused(self, index: int, record: ParsedRecord) -> None:
        """A refused upload is one the rule refuses, for the rule it names; at most
        MAX_RECORDED_REFUSALS a meeting; by a runner."""
        body, t = record.body, record.type
        day = self._at(index, record)
        self._actor(index, t, body, day, RECORDERS, "record the hall")
        if not self._recording_convened(index, t, body["meeting"]):
            return
        if body["rule"] not in RECORDED_RULES:
            self._fail(index, t, "semantics",
                       f"recording.refused: rule {str(body['rule'])[:40]!r} is not recorded")
            return
        chain = self._chains().setdefault(body["meeting"], _Chain())
        chain.refused += 1
        if chain.refused > MAX_RECORDED_REFUSALS:
            self._fail(index, t, "semantics",
                       f"recording.refused: more than {MAX_RECORDED_REFUSALS} refusals "
                       f"recorded for meeting {body['meeting']}")
        # the same rule, given what the log says the upload was (its prev is not kept: a chain
        # refusal is one whose number was right)
        prev = "x" if body["rule"] == "recording.chain" else chain.last_sha256
        offer = ChunkOffer(seq=body["seq"], prev=prev, sha256=body["sha256"],
                           actual_sha256=body["sha256"], size=max(1, body["bytes"]),
                           content_type="video/webm")
        refusal = chunk_refusal(self._recording_meeting_open(body["meeting"]),
                                chain.tail(self._recording_since(body["meeting"])), offer,
                                _parse_at(body["at"]))
        if refusal is None or refusal.rule != body["rule"]:
            self._fail(index, t, "semantics",
                       f"recording.refused: chunk {body['seq']} of meeting {body['meeting']} "
                       f"is not refused by {body['rule']} here "
                       f"({refusal.rule if refusal else 'it would be taken'})")

    def _recording_end(self, index: int, record: ParsedRecord) -> None:
        """The recording ends once, when its meeting has closed, with the chain's count, head
        and size."""
        body, t = record.body, record.type
        self._at(index, record)
        if not self._recording_convened(index, t, body["meeting"]):
            return
        chain = self._chains().setdefault(body["meeting"], _Chain())
        if body["meeting"] in self._meetings or chain.ended_at is not None:
            self._fail(index, t, "semantics",
                       f"recording.meeting_state: the recording of meeting {body['meeting']} "
                       "ends only once, when the meeting closes")
            return
        said = (body["chunks"], body["sha256"], body["bytes"])
        if said != (chain.next_seq, chain.last_sha256, chain.bytes):
            self._fail(index, t, "semantics",
                       f"recording.chain: the end of meeting {body['meeting']}'s recording says "
                       f"{said[0]} chunks, head {said[1][:12]}…, {said[2]} bytes; the chain has "
                       f"{chain.next_seq}, {chain.last_sha256[:12]}…, {chain.bytes}")
        chain.ended_at = _parse_at(body["at"])

    def _recording_purge(self, index: int, record: ParsedRecord) -> None:
        """A recording is deleted once, after it ended and the retention in force has passed;
        by a township administrator or the purge command (person 0, role system)."""
        body, t = record.body, record.type
        day = self._at(index, record)
        if body["role"] == "system":
            if body["person"] != 0:
                self._fail(index, t, "format", "the purge command is person 0")
        else:
            self._actor(index, t, body, day, PURGERS, "delete a recording")
        if not self._recording_convened(index, t, body["meeting"]):
            return
        chain = self._chains().get(body["meeting"])
        if chain is None or chain.ended_at is None:
            self._fail(index, t, "semantics",
                       f"recording.retention: meeting {body['meeting']}'s recording has not ended")
            return
        days = self._settings.get("recording_retention_days")
        if body["retention_days"] != days:
            self._fail(index, t, "semantics",
                       f"recording.retention: says {body['retention_days']} days; "
                       f"recording_retention_days in force is {days}")
        at = _parse_at(body["at"])
        if at is not None:
            refusal = purge_refusal(chain.ended_at, int(str(days)), at, chain.purged)
            if refusal is not None:
                self._fail(index, t, "semantics",
                           f"{refusal.rule}: meeting {body['meeting']}'s recording "
                           f"(ended {chain.ended_at:%Y-%m-%dT%H:%M:%SZ}, {days} days)")
        if (body["chunks"], body["bytes"]) != (chain.next_seq, chain.bytes):
            self._fail(index, t, "semantics",
                       f"recording.chain: the purge says {body['chunks']} chunks and "
                       f"{body['bytes']} bytes; the chain has {chain.next_seq} and {chain.bytes}")
        chain.purged = True


#: The record types checked here, and their handlers.
RECORDING_HANDLERS: dict[str, Callable[[RecordingChecks, int, ParsedRecord], None]] = {
    "recording.chunk": RecordingChecks._recording_chunk,
    "recording.gap": RecordingChecks._recording_gap,
    "recording.refused": RecordingChecks._recording_refused,
    "recording.end": RecordingChecks._recording_end,
    "recording.purge": RecordingChecks._recording_purge,
}
