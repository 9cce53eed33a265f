"""The rules on the instance's two secrets: the session key and the ledger passphrase that seals
the ledger's private keys. Pure: the callers say where a secret came from and what they found."""

from __future__ import annotations

from sunvote.domain.errors import N_, DomainError, Unavailable


def empty_secret(where: str, value: str | None) -> DomainError | None:
    """An empty (or blank) secret is refused: an empty passphrase would seal the ledger's keys
    under nothing, an empty session key would let anyone forge sessions. ``value`` None means
    the secret was not given at all, which is not this rule's business."""
    if value is not None and not value.strip():
        return DomainError("keys.secret_empty",
                           N_("%(where)s 为空：密钥和账本口令不得为空，请放回原文件或删除空文件"),
                           where=where)
    return None


def missing_passphrase(where: str, sealed_keys: bool) -> DomainError | None:
    """A missing passphrase may be generated only on a fresh instance. Once the database holds
    sealed keys, a new passphrase would open none of them (and hide that the old one is lost)."""
    if sealed_keys:
        return DomainError("keys.passphrase_missing",
                           N_("找不到账本口令（%(where)s），而数据库中已有加密的账本密钥：不会生成新口令；"
                              "请放回原口令文件或设置SUNVOTE_LEDGER_PASSPHRASE"),
                           where=where)
    return None


def locked_keys(opened: bool) -> Unavailable | None:
    """The ledger's keys cannot be opened with this instance's passphrase (e.g. a database
    restored without its passphrase file): nothing can be signed, so every write is refused
    until the right passphrase is back or the keys are rotated."""
    if not opened:
        return Unavailable("keys.passphrase_wrong",
                           N_("账本口令打不开数据库中的账本密钥（恢复备份时可能没有带上口令文件），"
                              "暂时不能写入；请放回原口令后重启，或轮换密钥"))
    return None
