"""The demo's HTTPS: this machine's LAN address and a self-signed certificate for it, so that a
phone on the same network can open the demo in a secure context (cloud voting's WebCrypto keys
need one). For trying SunVote only: production sits behind a real certificate (operations.md)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CERT_FILE = "demo-https-cert.pem"
KEY_FILE = "demo-https-key.pem"
#: How long a demo certificate is valid; a new one is made when it has less than a day left.
VALIDITY = dt.timedelta(days=90)

_WILDCARDS = ("", "0.0.0.0", "::")


def lan_address() -> str:
    """This machine's address on the local network: the one its route to the outside leaves
    from (a UDP "connection" sends nothing), or 127.0.0.1 when there is no network."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: never reached, only routed
            return str(probe.getsockname()[0])
        except OSError:
            return "127.0.0.1"


def advertised_host(host: str) -> str:
    """The address to put in links and QR codes for a server bound to ``host``: the LAN address
    when it listens on every interface, else ``host`` itself."""
    return lan_address() if host in _WILDCARDS else host


def base_url(scheme: str, host: str, port: int) -> str:
    """``scheme://host:port`` (an IPv6 address in brackets)."""
    return f"{scheme}://{f'[{host}]' if ':' in host else host}:{port}"


def demo_certificate(folder: Path, host: str, now: dt.datetime | None = None
                     ) -> tuple[Path, Path]:
    """The demo's certificate and key files in ``folder`` (the instance folder), for ``host``
    and localhost: kept while they still cover ``host`` and are valid for another day (a phone
    that accepted the certificate once is not asked again), else made anew. The key is a new
    P-256 key, written with mode 0600. Returns (certificate, key)."""
    now = now or dt.datetime.now(dt.UTC)
    cert_path, key_path = folder / CERT_FILE, folder / KEY_FILE
    names = _names(host)
    if cert_path.exists() and key_path.exists() and _still_good(cert_path, names, now):
        return cert_path, key_path
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"SunVote demo {host}")])
    cert = (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.OID_SERVER_AUTH]), critical=False)
            .sign(key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    key_bytes = key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
    key_path.unlink(missing_ok=True)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key_bytes)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def _names(host: str) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.DNSName("localhost"),
                                     x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        extra: x509.GeneralName = x509.DNSName(host)
    else:
        extra = x509.IPAddress(address)
    if extra not in names:
        names.append(extra)
    return names


def _still_good(cert_path: Path, names: list[x509.GeneralName], now: dt.datetime) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        covered = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound):
        return False
    return (all(name in covered for name in names)
            and cert.not_valid_after_utc - now > dt.timedelta(days=1))
