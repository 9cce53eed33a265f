"""Ledger and witness keys: created, encrypted at rest, and loaded for signing."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from flask import Flask, current_app
from sqlalchemy import inspect, select
from sqlalchemy.exc import SQLAlchemyError

from sunvote.domain.errors import N_, DomainError
from sunvote.domain.keyfiles import locked_keys, missing_passphrase
from sunvote.domain.ledger.checkpoint import Cosigner, generate_cosigner
from sunvote.domain.ledger.note import Signer, generate_signer


class LogSigner:
    """A log key ready to sign notes: the private key object and key id derived once (a plain
    note.Signer re-derives the public key on every signature)."""

    def __init__(self, signer: Signer) -> None:
        self.name = signer.name
        self.key_id = signer.key_id
        self.vkey = signer.verifier().vkey
        self._private = Ed25519PrivateKey.from_private_bytes(signer.seed)

    def sign(self, message: bytes) -> bytes:
        """The Ed25519 signature of ``message``."""
        return self._private.sign(message)


# Decrypted keys, by their verifier-key string and the passphrase that opened them: scrypt is
# deliberately slow, so each process derives a key once; an app with another passphrase (a
# restore without its passphrase file) must not sign with a key opened by an earlier one.
# Nothing here is written anywhere.
_SIGNERS: dict[tuple[str, str], LogSigner] = {}
_COSIGNERS: dict[tuple[str, str], Cosigner] = {}


def _passphrase() -> str:
    return str(current_app.config["LEDGER_PASSPHRASE"])


def _wrapping_key(salt: bytes) -> bytes:
    passphrase = _passphrase().encode("utf-8")
    return Scrypt(salt=salt, length=32, n=2**14, r=8, p=1).derive(passphrase)


def seal(seed: bytes, label: str) -> tuple[bytes, bytes]:
    """Encrypt a private seed: returns (salt, nonce ‖ ciphertext). ``label`` (the key's name) is
    bound as associated data, so a sealed seed cannot be moved to another key's row."""
    salt = os.urandom(16)
    nonce = os.urandom(12)
    return salt, nonce + AESGCM(_wrapping_key(salt)).encrypt(nonce, seed, label.encode())


def unseal(salt: bytes, sealed: bytes, label: str) -> bytes:
    """Decrypt a sealed seed; with a wrong passphrase, raises the keys.passphrase_wrong refusal
    (HTTP 503 on a page) instead of cryptography's InvalidTag (a 500 on every write)."""
    try:
        return AESGCM(_wrapping_key(salt)).decrypt(sealed[:12], sealed[12:], label.encode())
    except InvalidTag:
        refusal = locked_keys(False)
        assert refusal is not None
        raise refusal from None


def new_log_signer(origin: str) -> tuple[LogSigner, bytes, bytes]:
    """A fresh log key for ``origin``: (signer, salt, sealed seed)."""
    seed_signer = generate_signer(origin)
    signer = LogSigner(seed_signer)
    salt, sealed = seal(seed_signer.seed, signer.vkey)
    _SIGNERS[signer.vkey, _passphrase()] = signer
    return signer, salt, sealed


def log_signer(vkey: str, salt: bytes, sealed: bytes) -> LogSigner:
    """The signer of a stored log key."""
    signer = _SIGNERS.get((vkey, _passphrase()))
    if signer is None:
        name = vkey.split("+", 1)[0]
        signer = LogSigner(Signer(name, unseal(salt, sealed, vkey)))
        if signer.vkey != vkey:
            raise ValueError("stored log key does not match its verifier key")
        _SIGNERS[vkey, _passphrase()] = signer
    return signer


def new_cosigner(name: str) -> tuple[Cosigner, bytes, bytes]:
    """A fresh witness key: (cosigner, salt, sealed seed)."""
    cosigner = generate_cosigner(name)
    vkey = cosigner.verifier().vkey
    salt, sealed = seal(cosigner.seed, vkey)
    _COSIGNERS[vkey, _passphrase()] = cosigner
    return cosigner, salt, sealed


def cosigner(vkey: str, salt: bytes, sealed: bytes) -> Cosigner:
    """The cosigner of a stored witness key."""
    found = _COSIGNERS.get((vkey, _passphrase()))
    if found is None:
        name = vkey.split("+", 1)[0]
        found = Cosigner(name, unseal(salt, sealed, vkey))
        if found.verifier().vkey != vkey:
            raise ValueError("stored witness key does not match its verifier key")
        _COSIGNERS[vkey, _passphrase()] = found
    return found


def open_passphrase(app: Flask) -> None:
    """At start-up: make sure the ledger passphrase can be used, before anything is signed.

    Neither SUNVOTE_LEDGER_PASSPHRASE nor instance/ledger_passphrase: generated on a fresh
    database, refused (StartupRefused) once the database holds sealed keys. Given: one stored
    key is opened with it, and if that fails the app still starts (pages and exports read
    fine) with ``LEDGER_KEYS_LOCKED`` set to the refusal's text and the reason logged; every
    write is then refused with keys.passphrase_wrong (503).
    """
    from sunvote.config import StartupRefused, instance_secret, refusal_text
    from sunvote.extensions import db

    with app.app_context():
        try:
            sealed = _a_sealed_key(db)
        except SQLAlchemyError as error:
            if app.config.get("LEDGER_PASSPHRASE") is not None:
                return  # the database is not up yet: the first write will say so if need be
            raise StartupRefused(DomainError(
                "keys.passphrase_missing", N_("无法检查数据库中是否已有账本密钥：%(error)s"),
                error=str(error).splitlines()[0])) from None
        if app.config.get("LEDGER_PASSPHRASE") is None:
            where = str(app.config.get("LEDGER_PASSPHRASE_FILE") or "ledger_passphrase")
            refusal = missing_passphrase(where, sealed is not None)
            if refusal is not None:
                raise StartupRefused(refusal)
            path = Path(where)
            app.config["LEDGER_PASSPHRASE"] = instance_secret(path.parent, path.name)
            return
        if sealed is None:
            return
        vkey, salt, seed, is_log_key = sealed
        try:
            log_signer(vkey, salt, seed) if is_log_key else cosigner(vkey, salt, seed)
        except DomainError as refusal:
            app.config["LEDGER_KEYS_LOCKED"] = refusal_text(refusal)
            app.logger.error("%s", app.config["LEDGER_KEYS_LOCKED"])


def _a_sealed_key(db: Any) -> tuple[str, bytes, bytes, bool] | None:
    """The newest stored log key (else witness key), or None on a database without any (or
    without the tables yet: before `sunvote init-db`)."""
    from sunvote.models import LedgerKey, WitnessKey

    session = db.session
    try:
        tables = inspect(session.get_bind())
        if not tables.has_table(LedgerKey.__tablename__):
            return None
        for model, is_log_key in ((LedgerKey, True), (WitnessKey, False)):
            row = session.execute(select(model.vkey, model.salt, model.encrypted_seed)
                                  .order_by(model.id.desc()).limit(1)).first()
            if row is not None:
                return row[0], row[1], row[2], is_log_key
        return None
    finally:
        session.remove()
        db.engine.dispose()  # no connection opened here outlives start-up (or a fork after it)
