"""`sunvote demo`: one instance folder however SunVote was installed, `--https` with a
self-signed certificate for the LAN address, and the base URL that QR codes use."""

from __future__ import annotations

import datetime as dt
import ipaddress
import stat
from pathlib import Path

import pytest
from cryptography import x509
from flask import Flask

from sunvote import create_app, devcert
from sunvote.config import instance_path


@pytest.fixture
def fresh_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Flask:
    """An app whose instance folder is ./instance in a new directory, on the default SQLite
    file there (these tests are about files and the command line; the demo on PostgreSQL is
    tests/test_migrations.py's)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SUNVOTE_INSTANCE_PATH", raising=False)
    monkeypatch.delenv("SUNVOTE_DATABASE_URL", raising=False)
    return create_app({"TESTING": True})


def test_the_instance_folder_is_instance_in_the_current_directory_however_installed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SUNVOTE_INSTANCE_PATH", raising=False)
    # Flask's default would be <source>/instance here (an editable install or a checkout) and
    # <venv>/var/sunvote-instance after `pip install .`: never the current directory.
    app = create_app({"TESTING": True})
    assert Path(app.instance_path) == tmp_path / "instance"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == \
        f"sqlite:///{tmp_path / 'instance' / 'sunvote.sqlite3'}"
    assert (tmp_path / "instance" / "secret_key").exists()


def test_a_relative_sunvote_instance_path_is_taken_from_the_current_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SUNVOTE_INSTANCE_PATH", "data/sunvote")
    assert instance_path() == str(tmp_path / "data" / "sunvote")
    assert create_app({"TESTING": True}).instance_path == str(tmp_path / "data" / "sunvote")


def test_demo_https_makes_a_certificate_for_the_lan_address_and_sets_the_base_url(
        fresh_app: Flask) -> None:
    result = fresh_app.test_cli_runner().invoke(
        args=["demo", "--host", "0.0.0.0", "--port", "8443", "--https", "--no-serve"])
    assert result.exit_code == 0, result.output
    lan = devcert.lan_address()
    assert f"https://{lan}:8443/" in result.output
    assert fresh_app.config["BASE_URL"] == f"https://{lan}:8443"
    folder = Path(fresh_app.instance_path)
    cert = x509.load_pem_x509_certificate((folder / devcert.CERT_FILE).read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address(lan) in names.get_values_for_type(x509.IPAddress)
    assert ipaddress.ip_address("127.0.0.1") in names.get_values_for_type(x509.IPAddress)
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    assert stat.S_IMODE((folder / devcert.KEY_FILE).stat().st_mode) == 0o600


def test_the_demo_certificate_is_kept_while_it_covers_the_address_and_made_anew_otherwise(
        tmp_path: Path) -> None:
    now = dt.datetime(2026, 12, 6, 2, 0, tzinfo=dt.UTC)
    cert, key = devcert.demo_certificate(tmp_path, "192.168.1.23", now)
    first = cert.read_bytes()
    assert devcert.demo_certificate(tmp_path, "192.168.1.23", now + dt.timedelta(days=30))[0] \
        .read_bytes() == first
    # Another network (a new address), or nearly expired: a new certificate.
    assert devcert.demo_certificate(tmp_path, "10.0.0.8", now)[0].read_bytes() != first
    second = cert.read_bytes()
    assert devcert.demo_certificate(tmp_path, "10.0.0.8", now + devcert.VALIDITY)[0] \
        .read_bytes() != second
    assert key.exists()


def test_demo_on_plain_http_puts_the_served_address_in_links(fresh_app: Flask) -> None:
    result = fresh_app.test_cli_runner().invoke(args=["demo", "--port", "8000", "--no-serve"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8000/" in result.output
    assert fresh_app.config["BASE_URL"] == "http://127.0.0.1:8000"
    assert not (Path(fresh_app.instance_path) / devcert.CERT_FILE).exists()


def test_the_demo_builds_the_browser_verifier_its_township_offers(fresh_app: Flask,
                                                                  tmp_path: Path) -> None:
    import shutil

    from sunvote.commands import install_demo_verifier
    from sunvote.verifier_release import published_sha256
    from sunvote.web.verifier_files import page_file
    from tests.conftest import require

    require(shutil.which("npm") is not None, "npm builds the browser verifier (apt install npm)")
    fresh_app.config["VERIFIER_DIR"] = str(tmp_path / "verifier")
    with fresh_app.app_context():
        assert page_file() is None
        said = install_demo_verifier()
        installed = page_file()
        assert installed is not None, said
        assert installed.sha256 == published_sha256()  # the release's page, byte for byte
        assert "installed" in install_demo_verifier()  # once is enough
