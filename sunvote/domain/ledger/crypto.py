"""The signature checks the ledger needs, behind one small interface, so that the same verifier
runs on a server (``cryptography``) and in a browser under Pyodide (docs/browser-verifier.md).

Verification goes through the *backend* in force: :class:`CryptographyBackend` by default, or
whatever :func:`use_backend` installed (the browser verifier installs one that calls
``@noble/curves`` synchronously). SHA-256 is always the standard library's ``hashlib``. Signing
(log keys, witness keys) happens only on servers and stays on ``cryptography``: its functions
import it when called, so that importing this module, and the whole verifier, needs no
``cryptography`` at all.

Semantics every backend must keep (tests/vectors/signatures.json, checked against both):
Ed25519 as RFC 8032 with canonical encodings (a point or ``S`` out of range is refused), and a
public key of small order refused here, before any backend sees it (OpenSSL accepts the
identity key, noble refuses it: the rule is made here so that both say the same);
ECDSA P-256 over SHA-256 of the message, the signature as 64 bytes ``r ‖ s`` (IEEE P1363),
high ``s`` accepted (as ``cryptography`` and WebCrypto do), the key an uncompressed point.
"""

from __future__ import annotations

from typing import Any, Protocol


class CryptoBackend(Protocol):
    """What a backend provides: three checks that return a verdict and never raise."""

    name: str

    def ed25519_valid(self, public_key: bytes, signature: bytes, message: bytes) -> bool:
        """Whether ``signature`` (64 bytes) is ``public_key``'s (32 bytes) over ``message``."""
        ...

    def p256_valid(self, point: bytes, signature: bytes, message: bytes) -> bool:
        """Whether ``signature`` (r ‖ s, 64 bytes) is the ECDSA P-256 SHA-256 signature of
        ``message`` under the uncompressed ``point`` (65 bytes)."""
        ...

    def p256_point_valid(self, point: bytes) -> bool:
        """Whether ``point`` is an uncompressed point on P-256 (0x04 ‖ x ‖ y)."""
        ...


class CryptographyBackend:
    """The server's backend: pyca/cryptography (OpenSSL)."""

    name = "cryptography"

    def __init__(self) -> None:
        """Import ``cryptography`` here, not at module import (Pyodide has none)."""
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
        from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

        self._invalid = InvalidSignature
        self._ec = ec
        self._ecdsa = ec.ECDSA(hashes.SHA256())
        self._ed_key = Ed25519PublicKey.from_public_bytes
        self._dss = encode_dss_signature
        self._keys: dict[bytes, Any] = {}

    def _ed25519(self, public_key: bytes) -> Any:
        """The key object, kept: a log has few keys and a million signatures."""
        key = self._keys.get(public_key, False)
        if key is False:
            try:
                key = self._ed_key(public_key)
            except ValueError:
                key = None
            if len(self._keys) < 256:
                self._keys[public_key] = key
        return key

    def ed25519_valid(self, public_key: bytes, signature: bytes, message: bytes) -> bool:
        """See :class:`CryptoBackend`."""
        key = self._ed25519(bytes(public_key))
        if key is None or len(signature) != 64:
            return False
        try:
            key.verify(signature, message)
        except self._invalid:
            return False
        return True

    def p256_valid(self, point: bytes, signature: bytes, message: bytes) -> bool:
        """See :class:`CryptoBackend`."""
        if len(signature) != 64:
            return False
        r = int.from_bytes(signature[:32], "big")
        s = int.from_bytes(signature[32:], "big")
        try:
            public = self._ec.EllipticCurvePublicKey.from_encoded_point(self._ec.SECP256R1(),
                                                                        point)
            public.verify(self._dss(r, s), message, self._ecdsa)
        except (self._invalid, ValueError):
            return False
        return True

    def p256_point_valid(self, point: bytes) -> bool:
        """See :class:`CryptoBackend`."""
        if len(point) != 65 or point[0] != 0x04:
            return False
        try:
            self._ec.EllipticCurvePublicKey.from_encoded_point(self._ec.SECP256R1(), point)
        except ValueError:
            return False
        return True


#: Ed25519 points of small order (libsodium's list, compared with the sign bit cleared): a key
#: among them verifies signatures of any message (with S = 0), so none is a log or phone key.
_SMALL_ORDER = frozenset(bytes.fromhex(h) for h in (
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
))

_backend: CryptoBackend | None = None


def use_backend(backend: CryptoBackend | None) -> None:
    """Install ``backend`` for every later check (None: back to ``cryptography``)."""
    global _backend
    _backend = backend


def backend() -> CryptoBackend:
    """The backend in force (``cryptography`` unless :func:`use_backend` set another)."""
    global _backend
    if _backend is None:
        _backend = CryptographyBackend()
    return _backend


def ed25519_valid(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """Whether ``signature`` is a valid Ed25519 signature of ``message`` under ``public_key``."""
    if len(public_key) != 32 or len(signature) != 64:
        return False
    if public_key[:31] + bytes([public_key[31] & 0x7F]) in _SMALL_ORDER:
        return False
    return backend().ed25519_valid(public_key, signature, message)


def p256_valid(point: bytes, signature: bytes, message: bytes) -> bool:
    """Whether ``signature`` (r ‖ s) is a valid ECDSA P-256 SHA-256 signature of ``message``."""
    if len(point) != 65 or point[0] != 0x04 or len(signature) != 64:
        return False
    return backend().p256_valid(point, signature, message)


def p256_point_valid(point: bytes) -> bool:
    """Whether ``point`` is an uncompressed point on the P-256 curve."""
    return len(point) == 65 and point[0] == 0x04 and backend().p256_point_valid(point)


# ---------------------------------------------------------------- signing (servers only)


def ed25519_public_key(seed: bytes) -> bytes:
    """The raw 32-byte Ed25519 public key of a 32-byte seed."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    public = Ed25519PrivateKey.from_private_bytes(seed).public_key()
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def ed25519_sign(seed: bytes, message: bytes) -> bytes:
    """The 64-byte Ed25519 signature of ``message`` with the key of ``seed``."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.from_private_bytes(seed).sign(message)


def ed25519_new_seed() -> bytes:
    """A fresh Ed25519 seed from the OS random source."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.generate().private_bytes_raw()
