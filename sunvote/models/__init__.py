"""ORM tables only; import every model here so metadata and migrations see them all."""

from __future__ import annotations

from sunvote.models.base import Base
from sunvote.models.ledger import (
    EquivocationEvidence,
    LedgerCosigned,
    LedgerHead,
    LedgerKey,
    LedgerNode,
    LedgerRecord,
    WitnessedLog,
    WitnessHistory,
    WitnessKey,
)
from sunvote.models.matters import Attachment, Blob, Matter, StepRecord, Suggestion
from sunvote.models.people import Account, Household, Kinship, Person, RoleAssignment
from sunvote.models.places import Township, TownshipSetting, Village

__all__ = [
    "Account",
    "Attachment",
    "Base",
    "Blob",
    "EquivocationEvidence",
    "Household",
    "Kinship",
    "LedgerCosigned",
    "LedgerHead",
    "LedgerKey",
    "LedgerNode",
    "LedgerRecord",
    "Matter",
    "Person",
    "RoleAssignment",
    "StepRecord",
    "Suggestion",
    "Township",
    "TownshipSetting",
    "Village",
    "WitnessHistory",
    "WitnessKey",
    "WitnessedLog",
]
