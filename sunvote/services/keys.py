"""Ledger and witness keys: created, encrypted at rest, and loaded for signing."""

from __future__ import annotations

import os

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from flask import current_app

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


# Decrypted keys, by their verifier-key string: scrypt is deliberately slow, so each process
# derives a key once. Nothing here is written anywhere.
_SIGNERS: dict[str, LogSigner] = {}
_COSIGNERS: dict[str, Cosigner] = {}


def _wrapping_key(salt: bytes) -> bytes:
    passphrase = str(current_app.config["LEDGER_PASSPHRASE"]).encode("utf-8")
    return Scrypt(salt=salt, length=32, n=2**14, r=8, p=1).derive(passphrase)


def seal(seed: bytes, label: str) -> tuple[bytes, bytes]:
    """Encrypt a private seed: returns (salt, nonce ‖ ciphertext). ``label`` (the key's name) is
    bound as associated data, so a sealed seed cannot be moved to another key's row."""
    salt = os.urandom(16)
    nonce = os.urandom(12)
    return salt, nonce + AESGCM(_wrapping_key(salt)).encrypt(nonce, seed, label.encode())


def unseal(salt: bytes, sealed: bytes, label: str) -> bytes:
    """Decrypt a sealed seed (raises cryptography's InvalidTag with a wrong passphrase)."""
    return AESGCM(_wrapping_key(salt)).decrypt(sealed[:12], sealed[12:], label.encode())


def new_log_signer(origin: str) -> tuple[LogSigner, bytes, bytes]:
    """A fresh log key for ``origin``: (signer, salt, sealed seed)."""
    seed_signer = generate_signer(origin)
    signer = LogSigner(seed_signer)
    salt, sealed = seal(seed_signer.seed, signer.vkey)
    _SIGNERS[signer.vkey] = signer
    return signer, salt, sealed


def log_signer(vkey: str, salt: bytes, sealed: bytes) -> LogSigner:
    """The signer of a stored log key."""
    signer = _SIGNERS.get(vkey)
    if signer is None:
        name = vkey.split("+", 1)[0]
        signer = LogSigner(Signer(name, unseal(salt, sealed, vkey)))
        if signer.vkey != vkey:
            raise ValueError("stored log key does not match its verifier key")
        _SIGNERS[vkey] = signer
    return signer


def new_cosigner(name: str) -> tuple[Cosigner, bytes, bytes]:
    """A fresh witness key: (cosigner, salt, sealed seed)."""
    cosigner = generate_cosigner(name)
    vkey = cosigner.verifier().vkey
    salt, sealed = seal(cosigner.seed, vkey)
    _COSIGNERS[vkey] = cosigner
    return cosigner, salt, sealed


def cosigner(vkey: str, salt: bytes, sealed: bytes) -> Cosigner:
    """The cosigner of a stored witness key."""
    found = _COSIGNERS.get(vkey)
    if found is None:
        name = vkey.split("+", 1)[0]
        found = Cosigner(name, unseal(salt, sealed, vkey))
        if found.verifier().vkey != vkey:
            raise ValueError("stored witness key does not match its verifier key")
        _COSIGNERS[vkey] = found
    return found
