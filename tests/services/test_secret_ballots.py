"""Secret ballots that nobody can link to their voter (issue 13, item 1): the two reproductions
(a member alone by cloud, a member alone on the clerk's hall device) run against the public
export, and what the ``ballot`` table keeps of a closed secret poll."""

from __future__ import annotations

import base64
import io
import random
import zipfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select

from sunvote.domain.assembly import Channel, VoteMode
from sunvote.domain.ledger.records import parse_record
from sunvote.domain.ledger.verifier import verify_export
from sunvote.extensions import db
from sunvote.models import Account, Ballot, Participation, Poll
from sunvote.services import assembly, ballots, polls

from .test_assembly import matter, pid
from .test_cloud import AT, Phone, enrol, join, open_meeting_with_hall, vote


def account(username: str) -> int:
    return db.session.execute(select(Account.person_id).where(
        Account.username == username)).scalar_one()


def export_bodies(demo: Flask, tmp_path: Path) -> list[tuple[str, dict[str, Any]]]:
    """The records of the public /p/sunshine/ledger.zip, as anyone downloads them (the zip is
    also unpacked into ``tmp_path / "zip"`` for the offline verifier)."""
    data = demo.test_client().get("/p/sunshine/ledger.zip").data
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        archive.extractall(tmp_path / "zip")
        name = next(n for n in archive.namelist() if n.rsplit("/", 1)[-1] == "records")
        lines = archive.read(name).decode("ascii").split()
    records = [parse_record(base64.b64decode(line)) for line in lines]
    return [(r.type, dict(r.body)) for r in records]


def link_by_channel(bodies: list[tuple[str, dict[str, Any]]]) -> dict[int, str]:
    """The attack of issue 13: per secret poll, a member who alone took part by some channel
    is linked to the choice of the one ballot.secret carrying that channel."""
    taken: dict[tuple[int, int, str], list[int]] = defaultdict(list)
    for type_, body in bodies:
        if type_ == "poll.participation":
            taken[body["meeting"], body["poll"], body["channel"]].append(body["member"])
    linked: dict[int, str] = {}
    for type_, body in bodies:
        if type_ == "ballot.secret" and "channel" in body:
            members = taken[body["meeting"], body["poll"], body["channel"]]
            if len(members) == 1:
                linked[members[0]] = body["choice"]
    return linked


def test_a_member_alone_by_cloud_or_on_the_hall_device_cannot_be_linked_from_the_export(
        demo: Flask, tmp_path: Path) -> None:
    with demo.app_context():
        clerk, rep20, rep01 = pid("张敏"), account("rep20"), account("rep01")
        phone = Phone()
        enrol(rep20, phone)
        meeting, roster = open_meeting_with_hall(0)
        for member in roster:
            if member != rep20:
                assembly.check_in(clerk, meeting.id, member, now=AT)
        session = join(meeting, rep20, phone).session
        poll = polls.open_poll(clerk, meeting.id, matter("001").id, VoteMode.SECRET, now=AT)
        # rep20 alone by cloud says no; rep01 alone on the clerk's hall device abstains.
        vote(session, meeting, poll.number, rep20, phone, "no", mode="secret")
        # (without rep01's PIN the hall-device ballot counts once a supervisor confirms it)
        held = ballots.cast_ballot(clerk, poll.id, rep01, "abstain", Channel.DEVICE, now=AT)
        assert held.paper_batch_id is not None
        ballots.confirm_paper(pid("刘芳"), held.paper_batch_id, now=AT)
        for member in roster:
            if member not in (rep20, rep01):
                ballots.cast_ballot(member, poll.id, member, "yes", now=AT)
        polls.close_poll(clerk, poll.id, now=AT, rng=random.Random(7))
        poll_id = poll.id
    bodies = export_bodies(demo, tmp_path)
    assert link_by_channel(bodies) == {}  # on main: {rep20: "no", rep01: "abstain"}
    with demo.app_context():
        assert db.session.get(Poll, poll_id).cloud == 1  # channel counts as totals only
        # The database row of a closed secret ballot keeps no channel, voter, time or batch.
        rows = list(db.session.execute(select(Ballot).where(Ballot.poll_id == poll_id)).scalars())
        assert {(b.channel, b.voter_id, b.cast_at, b.paper_batch_id) for b in rows} == {
            (None, None, None, None)}
        taken = db.session.execute(select(Participation.person_id, Participation.channel).where(
            Participation.poll_id == poll_id)).all()
        assert (rep20, "cloud") in taken and (rep01, "device") in taken
    secret = [body for type_, body in bodies if type_ == "ballot.secret"]
    assert len(secret) == len(roster)
    assert all(set(body) == {"meeting", "poll", "ballot", "choice"} for body in secret)
    # The batch is shuffled: its order is not the order of the participations.
    participations = [body for type_, body in bodies if type_ == "poll.participation"]
    assert [b["choice"] for b in secret] != [
        "no" if p["member"] == rep20 else "abstain" if p["member"] == rep01 else "yes"
        for p in participations]
    report = verify_export(next((tmp_path / "zip").rglob("FORMAT")).parent)
    assert report.failures == () and report.findings == ()
