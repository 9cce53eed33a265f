"""Settings read from the environment: a malformed number stops start-up naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from sunvote.config import load_config


@pytest.mark.parametrize("name", ["TRUSTED_PROXIES", "MAX_UPLOAD_MB", "SUGGESTIONS_PER_HOUR",
                                  "SQLITE_BUSY_TIMEOUT_MS", "SESSION_HOURS"])
@pytest.mark.parametrize("value", ["one", "-1", "²", "1.5"])
def test_a_malformed_number_names_its_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                               name: str, value: str) -> None:
    monkeypatch.setenv(f"SUNVOTE_{name}", value)
    with pytest.raises(RuntimeError, match=f"SUNVOTE_{name} must be a whole number"):
        load_config(tmp_path)


def test_numbers_given_are_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SUNVOTE_TRUSTED_PROXIES", "2")
    monkeypatch.setenv("SUNVOTE_MAX_UPLOAD_MB", "5")
    config = load_config(tmp_path)
    assert config["TRUSTED_PROXIES"] == 2 and config["MAX_CONTENT_LENGTH"] == 5 * 1024 * 1024


def test_ice_servers_are_read_and_checked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert load_config(tmp_path)["ICE_SERVERS"] == []
    servers = ('[{"urls": ["stun:turn.example.cn:3478", "turn:turn.example.cn:3478"]},'
               ' {"urls": "turns:turn.example.cn:5349", "username": "u", "credential": "p"}]')
    monkeypatch.setenv("SUNVOTE_ICE_SERVERS", servers)
    monkeypatch.setenv("SUNVOTE_ICE_TRANSPORT_POLICY", "relay")
    config = load_config(tmp_path)
    assert config["ICE_SERVERS"][1]["urls"] == "turns:turn.example.cn:5349"
    assert config["ICE_TRANSPORT_POLICY"] == "relay"


@pytest.mark.parametrize("value", ["not json", "{}", '[{"urls": "http://x"}]', '[{"urls": []}]',
                                   '[{"urls": "stun:x", "password": "p"}]',
                                   '[{"urls": "turn:x", "credential": 5}]'])
def test_malformed_ice_servers_stop_start_up(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                             value: str) -> None:
    monkeypatch.setenv("SUNVOTE_ICE_SERVERS", value)
    with pytest.raises(RuntimeError, match="SUNVOTE_ICE_SERVERS"):
        load_config(tmp_path)


def test_the_ice_transport_policy_is_all_or_relay(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    monkeypatch.setenv("SUNVOTE_ICE_TRANSPORT_POLICY", "tcp")
    with pytest.raises(RuntimeError, match="SUNVOTE_ICE_TRANSPORT_POLICY"):
        load_config(tmp_path)


def test_the_janus_url_is_read_and_checked(monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    assert load_config(tmp_path)["JANUS_URL"] is None  # unset: mesh
    monkeypatch.setenv("SUNVOTE_JANUS_URL", "http://127.0.0.1:8088/janus/")
    assert load_config(tmp_path)["JANUS_URL"] == "http://127.0.0.1:8088/janus"
    for value in ("127.0.0.1:8088", "ws://127.0.0.1:8188/", "http:///janus", "http://h/j?x=1"):
        monkeypatch.setenv("SUNVOTE_JANUS_URL", value)
        with pytest.raises(RuntimeError, match="SUNVOTE_JANUS_URL"):
            load_config(tmp_path)
