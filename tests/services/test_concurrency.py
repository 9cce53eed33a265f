"""Two people acting on the same matter at the same moment: exactly one wins, nothing is torn."""

from __future__ import annotations

import threading

from flask import Flask
from sqlalchemy import select

from sunvote.domain.errors import DomainError
from sunvote.domain.procedure import Action
from sunvote.extensions import db
from sunvote.models import Matter, Person
from sunvote.services import matters


def test_concurrent_steps_on_one_matter_leave_one_consistent_history(demo: Flask) -> None:
    with demo.app_context():
        matter_id = db.session.execute(
            select(Matter.id).where(Matter.number.like("%-002"))).scalar_one()  # proposed
        clerk = db.session.execute(select(Person.id).where(Person.name == "张敏")).scalar_one()
        secretary = db.session.execute(
            select(Person.id).where(Person.name == "王建国")).scalar_one()
    barrier = threading.Barrier(4)
    outcomes: list[str] = []
    lock = threading.Lock()
    meeting = {"meeting_date": "2026-11-20", "expected": 9, "present": 8, "minutes": "纪要"}
    # Each is valid only while the matter awaits deliberation, so exactly one can happen.
    attempts = [
        (Action.DISCUSS, clerk, {**meeting, "plan": "方案甲"}),
        (Action.DROP, clerk, {**meeting, "reason": "不再需要"}),
        (Action.DROP, secretary, {**meeting, "reason": "另作安排"}),
        (Action.DISCUSS, secretary, {**meeting, "plan": "方案乙"}),
    ]

    def attempt(action: Action, actor: int, fields: dict[str, object]) -> None:
        with demo.app_context():
            barrier.wait()
            try:
                matters.act(matter_id, action, actor, fields)
                result = f"ok:{action.value}"
            except DomainError as error:
                result = f"refused:{error.rule}"
            finally:
                db.session.remove()
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=a) for a in attempts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    winners = [o for o in outcomes if o.startswith("ok:")]
    assert len(outcomes) == 4 and len(winners) == 1, outcomes
    with demo.app_context():
        m = db.session.get(Matter, matter_id)
        assert m is not None
        steps = [r.action for r in m.steps]
        assert steps == ["suggest", "propose", winners[0].split(":")[1]]
        assert [r.seq for r in m.steps] == [1, 2, 3]
        assert m.state == m.steps[-1].to_state


def test_parallel_wrong_pins_get_no_more_tries_than_allowed(demo: Flask) -> None:
    """Issue 14: a burst of wrong PINs used to get 16-17 tries where 5 are allowed (each read
    the count before any was written). Now each attempt counts on the locked device row first."""
    from sunvote.domain import cloud as rules
    from sunvote.models import Device
    from sunvote.services import cloud
    from tests.services.test_assembly import pid
    from tests.services.test_cloud import AT, Phone, code_at, enrol, open_meeting_with_hall, origin

    with demo.app_context():
        meeting, roster = open_meeting_with_hall(20)
        member, phone = roster[-1], Phone()
        device_id = enrol(member, phone).id
        token = cloud.issue_invitation(pid("张敏"), meeting.id, member, now=AT)[1]
        code = code_at(meeting, AT)
        proof = phone.sign({"v": 1, "t": "attend", "log": origin(), "meeting": meeting.number,
                            "member": member, "code": code})
    tries = rules.CREDENTIAL_ATTEMPTS  # none of them is stopped by the invitation's own limit
    barrier = threading.Barrier(tries)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(n: int) -> None:
        with demo.app_context():
            barrier.wait()
            try:
                cloud.attempt("join", f"198.51.100.{n}", lambda seen: cloud.join(
                    seen, token, proof, "111111", code, now=AT), credential=token)
                result = "joined"
            except DomainError as error:
                result = "wrong" if error.msgid == rules.pin_refused().msgid else error.rule
            finally:
                db.session.remove()
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(tries)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(outcomes) == tries
    assert outcomes.count("wrong") == rules.PIN_ATTEMPTS, outcomes  # the rest: locked
    assert outcomes.count("cloud.pin") == tries - rules.PIN_ATTEMPTS, outcomes
    with demo.app_context():
        device = db.session.get(Device, device_id)
        assert device is not None and device.failed_pins == rules.PIN_ATTEMPTS
