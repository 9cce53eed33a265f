"""The ledger page's server-side verification is kept (not in one process's memory), `sunvote
ledger check` does the same from cron, and the public export zip is cached per log size."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select

from sunvote.extensions import db
from sunvote.models import LedgerCosigned, LedgerVerification, Person, Village
from sunvote.services import suggestions
from tests.conftest import csrf_token as token


def test_verify_now_keeps_its_result_for_everyone(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    supervisor = as_user("supervisor")
    response = supervisor.post("/v/sunshine/ledger/verify",
                               data={"csrf_token": token(supervisor, "/v/sunshine/ledger")})
    assert response.status_code == 302
    with demo.app_context():
        row = db.session.execute(select(LedgerVerification)).scalar_one()
        assert row.ok and row.exit_code == 0 and row.size > 0 and row.failures == []
        size = row.size
    # Another person, another request (another worker in production) sees it.
    page = as_user("clerk").get("/v/sunshine/ledger").get_data(as_text=True)
    assert f"验证通过：{size}条记录" in page


def test_ledger_check_from_the_command_line(demo: Flask) -> None:
    from sunvote.commands import ledger_group

    result = demo.test_cli_runner().invoke(ledger_group, ["check", "sunshine"])
    assert result.exit_code == 0, result.output
    assert "sunshine: verified" in result.output
    with demo.app_context():
        assert db.session.execute(select(func.count()).select_from(
            LedgerVerification)).scalar_one() == 1


def test_the_public_zip_is_built_once_per_log_size(demo: Flask) -> None:
    client = demo.test_client()
    first = client.get("/p/sunshine/ledger.zip")
    assert first.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(first.data)).namelist()
    assert "sunvote-ledger-sunshine/records" in names
    folder = Path(demo.instance_path) / "exports" / "sunshine"
    cached = sorted(folder.glob("*.zip"))
    assert len(cached) == 1
    mtime = cached[0].stat().st_mtime_ns
    assert client.get("/p/sunshine/ledger.zip").data == first.data
    assert cached[0].stat().st_mtime_ns == mtime  # served from the cache
    with demo.app_context():
        village = db.session.execute(select(Village).where(Village.code == "sunshine")
                                     ).scalar_one()
        clerk = db.session.execute(select(Person.id).where(Person.name == "张敏")).scalar_one()
        suggestions.record_suggestion(village.id, clerk, "paper", "新建议", None, False)
    newer = client.get("/p/sunshine/ledger.zip")
    assert newer.data != first.data
    assert len(sorted(folder.glob("*.zip"))) == 1  # the old one is gone


def test_every_role_sees_the_workspace_after_a_verification(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    """Issue 14: once anyone had verified (the ledger page's button, or `ledger check` from
    cron), the supervisors' workspace answered 500 for every role: it read a field that does not
    exist. No test had rendered it after a verification."""
    from sunvote.commands import ledger_group

    assert demo.test_cli_runner().invoke(ledger_group, ["check", "sunshine"]).exit_code == 0
    for username in ("supervisor", "clerk", "secretary", "rep01"):
        page = as_user(username).get("/v/sunshine/supervise")
        assert page.status_code in (200, 403), username
        if page.status_code == 200:
            assert "核验通过" in page.get_data(as_text=True), username


def test_only_those_who_answer_for_the_record_start_a_server_verification_once_a_minute(  # type: ignore[no-untyped-def]
        as_user, demo: Flask) -> None:
    rep = as_user("rep01")
    assert "在服务器上验证全部记录" not in rep.get("/v/sunshine/ledger").get_data(as_text=True)
    refused = rep.post("/v/sunshine/ledger/verify",
                       data={"csrf_token": token(rep, "/v/sunshine/ledger")})
    assert refused.status_code == 403 and "ledger.verify_who" in refused.get_data(as_text=True)
    supervisor = as_user("supervisor")
    assert "在服务器上验证全部记录" in supervisor.get("/v/sunshine/ledger").get_data(as_text=True)
    assert supervisor.post("/v/sunshine/ledger/verify", data={
        "csrf_token": token(supervisor, "/v/sunshine/ledger")}).status_code == 302
    again = supervisor.post("/v/sunshine/ledger/verify",
                            data={"csrf_token": token(supervisor, "/v/sunshine/ledger")})
    assert again.status_code == 429 and "ledger.verify_interval" in again.get_data(as_text=True)
    with demo.app_context():
        assert db.session.execute(select(func.count()).select_from(LedgerVerification)
                                  ).scalar_one() == 1


def test_only_those_who_answer_for_the_record_ask_the_witness_once_a_minute(  # type: ignore[no-untyped-def]
        as_user, demo: Flask) -> None:
    """Found by the route × role matrix: any role reaching the village (a representative, the
    township reviewer) could make the server ask the witness, as often as they liked."""
    rep = as_user("rep01")
    assert "请乡镇见证方签名" not in rep.get("/v/sunshine/ledger").get_data(as_text=True)
    refused = rep.post("/v/sunshine/ledger/witness",
                       data={"csrf_token": token(rep, "/v/sunshine/ledger")})
    assert refused.status_code == 403 and "ledger.witness_who" in refused.get_data(as_text=True)
    with demo.app_context():
        cosigned = db.session.execute(select(func.count()).select_from(LedgerCosigned)
                                      ).scalar_one()
    clerk = as_user("clerk")
    assert "请乡镇见证方签名" in clerk.get("/v/sunshine/ledger").get_data(as_text=True)
    first = clerk.post("/v/sunshine/ledger/witness",
                       data={"csrf_token": token(clerk, "/v/sunshine/ledger")})
    assert first.status_code == 302
    again = clerk.post("/v/sunshine/ledger/witness",
                       data={"csrf_token": token(clerk, "/v/sunshine/ledger")})
    assert again.status_code == 429 and "ledger.verify_interval" in again.get_data(as_text=True)
    with demo.app_context():
        assert db.session.execute(select(func.count()).select_from(LedgerCosigned)
                                  ).scalar_one() == cosigned + 1
