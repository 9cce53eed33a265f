"""Reads of the recording pages: a meeting's recording, its chunks, runs, gaps and refusals."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from sunvote.domain.ledger.records import parse_record
from sunvote.extensions import db
from sunvote.models import LedgerRecord, Meeting, Recording
from sunvote.services import recording as service


def recording_of(meeting: Meeting) -> Recording | None:
    return service.recording_of(meeting)


def tail_of(meeting: Meeting) -> dict[str, Any]:
    return service.tail_of(meeting)


def _moment(text: str) -> dt.datetime | None:
    """A record's UTC time text as an aware datetime (shown in China time by ``|time``)."""
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def overview(meeting: Meeting, recording: Recording) -> dict[str, Any]:
    """The page's data: the runs (each a playable file) with their chunks, the gaps and refused
    uploads the ledger holds for this meeting."""
    runs = service.runs(recording)
    events = db.session.execute(select(LedgerRecord.seq, LedgerRecord.type, LedgerRecord.data)
                                .where(LedgerRecord.village_id == recording.village_id,
                                       LedgerRecord.type.in_(("recording.gap",
                                                              "recording.refused")))
                                .order_by(LedgerRecord.seq)).all()
    gaps: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []
    for _seq, type_, data in events:
        body = parse_record(data).body
        if body["meeting"] != meeting.number:
            continue
        entry = dict(body)
        entry.update({key + "_time": _moment(entry[key]) for key in ("at", "since")
                      if key in entry})
        (gaps if type_ == "recording.gap" else refused).append(entry)
    return {"runs": runs, "gaps": gaps, "refused": refused,
            "chunks": sum(len(r) for r in runs)}

