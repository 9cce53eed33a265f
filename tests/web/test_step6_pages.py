"""Step 6 in the pages: the start-implementation form after the notice period, the sign-off form
(or a refusal with reasons) for the committee chair, progress confirmed from the matter page, and
what a person who is not the next actor is told. The clock is moved from the test process."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import time_machine
from flask import Flask
from sqlalchemy import func, select

from sunvote.domain.ledger.verifier import verify_export
from sunvote.extensions import db
from sunvote.models import (
    ImplementationUpdate,
    Matter,
    Meeting,
    MeetingMember,
    StepRecord,
    Village,
)
from sunvote.services import exports, ledger, supervision
from tests.conftest import csrf_token as token
from tests.web.test_supervision_pages import NOW, passed_road, pid, records

PAGE = "/v/sunshine/m/2026-001"


def _post(client, form: str, data: dict[str, object], **kwargs):  # type: ignore[no-untyped-def]
    return client.post(f"{PAGE}/{form}", data={"csrf_token": token(client, PAGE), **data},
                       **kwargs)


def _state(app: Flask) -> str:
    with app.app_context():
        return db.session.execute(select(Matter.state).where(
            Matter.number == "2026-001")).scalar_one()


def test_the_start_form_waits_for_the_notice_period_and_the_answers(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    _road, objection = passed_road(demo)
    clerk = as_user("clerk")
    page = clerk.get(PAGE).get_data(as_text=True)
    # During the notice period the clerk sees the start step held back by its rule, no form.
    assert 'id="form-start"' in page and "notice.period" in page
    assert 'name="start-implementer"' not in page and "已通过，公示中" in page
    with time_machine.travel(NOW + dt.timedelta(days=6), tick=False):
        clerk = as_user("clerk")  # a week later: yesterday's session has ended
        page = clerk.get(PAGE).get_data(as_text=True)
        # Notice over, one objection unanswered: still held back, by the other rule.
        assert "notice.objection_open" in page and 'name="start-implementer"' not in page
        # No page says "公示中" any more (issue 15): the board, the matter pages, the workspace.
        for url, client in ((PAGE, clerk), ("/p/sunshine/m/2026-001", clerk),
                            ("/p/sunshine/", clerk), ("/v/sunshine/", clerk),
                            ("/v/sunshine/supervise", as_user("supervisor"))):
            shown = client.get(url).get_data(as_text=True)
            # (the timeline keeps "→ 已通过，公示中": that is what the vote's record said then)
            assert "已通过，公示期满，待实施" in shown, url
            assert "已通过，公示中</span>" not in shown and "已通过，公示中 ·" not in shown, url
        before = records(demo)
        refused = _post(clerk, "start", {"start-version": "", "start-implementer": "施工队"})
        assert refused.status_code == 409
        assert "notice.objection_open" in refused.get_data(as_text=True)
        assert records(demo) == before and _state(demo) == "passed"
        with demo.app_context():
            supervision.reply_objection(pid("刘芳"), objection, "dismissed", "已说明",
                                        now=NOW + dt.timedelta(days=5))
        page = clerk.get(PAGE).get_data(as_text=True)
        assert 'name="start-implementer"' in page and 'type="date"' in page
        bad = _post(clerk, "start", {"start-planned_end": "明年"})
        assert bad.status_code == 400 and "input.invalid" in bad.get_data(as_text=True)
        assert "明年" in bad.get_data(as_text=True)  # what was typed is kept
        assert records(demo) == before + 1 and _state(demo) == "passed"
        good = _post(clerk, "start", {
            "start-implementer": "村建筑队", "start-planned_end": "2027-03-31",
            "start-arrangement": "分两段施工",
            "start-materials": (io.BytesIO(b"%PDF-1.4 contract"), "合同.pdf")},
            content_type="multipart/form-data")
        assert good.status_code == 302, good.get_data(as_text=True)
        assert _state(demo) == "implementing" and records(demo) == before + 2
        page = clerk.get(PAGE).get_data(as_text=True)
        assert "村建筑队" in page and "2027-03-31" in page and "合同.pdf" in page


def _implementing(demo: Flask) -> int:
    road, objection = passed_road(demo)
    with demo.app_context():
        supervision.reply_objection(pid("刘芳"), objection, "dismissed", "已说明", now=NOW)
    return road


def test_the_chair_signs_off_or_refuses_through_the_complete_form(as_user, demo: Flask,  # type: ignore[no-untyped-def]
                                                                  tmp_path: Path) -> None:
    _implementing(demo)
    with time_machine.travel(NOW + dt.timedelta(days=6), tick=False):
        clerk = as_user("clerk")
        assert _post(clerk, "start", {}).status_code == 302
        chair = as_user("supervisor")
        page = chair.get(PAGE).get_data(as_text=True)
        # Nothing recorded yet: the sign-off is held back, with its rule; the workspace agrees.
        assert 'id="form-complete"' in page and "implementation.unconfirmed" in page
        assert 'name="complete-report"' not in page
        assert "尚不能验收" in chair.get("/v/sunshine/supervise").get_data(as_text=True)
        for progress in ("60", "100"):
            response = clerk.post(f"{PAGE}/implementation", data={
                "csrf_token": token(clerk, PAGE), "milestone": f"完成{progress}%",
                "progress": progress, "spent": "1000"})
            assert response.status_code == 302
        page = chair.get(PAGE).get_data(as_text=True)
        assert "implementation.unconfirmed" in page and page.count("核实后确认") == 2
        # The chair confirms both from the matter page and comes back to it.
        with demo.app_context():
            ids = list(db.session.execute(select(ImplementationUpdate.id).order_by(
                ImplementationUpdate.id)).scalars())
        for update in ids:
            response = chair.post(f"/v/sunshine/supervise/updates/{update}", data={
                "csrf_token": token(chair, PAGE), "back": "matter"})
            assert response.status_code == 302
            assert response.headers["Location"].endswith(f"{PAGE}#implementation")
        page = chair.get(PAGE).get_data(as_text=True)
        assert 'name="complete-report"' in page
        assert "可以验收" in chair.get("/v/sunshine/supervise").get_data(as_text=True)
        before = records(demo)
        empty = _post(chair, "complete", {"complete-decision": "refuse"})
        assert empty.status_code == 400 and "procedure.required_fields" in empty.get_data(
            as_text=True)
        assert records(demo) == before
        refused = _post(chair, "complete", {"complete-decision": "refuse",
                                            "complete-reason": "排水沟未按方案修建"})
        assert refused.status_code == 302 and _state(demo) == "implementing"
        assert records(demo) == before + 1
        assert "排水沟未按方案修建" in chair.get(PAGE).get_data(as_text=True)
        # The clerk cannot sign off; they are told who does.
        page = clerk.get(PAGE).get_data(as_text=True)
        assert 'name="complete-report"' not in page and "监督委员会主任" in page
        assert "您的职务不能办理这一步" not in page
        done = _post(chair, "complete", {"complete-decision": "complete",
                                         "complete-report": "经现场验收，质量合格"})
        assert done.status_code == 302 and _state(demo) == "completed"
        with demo.app_context():
            actions = list(db.session.execute(select(StepRecord.action).order_by(
                StepRecord.seq)).scalars())
        assert actions[-3:] == ["start_implementation", "refuse_completion", "complete"]
    # The refused sign-off is an ordinary step record: the offline verifier accepts the log.
    with demo.app_context():
        sunshine = db.session.execute(select(Village).where(
            Village.code == "sunshine")).scalar_one()
        exports.export_directory(sunshine, tmp_path / "export")
        key = ledger.active_key(sunshine.id).vkey
    report = verify_export(tmp_path / "export", log_vkeys_override=[key])
    assert not report.failures, report.failures


def test_a_person_who_is_not_the_next_actor_is_told_who_is(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    passed_road(demo)
    page = as_user("supervisor").get(PAGE).get_data(as_text=True)
    assert "“开始实施”由村委会主任、村务工作者办理" in page
    assert "notice.period" not in page or "现在还不能办理" in page
    assert "您的职务不能办理这一步" not in page
    page = as_user("supervisor").get(PAGE + "?lang=en").get_data(as_text=True)
    assert "“Start implementation” is done by: " in page


def test_non_voters_are_shown_wherever_counts_are(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    """Issue 15: present = yes + no + abstain + did not vote, on the room page, the public matter
    page and the printed notice."""
    import pypdf

    passed_road(demo, who_votes=lambda roster: roster[:-3])  # three present cast no ballot
    with demo.app_context():
        meeting = db.session.execute(select(Meeting).order_by(Meeting.id.desc())).scalars().first()
        assert meeting is not None
        number = meeting.number
        present = db.session.execute(select(func.count()).select_from(MeetingMember).where(
            MeetingMember.meeting_id == meeting.id)).scalar_one()
    room = as_user("clerk").get(f"/v/sunshine/meetings/{number}").get_data(as_text=True)
    assert "未投票 3 · 到会 " + str(present) in room
    public = demo.test_client().get(PAGE.replace("/v/", "/p/")).get_data(as_text=True)
    assert re.search(r'<li class="not-voted"><span class="n">3</span>未投票</li>', public)
    pdf = demo.test_client().get("/p/sunshine/m/2026-001/notice.pdf").get_data()
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert "未投票3人" in text.replace(" ", "").replace("\n", "")


def test_the_matter_page_asks_the_start_rule_once(as_user, demo: Flask, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The start form and the "waiting" line share one answer of start_refusal."""
    from sunvote.matters import views

    passed_road(demo)
    calls: list[int] = []
    original = views.supervision_checks.start_refusal

    def counted(matter, now):  # type: ignore[no-untyped-def]
        calls.append(matter.id)
        return original(matter, now)

    monkeypatch.setattr(views.supervision_checks, "start_refusal", counted)
    page = as_user("clerk").get(PAGE).get_data(as_text=True)
    assert "notice.period" in page
    assert len(calls) == 1
