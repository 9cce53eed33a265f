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
