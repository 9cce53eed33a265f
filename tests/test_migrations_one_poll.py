"""Migration 20261205_0017 on data the earlier version wrote: of two open polls on one matter,
the first opened stays open and the other is suspended, so that the index can hold."""

from __future__ import annotations

from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import select, text

from sunvote.extensions import db
from sunvote.models import Matter, Person, Village
from tests.test_migrations import empty_database_url, fresh_app  # noqa: F401 (fixtures)

MEETING = ("INSERT INTO meeting (village_id, number, title, place, starts_at, notice_days, state, "
           "checkin_code, convened_at, convened_by_id) VALUES (:v, :n, '会议', '会议室', "
           "'2026-12-01 01:00:00', 3, 'open', :code, '2026-11-27 01:00:00', :p)")
POLL = ("INSERT INTO poll (meeting_id, number, matter_id, mode, state, present, attendance_upto, "
        "members, quorum, rule, recusal_counts_present, opened_at, opened_by_id) VALUES "
        "(:m, 1, :matter, 'named', 'open', 20, 0, 23, '2/3', 'majority_of_present', :t, "
        "'2026-12-01 02:00:00', :p)")


def test_the_upgrade_suspends_all_but_the_first_open_poll_on_a_matter(
        fresh_app: Flask) -> None:  # noqa: F811
    from sunvote.services.demo import seed_demo

    with fresh_app.app_context():
        # The demo is seeded through today's models, so at the newest schema; then the schema
        # goes back to 0016, the revision before 0017 (each later migration's downgrade drops
        # only what it added), and the earlier version's polls are written below.
        upgrade(revision="heads")
        seed_demo()  # touches no poll
        db.session.remove()
        downgrade(revision="20261205_0016")
        village = db.session.execute(select(Village).where(Village.code == "sunshine")
                                     ).scalar_one()
        clerk = db.session.execute(select(Person.id).where(Person.name == "张敏")).scalar_one()
        road, forest = db.session.execute(select(Matter.id).where(
            Matter.village_id == village.id).order_by(Matter.number).limit(2)).scalars().all()
        polls = []
        for number, matter in ((11, road), (12, road), (13, road), (14, forest)):
            db.session.execute(text(MEETING), {"v": village.id, "n": number,
                                               "code": f"code{number}", "p": clerk})
            meeting = db.session.execute(text("SELECT id FROM meeting WHERE number = :n"),
                                         {"n": number}).scalar_one()
            db.session.execute(text(POLL), {"m": meeting, "matter": matter, "p": clerk,
                                            "t": True})
            polls.append(db.session.execute(text("SELECT id FROM poll WHERE meeting_id = :m"),
                                            {"m": meeting}).scalar_one())
        db.session.commit()
        upgrade(revision="20261205_0017")
        states = dict(db.session.execute(text("SELECT id, state FROM poll")).all())
        assert [states[p] for p in polls] == ["open", "suspended", "suspended", "open"]
        db.session.remove()
        db.engine.dispose()
