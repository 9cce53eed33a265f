"""Uploaded files: type and size checks by content, SHA-256, stored once in the database."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from flask import current_app

from sunvote.domain.errors import N_, InvalidField
from sunvote.domain.text import clean_text
from sunvote.extensions import db
from sunvote.models import Attachment, Blob, StepRecord

# Extension → (content type, magic prefixes that the content must start with; empty = text).
ALLOWED_TYPES: dict[str, tuple[str, tuple[bytes, ...]]] = {
    "pdf": ("application/pdf", (b"%PDF-",)),
    "png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    "jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",
             (b"PK\x03\x04",)),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             (b"PK\x03\x04",)),
    "doc": ("application/msword", (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)),
    "xls": ("application/vnd.ms-excel", (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)),
    "txt": ("text/plain; charset=utf-8", ()),
}

MAX_FILES_PER_STEP = 10


@dataclass(frozen=True)
class Upload:
    """A file as received: its name as given by the user and its bytes."""

    filename: str
    data: bytes


def check_upload(upload: Upload) -> tuple[str, str]:
    """Return (clean file name, content type) or refuse the file naming what is wrong."""
    name = clean_text(upload.filename.replace("\\", "/").rsplit("/", 1)[-1], N_("文件名"),
                      max_length=200)
    assert name is not None
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in ALLOWED_TYPES:
        raise InvalidField("input.invalid",
                           N_("不支持的文件类型“%(name)s”：只接受PDF、图片、Word、Excel和文本"),
                           name=name)
    limit = int(current_app.config["MAX_CONTENT_LENGTH"])
    if not upload.data:
        raise InvalidField("input.invalid", N_("文件“%(name)s”是空的"), name=name)
    if len(upload.data) > limit:
        raise InvalidField("input.invalid", N_("文件“%(name)s”太大"), name=name)
    content_type, magics = ALLOWED_TYPES[ext]
    if magics and not any(upload.data.startswith(m) for m in magics):
        raise InvalidField("input.invalid", N_("文件“%(name)s”的内容与扩展名不符"), name=name)
    if not magics:
        try:
            upload.data.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidField("input.invalid", N_("文本文件“%(name)s”必须是UTF-8编码"),
                               name=name) from None
    return name, content_type


def store_upload(upload: Upload) -> tuple[str, str, str]:
    """Check ``upload`` and store its bytes as a blob, once per SHA-256 (in the caller's
    transaction); return (clean file name, content type, SHA-256 hex)."""
    name, content_type = check_upload(upload)
    digest = hashlib.sha256(upload.data).hexdigest()
    if db.session.get(Blob, digest) is None:
        db.session.add(Blob(sha256=digest, size=len(upload.data), data=upload.data))
        db.session.flush()  # rows that refer to it have no relationship ordering the inserts
    return name, content_type, digest


def attach(record: StepRecord, uploads: list[Upload]) -> list[Attachment]:
    """Check and store ``uploads`` and attach them to ``record`` (in the caller's transaction)."""
    if len(uploads) > MAX_FILES_PER_STEP:
        raise InvalidField("input.invalid", N_("每个步骤最多上传%(n)s个文件"), n=MAX_FILES_PER_STEP)
    attachments = []
    for upload in uploads:
        name, content_type, digest = store_upload(upload)
        attachment = Attachment(filename=name, content_type=content_type, size=len(upload.data),
                                sha256=digest)
        record.attachments.append(attachment)
        attachments.append(attachment)
    return attachments
