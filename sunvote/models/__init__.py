"""ORM tables only; import every model here so metadata and migrations see them all."""

from __future__ import annotations

from sunvote.models.assembly import (
    Attendance,
    Ballot,
    Meeting,
    MeetingItem,
    MeetingMember,
    MeetingRequest,
    PaperBatch,
    Participation,
    Poll,
    Recusal,
)
from sunvote.models.base import Base
from sunvote.models.cloud import CloudEvent, Device, Enrolment, Invitation
from sunvote.models.ledger import (
    EquivocationEvidence,
    LedgerCosigned,
    LedgerHead,
    LedgerKey,
    LedgerNode,
    LedgerRecord,
    LedgerVerification,
    WitnessedLog,
    WitnessHistory,
    WitnessKey,
)
from sunvote.models.matters import Attachment, Blob, Matter, StepRecord, Suggestion
from sunvote.models.notices import Notice, NoticeAttempt
from sunvote.models.oversight import VillageFigures
from sunvote.models.people import Account, Household, Kinship, Person, RoleAssignment
from sunvote.models.places import Township, TownshipSetting, Village
from sunvote.models.recording import Recording, RecordingChunk
from sunvote.models.supervision import ImplementationUpdate, Objection, Rating
from sunvote.models.video import VideoSfuSession, VideoSignal

__all__ = [
    "Account",
    "Attachment",
    "Attendance",
    "Ballot",
    "Base",
    "Blob",
    "CloudEvent",
    "Device",
    "Enrolment",
    "EquivocationEvidence",
    "Household",
    "ImplementationUpdate",
    "Invitation",
    "Kinship",
    "LedgerCosigned",
    "LedgerHead",
    "LedgerKey",
    "LedgerNode",
    "LedgerRecord",
    "LedgerVerification",
    "Matter",
    "Meeting",
    "MeetingItem",
    "MeetingMember",
    "MeetingRequest",
    "Notice",
    "NoticeAttempt",
    "Objection",
    "PaperBatch",
    "Participation",
    "Person",
    "Poll",
    "Rating",
    "Recording",
    "RecordingChunk",
    "Recusal",
    "RoleAssignment",
    "StepRecord",
    "Suggestion",
    "Township",
    "TownshipSetting",
    "VideoSfuSession",
    "VideoSignal",
    "Village",
    "VillageFigures",
    "WitnessHistory",
    "WitnessKey",
    "WitnessedLog",
]
