"""The route × role matrix (issue 14, item 7): every route in ``app.url_map``, every method, as
every role, with a valid CSRF token. Each answer must be what ``MATRIX`` below says (allowed or
refused); a refused request must write nothing; and no answer to anyone may carry a secret: a
secret ballot's code, a villager's ID or phone number outside the register keepers, a temporary
password, a password / PIN / token hash, key material.

How to read and extend it (docs/architecture.md, "The route × role matrix"):

- ``MATRIX`` has one row per endpoint. Its value names the roles that are let through, as a
  string of role names and groups (``ROLES``, ``GROUPS``; ``-`` for nobody). Where the methods or
  the URL's cases differ, the value is a dict keyed by method (``"GET"``), case label
  (``"open"``) or both (``"POST open"``).
- ``cases()`` says how to fill each endpoint's URL from the world (``build_world``); a route
  without a row in both fails the test, and so does a row for a route that no longer exists.
  ``UNFILLABLE`` lists, with the reason, routes that are not visited (only ``static``).
- *Allowed* means the access check let the role through: 2xx, a redirect anywhere but the login
  page, or a refusal of the input after the access check (``VALIDATION``: 400, 409, 410, 413,
  422). *Refused* means ``REFUSED`` (401, 403, 404 — a page hidden from the role) or a redirect
  to the login page. Anything else (5xx, 429, 405 …) fails as unexpected.
- POSTs carry a valid CSRF token and an empty body, so that an allowed request mostly stops at
  validation — except where a view checks its input before the role: there the case carries a
  valid body, so that the role check decides. Where an allowed request does write, the world is
  put back as it was (``Snapshot.restore``) before the next request. The phone's JSON routes
  get no body: a refused body would count towards the address's attempt limit.
- "Wrote nothing" is checked by watching the SQL the app sends: a request that sends nothing but
  reads wrote nothing; one that sent anything else has every row of every table compared with
  the snapshot taken after the role logged in. ``IGNORED_TABLES`` may list tables a request
  writes for itself (none today).
- Roles are the demo's logins plus a committee member, a supervisor, a villager with no role,
  another township's admin and a phone joined to today's meeting (``ROLES``).

To see the observed answers (to write a new row — review it, it is what the code does, not what
it should do): ``SUNVOTE_MATRIX_PRINT=1 pytest -s tests/web/test_route_role_matrix.py``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import os
import random
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import event, select
from sqlalchemy.engine import Engine

from sunvote import create_app
from sunvote.cloud.views import COOKIE as CLOUD_COOKIE
from sunvote.domain.administration import CLOSE_RELATIONS
from sunvote.domain.assembly import VoteMode
from sunvote.domain.cloud import presence_code
from sunvote.domain.notices import NoticeChannel
from sunvote.domain.procedure import Action
from sunvote.domain.roles import Role
from sunvote.extensions import db
from sunvote.models import (
    Account,
    Attachment,
    Base,
    Household,
    Matter,
    Meeting,
    MeetingMember,
    Notice,
    Person,
    RoleAssignment,
    Village,
)
from sunvote.services import (
    administration,
    assembly,
    ballots,
    cloud,
    matters,
    notices,
    polls,
    recording,
    suggestions,
    supervision,
)
from sunvote.services import limits as limits_service
from sunvote.services.access import CHINA
from sunvote.services.demo import seed_demo
from sunvote.services.files import Upload
from tests.conftest import _empty_postgres, login
from tests.roster_files import csv_bytes, id_number, roster_rows
from tests.services.test_cloud import Phone

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
DAY = dt.timedelta(days=1)

# --- Roles -----------------------------------------------------------------------------------

#: Every role the matrix plays, and the demo (or added) login that plays it. ``None``: no login.
ROLES: dict[str, str | None] = {
    "anon": None,                   # not logged in
    "clerk": "clerk",               # 阳光村 村务工作者
    "secretary": "secretary",       # 阳光村 党支部书记 and 村委会主任 (director)
    "member": "member",             # 阳光村 村委会委员 and 党支部委员
    "rep": "rep01",                 # 阳光村 村民代表
    "chair": "supervisor",          # 阳光村 村务监督委员会主任
    "supervisor": "supervisor2",    # 阳光村 村务监督委员会委员
    "norole": "norole",             # a 阳光村 villager with a login and no role in force
    "clerk2": "clerk2",             # 清风村's clerk: another village of the same township
    "reviewer": "reviewer",         # 阳光镇 审议人员
    "township": "township",         # 阳光镇 乡镇管理员
    "township2": "township2",       # another township's administrator
    "district": "district",         # 区级管理员
    "phone": None,                  # rep20's enrolled phone, joined to today's meeting (cloud)
}

GROUPS: dict[str, str] = {
    "VILLAGE": "clerk secretary member rep chair supervisor",   # the roles in 阳光村
    "ABOVE": "reviewer township district",                      # reaching 阳光村 from above
    "STAFF": "VILLAGE ABOVE",                                   # every role reaching 阳光村
    "LOGGED_IN": "VILLAGE norole clerk2 reviewer township township2 district",
    "ALL": "anon phone LOGGED_IN",
    # the domain's sets, as played here
    # domain.assembly.MEETING_RUNNERS (director, members, clerk)
    "RUNNERS": "clerk secretary member",
    "MEMBERS": "secretary member rep",          # the assembly (director, members, representatives)
    "SUPERVISORS": "chair supervisor",          # supervision.SUPERVISORS
    "KEEPERS": "clerk secretary township",      # administration.REGISTER_KEEPERS
    "TOWN_ADMINS": "township district",         # administration.TOWNSHIP_ADMINS
    "-": "",
}


def roles_of(spec: str) -> frozenset[str]:
    """The roles a table entry names (groups expanded)."""
    out: set[str] = set()
    for word in spec.split():
        if word in GROUPS:
            out |= roles_of(GROUPS[word])
        elif word in ROLES:
            out.add(word)
        else:
            raise AssertionError(f"unknown role or group {word!r} in the matrix")
    return frozenset(out)


# --- The table -------------------------------------------------------------------------------

#: endpoint → the roles let through (see the module docstring for the format).
MATRIX: dict[str, str | dict[str, str]] = {
    # public: the board, the notice, receipts, open data, the phone's token pages
    "public.index": "ALL",
    "public.village": "ALL",
    "public.matter": "ALL",
    "public.matter_file": {"evidence": "ALL", "step1": "-"},  # step 1's files stay private
    "public.notice": "ALL",
    "public.notice_pdf": "ALL",
    # the printed documents (sunvote/documents): public papers for anyone, the meeting's own
    # papers (sign-in sheet, ballots, tally sheets) for those who run it
    "documents.meeting_notice": "ALL",
    "documents.minutes": "ALL",
    "documents.implementation_report": "ALL",
    "documents.completion_certificate": "ALL",  # road is not completed: 409, past the access
    "documents.signin_sheet": "RUNNERS",
    "documents.ballots": "RUNNERS",
    "documents.tally_sheet": "RUNNERS",
    "public.object_": "ALL",
    "public.rate": "ALL",
    "public.suggest": "ALL",
    "public.suggestions": "ALL",
    "public.suggestion": "ALL",
    "public.suggestion_submitted": "ALL",  # without the code in the session: to the public page
    "public.suggestion_follow": "ALL",     # the private link's page: the code in the fragment
    "public.suggestion_private": "ALL",    # the code is the credential
    "public.poster": "ALL",
    "public.qr_png": "ALL",
    "public.qr_svg": "ALL",
    "public.ledger_export": "ALL",
    "public.ledger_consistency": "ALL",
    "public.receipt": "ALL",
    "public.receipt_file": "ALL",
    "public.rules": "ALL",
    "opendata.openapi": "ALL",
    "opendata.villages": "ALL",
    "opendata.village": "ALL",
    "opendata.matters": "ALL",
    "opendata.matter": "ALL",
    "opendata.polls": "ALL",
    "opendata.checkpoint": "ALL",
    "opendata.checkpoints": "ALL",
    "api.add_checkpoint": "ALL",         # the witness API: the signed body is the credential
    "cloud.enrol": "ALL",                # the token is the credential
    "cloud.enrol_start": "ALL",          # the QR's page: the token stays in the fragment
    "cloud.enrol_open": "ALL",           # the token posted from the fragment or typed
    "cloud.enrol_post": "ALL",
    "cloud.join": "ALL",
    "cloud.join_start": "ALL",
    "cloud.join_open": "ALL",
    "cloud.join_post": "ALL",
    "cloud.vote": "ALL",                 # refused without a phone's session (400 on no body)
    "cloud.receipt": "ALL",              # whoever has the code; a secret one shows no choice
    "cloud.meeting": "phone",            # a phone's cloud session only, never a login
    "cloud.meeting_json": "phone",
    "cloud.material": "-",               # only the open poll's materials, this one is not
    # logins
    "auth.login": "ALL",
    "auth.logout": "ALL",
    "auth.change_password": "LOGGED_IN",
    "auth.forgot_password": "ALL",       # who can reset whose password: public
    "matters.home": "LOGGED_IN",
    # the village's workspace: every role reaching it
    "matters.village": "STAFF",
    "matters.matter": "STAFF",
    "matters.suggestions": "STAFF",
    "matters.download": "STAFF",
    "matters.open_matter": "clerk secretary reviewer",  # suggestions.record_suggestion's roles
    "matters.record_suggestion": "clerk secretary reviewer",
    "matters.decline_suggestion": "clerk secretary",  # suggestions.DECLINERS (director, secretary)
    # one URL per step form (issue 17). The world has no matter awaiting discussion, review or
    # the start: there every role reaching the village passes the access check and meets
    # procedure.step_order (409); the procedure's roles are asked where a matter is in the
    # step's state (procedure.transition checks the state, then the role).
    "matters.propose": "secretary",
    "matters.merge": "secretary",
    "matters.discuss": "STAFF",
    "matters.review": "STAFF",
    "matters.start": "STAFF",
    "matters.complete": "chair",  # the committee's director signs step 6 off
    "matters.withdraw": "secretary",
    "matters.breach": "SUPERVISORS",
    "matters.repropose": "secretary",  # the role is asked before the state (services/matters)
    "matters.record_update": "RUNNERS",  # supervision.IMPLEMENTERS
    # the JSON API of the same use cases: one URL per action, as the step forms
    "api.matter": "STAFF",
    "api.propose": "secretary",
    "api.propose_and_discuss": "secretary",
    "api.discuss": "STAFF",
    "api.drop": "STAFF",
    "api.file": "STAFF",
    "api.return_": "STAFF",
    "api.withdraw": "secretary",
    "api.flag_breach": "SUPERVISORS",
    "api.start_implementation": "STAFF",
    "api.complete": "chair",
    "api.refuse_completion": "chair",
    "api.repropose": "secretary",
    "api.suggest": "STAFF",          # the procedure refuses it past the access check
    "api.record_vote": "-",          # the procedure: no role records a vote by hand (403)
    "api.unknown_action": "STAFF",   # input.invalid (400) past the access check
    "assembly.meetings": {"GET": "STAFF", "POST": "RUNNERS"},
    "assembly.request_meeting": "rep",
    "assembly.room": "STAFF",
    "assembly.hall": "STAFF",
    "assembly.hall_json": "STAFF",
    "assembly.hall_video": "RUNNERS",    # the hall device's camera page (issue 19)
    # the hall's recording (issue 19): domain.recording.recording_access_refusal. The hall
    # device uploads (no body: input.invalid, 400); the supervisors and the township watch it
    # live, play it back and download it (today's meeting is open: the download is refused by
    # recording.access, 409, past the role); township administrators delete it (its retention
    # has not passed: recording.retention, 409).
    "recording.upload": "RUNNERS",
    "recording.page": "SUPERVISORS ABOVE",
    "recording.run_media": "SUPERVISORS ABOVE",
    "recording.download": "SUPERVISORS ABOVE",
    "recording.purge": "TOWN_ADMINS",
    "assembly.room_stamp_json": "STAFF",  # the room page's change stamp (static/js/room.js)
    "assembly.self_checkin": "STAFF",    # an old QR (token in the path): the page only
    # one URL per control of the room (issue 17)
    "assembly.check_in_self": {"GET": "STAFF", "POST": "MEMBERS"},  # the hall QR's page
    "assembly.check_in_member": "RUNNERS",
    "assembly.vote": "MEMBERS",
    "assembly.recuse": "MEMBERS",
    "assembly.enter_paper": "RUNNERS",
    "assembly.close_poll": "RUNNERS",
    "assembly.close_meeting": "RUNNERS",
    "assembly.open_meeting": "RUNNERS",
    "assembly.open_poll": "RUNNERS",
    "assembly.void_poll": "RUNNERS",
    "assembly.confirm_paper": "SUPERVISORS",
    "assembly.discard_paper": "RUNNERS",
    "assembly.checkin_many": "RUNNERS",  # several members at once: recorded as the runner's
    "assembly.checkin_except": "RUNNERS",
    "assembly.leave": {"member": "RUNNERS", "self": "RUNNERS rep"},  # rep01 leaves themself
    "cloud.leave": "phone",              # the phone's member leaves, by the phone's session
    "cloud.devices": "RUNNERS",
    "cloud.issue_enrolment": "RUNNERS",
    "cloud.revoke": "RUNNERS",
    "cloud.unlock": "RUNNERS",
    "assembly.invite": "RUNNERS",
    # notices (sunvote/notices): one's own inbox; the meeting's notices for those who run it
    "notices.inbox": "LOGGED_IN",
    "notices.open_notice": "rep",        # rep01's own notice: anyone else's is not found (404)
    "notices.letters_pdf": "RUNNERS",
    "notices.resend": "RUNNERS",         # an SMS on its way: notice.resend (409) past the role
    "notices.record_slip": "RUNNERS",    # already recorded: notice.letter (409) past the role
    "notices.slip_photo": "RUNNERS",
    "notices.outbox": "reviewer TOWN_ADMINS",  # the township's officials and the district's
    "cloud.audit_json": "RUNNERS SUPERVISORS",
    # meeting video (sunvote/video, domain.video.video_refusal): the hall device's signalling
    # for those who run the meeting; the phone's page and signalling for a joined cloud member
    "video.hall_poll": "RUNNERS",
    "video.hall_send": "RUNNERS",        # an empty body: 400 past the rule
    "video.phone": "phone",
    "video.phone_poll": "phone",
    "video.phone_send": "phone",         # an empty body: 400 past the rule
    # through Janus (SUNVOTE_JANUS_URL): the same rule; an empty body is 400 past it
    "video.hall_publish": "RUNNERS",
    "video.hall_subscribe": "RUNNERS",
    "video.hall_start": "RUNNERS",
    "video.phone_publish": "phone",
    "video.phone_subscribe": "phone",
    "video.phone_start": "phone",
    # watchers: the hall live through Janus, the recording's rule (WATCH_LIVE; a POST with no
    # body is 400 past the rule)
    "video.watch_poll": "SUPERVISORS ABOVE",
    "video.watch_subscribe": "SUPERVISORS ABOVE",
    "video.watch_start": "SUPERVISORS ABOVE",
    "supervision.ledger_page": "STAFF",
    "supervision.verify_now": "clerk secretary SUPERVISORS TOWN_ADMINS",  # verification.VERIFIERS
    "supervision.ask_witness": "clerk secretary SUPERVISORS TOWN_ADMINS",  # the same VERIFIERS
    "supervision.workspace": "STAFF",
    "supervision.reply": "SUPERVISORS",
    "supervision.confirm": "SUPERVISORS",
    # the register: names and roles for every role reaching the village; the rest for keepers
    "admin.register": "STAFF",
    "admin.person": {"own": "STAFF", "other-village": "-"},
    "admin.history": "STAFF",
    "admin.template": "STAFF",
    "admin.export": "KEEPERS",
    "admin.import_page": "KEEPERS",
    "admin.import_apply": "KEEPERS",
    "admin.add_household": "KEEPERS",
    "admin.add_person": "KEEPERS",
    "admin.update_person": {"own": "KEEPERS", "other-village": "-"},
    "admin.appoint_role": "KEEPERS",
    "admin.end_term": "KEEPERS",
    "admin.add_kinship": "KEEPERS",
    "admin.create_login": "KEEPERS district",  # administration.login_refusal
    "admin.reset_password": "KEEPERS district",
    "admin.disable_login": "TOWN_ADMINS",  # administration.set_login_disabled
    "admin.enable_login": "TOWN_ADMINS",
    # the township and the district
    "admin.township": "reviewer TOWN_ADMINS",
    "admin.settings": {"GET": "reviewer TOWN_ADMINS", "POST": "township"},
    "admin.create_village": "TOWN_ADMINS",
    "admin.add_official": "TOWN_ADMINS",
    "admin.end_township_term": {"own": "TOWN_ADMINS", "other-township": "-"},
    "admin.reset_township_password": {"own": "TOWN_ADMINS",
                                      "other-township": "district"},  # the service checks
    "admin.disable_township_login": "TOWN_ADMINS",
    "admin.enable_township_login": "TOWN_ADMINS",
    "admin.district": "district",
    "admin.create_township": "district",
    "oversight.district": "district",
    "oversight.district_export": "district",
    "oversight.district_matters": "district",
    "oversight.township_matters": "TOWN_ADMINS",
    "oversight.township": "TOWN_ADMINS",
    "oversight.township_export": "TOWN_ADMINS",
    "oversight.village": "TOWN_ADMINS",
    "oversight.village_export": "TOWN_ADMINS",
    "verifier.page": "ALL",              # the township's browser verifier and wheel: public
    "verifier.html_file": "ALL",
    "verifier.wheel": "ALL",
}

#: Endpoints whose URL cannot be filled from the world, and why (none may be silently skipped).
UNFILLABLE: dict[str, str] = {
    "static": "a file, not a route with access control",
}

ALLOWED_STATUSES = frozenset({200, 201, 204, 301, 302, 303, 307, 308})
VALIDATION = frozenset({400, 409, 410, 413, 422})
REFUSED = frozenset({401, 403, 404})

#: Tables a request may write for its own bookkeeping (sessions, rate limits): none today.
IGNORED_TABLES: frozenset[str] = frozenset()


# --- The world -------------------------------------------------------------------------------


@dataclass
class World:
    """What the URLs are filled from, and the secrets no answer may carry."""

    village: str = "sunshine"
    other_village: str = "breeze"
    township: str = "demo-town"
    ids: dict[str, Any] = field(default_factory=dict)
    #: secret ballots' codes of a poll still open: never in any answer, even when asked for
    sealed_codes: set[str] = field(default_factory=set)
    #: secret ballots' codes of a closed poll: only in an answer to a request that names them
    secret_codes: set[str] = field(default_factory=set)
    #: values no answer may ever carry (hashes, key material, temporary passwords, secrets)
    never: set[str] = field(default_factory=set)
    #: ID and phone numbers by village code
    personal: dict[str, set[str]] = field(default_factory=dict)
    #: today's meeting's check-in token: on the hall screen of those running it (and in the URL
    #: its QR opens), nowhere else
    checkin: str = ""
    #: the one member who voted "no" in both secret polls: no row of any answer may show their
    #: name with a "no"
    lone_no_voter: str = "李秀英"
    #: the cloud session of rep20's phone, joined to today's meeting
    phone_session: str = ""


def _pid(name: str) -> int:
    return db.session.execute(select(Person.id).where(Person.name == name)).scalar_one()


def _village(code: str) -> Village:
    return db.session.execute(select(Village).where(Village.code == code)).scalar_one()


def _matter(suffix: str) -> Matter:
    return db.session.execute(select(Matter).where(
        Matter.village_id == _village("sunshine").id,
        Matter.number.like(f"%-{suffix}"))).scalar_one()


def _demo_password_hash() -> str:
    """The demo accounts' hash of DEMO_PASSWORD (reused: hashing costs a quarter second)."""
    return db.session.execute(select(Account.password_hash).where(
        Account.username == "clerk")).scalar_one()


def _add_login(person_id: int, username: str) -> None:
    db.session.add(Account(person_id=person_id, username=username,
                           password_hash=_demo_password_hash()))


def _record_hall(clerk: int, meeting_id: int, at: dt.datetime) -> None:
    """The hall device's first chunk of the meeting's recording."""
    data = b"\x1a\x45\xdf\xa3" + b"hall" * 100
    recording.take_chunk(clerk, meeting_id, seq=0, prev="0" * 64,
                         sha256=hashlib.sha256(data).hexdigest(), content_type="video/webm",
                         first=True, data=data, now=at)


def build_world() -> World:
    """The demo, plus: logins for a committee member, a supervisor, a villager with no role and
    another township's admin; ID and phone numbers; a closed secret poll (10 days ago) whose
    matter is being implemented, with an answered objection and an unconfirmed update; today's
    meeting with a secret poll open and one sealed ballot; an enrolled phone joined to it, an
    enrolment QR, an invitation; a step-1 attachment; a temporary password never used; a
    second township reviewer."""
    w = World()
    seed_demo(now=NOW - 20 * DAY)
    sunshine, breeze = _village("sunshine"), _village("breeze")
    clerk, chair, township_admin = _pid("张敏"), _pid("刘芳"), _pid("吴静")
    district = _pid("郑平")
    _add_login(_pid("陈丽"), "member")
    _add_login(_pid("周涛"), "supervisor2")
    nobody = Person(name="路人甲", village_id=sunshine.id)
    db.session.add(nobody)
    db.session.flush()
    _add_login(nobody.id, "norole")
    db.session.commit()
    _, admin2 = administration.create_township_with_admin(
        district, "other-town", "邻镇", "邻镇管理员", "township2", now=NOW - 20 * DAY)
    w.never.add(admin2.password)
    account = db.session.execute(select(Account).where(
        Account.username == "township2")).scalar_one()
    account.password_hash = _demo_password_hash()
    account.must_change_password = False
    db.session.commit()
    # A temporary password issued and never used: it must never show again.
    temp = administration.create_login(township_admin, _pid("赵强"), "zhaoqiang",
                                       now=NOW - 20 * DAY)
    w.never.add(temp.password)
    # A second reviewer, whose login the township's admins disable and enable: no role's own.
    reviewer2 = administration.appoint_township_official(
        township_admin, sunshine.township_id, "审议员乙", "reviewer3", Role.TOWNSHIP_REVIEWER,
        now=NOW - 20 * DAY)
    w.never.add(reviewer2.password)

    # ID and phone numbers for every villager.
    rng = random.Random(14)
    for village in (sunshine, breeze):
        people = db.session.execute(select(Person).where(
            Person.village_id == village.id).order_by(Person.id)).scalars().all()
        for n, person in enumerate(people):
            person.id_number = id_number(rng, person.female)
            person.phone = f"13{village.id}{n:08d}"[:11]
        w.personal[village.code] = ({p.id_number for p in people if p.id_number}
                                    | {p.phone for p in people if p.phone})
    db.session.commit()

    # A matter with an attachment.
    hall = matters.open_matter(sunshine.id, clerk, {"title": "村口路灯", "text": "安装路灯"},
                               uploads=[Upload("路灯报价.pdf", b"%PDF-1.4\n" + b"q" * 200)],
                               now=NOW - 20 * DAY)
    attachment = db.session.execute(select(Attachment).join(Attachment.step_record).where(
        Attachment.step_record.has(matter_id=hall.id))).scalars().first()
    assert attachment is not None

    # The road: a secret poll 10 days ago, everyone votes, rep01 votes no; passed; an objection
    # in the notice period, answered; implementation started, an update waiting for its check.
    road = _matter("001")
    held = NOW - 10 * DAY
    m1 = assembly.convene(clerk, sunshine.id, "第三季度村民代表会议", "村委会议室", held,
                          [road.id], now=held - 3 * DAY)
    assembly.open_meeting(clerk, m1.id, now=held)
    roster = list(db.session.execute(select(MeetingMember.person_id).where(
        MeetingMember.meeting_id == m1.id).order_by(MeetingMember.person_id)).scalars())
    for member in roster:
        assembly.check_in(clerk, m1.id, member, now=held)
    poll = polls.open_poll(clerk, m1.id, road.id, VoteMode.SECRET, now=held)
    rep01 = _pid("李秀英")
    for member in roster:
        ballot = ballots.cast_ballot(member, poll.id, member,
                                      "no" if member == rep01 else "yes", now=held)
        w.secret_codes.add(ballot.code)
    polls.close_poll(clerk, poll.id, now=held)
    _record_hall(clerk, m1.id, held)  # the hall's recording (issue 19): one chunk
    assembly.close_meeting(clerk, m1.id, now=held)
    household = db.session.execute(select(Household).where(
        Household.village_id == sunshine.id).order_by(Household.id)).scalars().first()
    assert household is not None
    objection = supervision.file_objection(road.id, household.number, household.head_name,
                                           "造价偏高", "9.9.9.9", now=held + DAY)
    supervision.reply_objection(chair, objection.id, "dismissed", "已说明", now=held + 2 * DAY)
    matters.act(road.id, Action.START_IMPLEMENTATION, clerk, {}, now=NOW - DAY)
    update = supervision.record_update(clerk, road.id, "路基完成", 40, "1200", "压实",
                                       [Upload("现场.png", b"\x89PNG\r\n\x1a\n" + b"x" * 50)],
                                       now=NOW - DAY)

    # The forest: filed today, on today's meeting, a secret poll open, rep01's ballot sealed.
    forest = _matter("002")
    matters.act(forest.id, Action.DISCUSS, clerk, {
        "meeting_date": (NOW - 2 * DAY).date().isoformat(), "expected": 9, "present": 8,
        "minutes": "联席会议同意提交审议。", "plan": "公开竞价发包。"}, now=NOW - 2 * DAY)
    matters.act(forest.id, Action.FILE, _pid("孙伟"), {"filing_no": "阳光镇备〔2026〕18号"},
                now=NOW - 2 * DAY)
    m2 = assembly.convene(clerk, sunshine.id, "第四季度村民代表会议", "村委会议室", NOW,
                          [forest.id], now=NOW - 3 * DAY)
    assembly.open_meeting(clerk, m2.id, now=NOW)
    _record_hall(clerk, m2.id, NOW)
    rep20, rep19, rep18 = _pid("谢芳"), _pid("宋伟"), _pid("梁华")
    for member in roster:
        if member != rep20:  # rep20 joins from the phone
            assembly.check_in(clerk, m2.id, member, now=NOW)
    open_poll = polls.open_poll(clerk, m2.id, forest.id, VoteMode.SECRET, now=NOW)
    w.sealed_codes.add(ballots.cast_ballot(rep01, open_poll.id, rep01, "no", now=NOW).code)
    # rep19's paper ballot, entered by the clerk, waiting for a supervisor's confirmation
    batch = ballots.enter_paper(clerk, open_poll.id, [(rep19, "yes")],
                                 Upload("计票单.png", b"\x89PNG\r\n\x1a\n" + b"p" * 40), now=NOW)

    # Cloud voting: rep20's phone enrolled; an enrolment QR for rep19; an invitation for rep18.
    phone = Phone()
    row, token = cloud.issue_enrolment(clerk, sunshine.id, rep20, now=NOW)
    proof = phone.sign({"v": 1, "t": "enrol", "log": str(sunshine.origin), "member": rep20,
                        "key": phone.key, "challenge": row.challenge})
    device = cloud.attempt("enrol", "203.0.113.7", lambda seen: cloud.enrol_device(
        seen, token, proof, "246810", now=NOW))
    _, enrol_token = cloud.issue_enrolment(clerk, sunshine.id, rep19, now=NOW)
    _, invite_token = cloud.issue_invitation(clerk, m2.id, rep18, now=NOW)
    _, token = cloud.issue_invitation(clerk, m2.id, rep20, now=NOW)
    code = presence_code(bytes.fromhex(m2.presence_secret or ""), NOW)
    proof = phone.sign({"v": 1, "t": "attend", "log": str(sunshine.origin),
                        "meeting": m2.number, "member": rep20, "code": code})
    w.phone_session = cloud.attempt("join", "203.0.113.7", lambda seen: cloud.join(
        seen, token, proof, "246810", code, now=NOW)).session
    # The demo's meeting (convened before anyone had a phone): 陈丽's letter, its slip recorded.
    m0 = db.session.execute(select(Meeting).where(Meeting.village_id == sunshine.id,
                                                  Meeting.number == 1)).scalar_one()
    m0_notices = {(n.person_id, n.channel.value): n.id for n in db.session.execute(
        select(Notice).where(Notice.meeting_id == m0.id)).scalars()}
    letter = m0_notices[_pid("陈丽"), "letter"]
    notices.record_letter_receipt(clerk, letter, SHEET, "回执.png", now=NOW - 19 * DAY)
    sms = db.session.execute(select(Notice.id).where(
        Notice.meeting_id == m2.id, Notice.person_id == rep01,
        Notice.channel == NoticeChannel.SMS)).scalar_one()
    # A villager's suggestion from the public form, with its private follow code.
    followed = suggestions.submit_public_suggestion(sunshine.id, "建议修村口的路灯", "老郑",
                                                    "微信 laozheng", False, False, "198.51.100.9")
    db.session.commit()

    w.checkin = m2.checkin_code
    chenli = db.session.get(Person, _pid("陈丽"))
    assert chenli is not None and chenli.household is not None
    w.ids.update(
        road=road.number, forest=forest.number, hall=hall.number, m1=m1.number,
        m2=m2.number, m0=1, letter=letter, sms=sms, inbox=m0_notices[rep01, "inbox"],
        member=rep19, batch=batch.id, device=device.id, enrol_token=enrol_token,
        invite_token=invite_token, attachment=attachment.id, sha256=attachment.sha256,
        objection=objection.id, update=update.id, person=_pid("王磊"),
        evidence=update.evidence[0]["sha256"],
        rep20=rep20, rep18=rep18, rep01=rep01, closed_code=sorted(w.secret_codes)[0],
        sealed_code=next(iter(w.sealed_codes)),
        term=db.session.execute(select(RoleAssignment.id).where(
            RoleAssignment.person_id == _pid("孙伟"))).scalar_one(),
        official=_pid("孙伟"), checkin=m2.checkin_code,
        # a member's term and household (a relative for 王磊), a login never used
        chenli=chenli.id, chenli_household=chenli.household.number,
        chenli_term=db.session.execute(select(RoleAssignment.id).where(
            RoleAssignment.person_id == chenli.id)).scalars().first(),
        zhaoqiang=_pid("赵强"), reviewer2=_pid("审议员乙"),
        suggestion=followed.suggestion.number, follow_code=followed.code,
        # another village's and another township's objects, reached through this one's URLs
        breeze_person=_pid("冯刚"), other_official=_pid("邻镇管理员"),
        other_term=db.session.execute(select(RoleAssignment.id).where(
            RoleAssignment.person_id == _pid("邻镇管理员"))).scalar_one(),
    )
    w.never |= _stored_secrets() | {w.phone_session}  # the phone's cookie, never echoed
    return w


#: Columns whose values are secrets wherever they are (by name), and public ones that match.
SECRET_COLUMN = re.compile(r"(hash|secret|seed|salt|password|private)")
PUBLIC_COLUMNS = frozenset({("ledger_node", "hash")})


def _stored_secrets() -> set[str]:
    """Every stored hash, secret, seed and salt, as text and as the hex and base64 forms a page
    could show bytes in."""
    found: set[str] = set()
    for table in Base.metadata.sorted_tables:
        columns = [c for c in table.columns if SECRET_COLUMN.search(c.name)
                   and (table.name, c.name) not in PUBLIC_COLUMNS]
        for column in columns:
            for value in db.session.execute(select(column)).scalars():
                if isinstance(value, bytes) and len(value) >= 8:
                    found |= {value.hex(), base64.b64encode(value).decode().rstrip("="),
                              base64.urlsafe_b64encode(value).decode().rstrip("=")}
                elif isinstance(value, str) and len(value) >= 8:
                    found.add(value)
    return found


#: A one-villager roster file for the import (the columns of domain/register_import.py).
IMPORT_CSV = csv_bytes(roster_rows(1, seed=14))
SHEET = b"\x89PNG\r\n\x1a\n" + b"sheet" * 20


# --- URLs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One URL of an endpoint, with a label when an endpoint has several. A POST sends the CSRF
    token and ``data`` (a form; ``(bytes, filename)`` for a file) or ``json``: empty unless the
    view checks the input before the role, where a valid body makes the role check decide."""

    path: str
    label: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    json: Any = None


def cases(w: World) -> dict[str, list[Case]]:
    """How each endpoint's URL is filled from the world."""
    v, t, i = w.village, w.township, w.ids
    road, forest = i["road"], i["forest"]
    room = f"/v/{v}/meetings/{i['m2']}"
    one = {  # endpoint → path
        "admin.add_household": f"/v/{v}/register/households",
        "admin.add_official": f"/t/{t}/officials",
        "admin.add_person": f"/v/{v}/register/people",
        "admin.create_township": "/admin/townships",
        "admin.create_village": f"/t/{t}/villages",
        "admin.district": "/admin/",
        "admin.end_township_term": f"/t/{t}/terms/{i['term']}/end",
        "admin.history": f"/v/{v}/register/history",
        "admin.import_apply": f"/v/{v}/register/import/apply",
        "admin.import_page": f"/v/{v}/register/import",
        "admin.register": f"/v/{v}/register",
        "admin.settings": f"/t/{t}/settings",
        "admin.township": f"/t/{t}/",
        "api.add_checkpoint": f"/witness/{t}/add-checkpoint",
        "assembly.request_meeting": f"/v/{v}/meetings/request",
        "auth.change_password": "/password",
        "auth.forgot_password": "/password/forgot",
        "auth.login": "/login",
        "auth.logout": "/logout",
        "cloud.audit_json": f"{room}/cloud.json",
        "video.hall_poll": f"{room}/video/signal.json?sid=matrixhall01&after=0",
        "video.hall_send": f"{room}/video/signal",
        "video.phone": "/c/video",
        "video.phone_poll": "/c/video/signal.json?after=0",
        "video.phone_send": "/c/video/signal",
        "video.hall_publish": f"{room}/video/publish",
        "video.hall_subscribe": f"{room}/video/subscribe",
        "video.hall_start": f"{room}/video/start",
        "video.phone_publish": "/c/video/publish",
        "video.phone_subscribe": "/c/video/subscribe",
        "video.phone_start": "/c/video/start",
        "video.watch_poll": f"{room}/video/watch.json?sid=matrixwatch1",
        "video.watch_subscribe": f"{room}/video/watch/subscribe",
        "video.watch_start": f"{room}/video/watch/start",
        "cloud.devices": f"/v/{v}/cloud",
        "cloud.enrol": f"/c/enrol/{i['enrol_token']}",
        "cloud.enrol_post": "/c/enrol/device",
        "cloud.enrol_start": "/c/enrol",
        "assembly.invite": f"{room}/invite/{i['rep18']}",
        "notices.inbox": "/me/notices",
        "notices.outbox": f"/t/{t}/notices",
        "notices.open_notice": f"/me/notices/{i['inbox']}/open",
        "notices.letters_pdf": f"/v/{v}/meetings/{i['m0']}/letters.pdf",
        "notices.resend": f"{room}/notices/{i['sms']}/resend",
        "notices.slip_photo": f"/v/{v}/meetings/{i['m0']}/notices/{i['letter']}/slip-photo",
        "cloud.issue_enrolment": f"/v/{v}/cloud/enrol/{i['member']}",
        "cloud.join": f"/c/join/{i['invite_token']}",
        "cloud.join_post": "/c/join/checkin",
        "cloud.join_start": "/c/join",
        "cloud.material": f"/c/file/{i['attachment']}",
        "cloud.meeting": "/c/meeting",
        "cloud.meeting_json": "/c/meeting.json",
        "cloud.leave": "/c/leave",
        "cloud.receipt": f"/c/receipt/{i['closed_code']}",
        "cloud.revoke": f"/v/{v}/cloud/revoke/{i['device']}",
        "cloud.unlock": f"/v/{v}/cloud/unlock/{i['device']}",
        "cloud.vote": "/c/vote",
        "opendata.checkpoint": f"/api/public/villages/{v}/checkpoint",
        "opendata.checkpoints": "/api/public/checkpoints",
        "opendata.matter": f"/api/public/villages/{v}/matters/{road}",
        "opendata.matters": f"/api/public/villages/{v}/matters",
        "opendata.openapi": "/api/openapi.json",
        "opendata.polls": f"/api/public/villages/{v}/polls",
        "opendata.village": f"/api/public/villages/{v}",
        "opendata.villages": "/api/public/villages",
        "oversight.district": "/admin/oversight",
        "oversight.district_matters": "/admin/oversight/matters?category=2&q=%25",
        "oversight.township_matters": f"/t/{t}/oversight/matters?year=2026&state=progress",
        "oversight.township": f"/t/{t}/oversight",
        "oversight.village": f"/t/{t}/oversight/v/{v}",
        "public.index": "/",
        "public.ledger_export": f"/p/{v}/ledger.zip",
        "public.ledger_consistency": f"/p/{v}/ledger/consistency?from=1",
        "public.matter": f"/p/{v}/m/{road}",

        "public.notice": f"/p/{v}/m/{road}/notice",
        "public.notice_pdf": f"/p/{v}/m/{road}/notice.pdf",
        "documents.meeting_notice": f"/p/{v}/meetings/{i['m2']}/notice.pdf",
        "documents.minutes": f"/p/{v}/meetings/{i['m1']}/minutes.pdf",
        "documents.implementation_report": f"/p/{v}/m/{road}/implementation.pdf",
        "documents.completion_certificate": f"/p/{v}/m/{road}/completion.pdf",
        "documents.signin_sheet": f"/v/{v}/meetings/{i['m2']}/signin.pdf",
        "documents.ballots": f"/v/{v}/meetings/{i['m2']}/items/1/ballots-secret.pdf",
        "documents.tally_sheet": f"/v/{v}/meetings/{i['m1']}/items/1/tally-named.pdf",
        "public.object_": f"/p/{v}/m/{road}/object",
        "public.poster": f"/p/{v}/poster",
        "public.qr_png": f"/p/{v}/qr.png",
        "public.qr_svg": f"/p/{v}/qr.svg",
        "public.rate": f"/p/{v}/m/{road}/rate",
        "public.receipt": f"/p/{v}/receipt?ballot={i['closed_code']}",
        "public.receipt_file": f"/p/{v}/receipt/{i['closed_code']}.receipt",
        "public.rules": "/rules",
        "public.suggest": f"/p/{v}/suggest",
        "public.suggestions": f"/p/{v}/suggestions",
        "public.suggestion": f"/p/{v}/s/{i['suggestion']}",
        "public.suggestion_submitted": f"/p/{v}/s/{i['suggestion']}/new",
        "public.suggestion_follow": f"/p/{v}/s/{i['suggestion']}/follow",
        "public.village": f"/p/{v}/",
        "supervision.ask_witness": f"/v/{v}/ledger/witness",
        "supervision.confirm": f"/v/{v}/supervise/updates/{i['update']}",
        "supervision.ledger_page": f"/v/{v}/ledger",
        "supervision.reply": f"/v/{v}/supervise/objections/{i['objection']}",
        "supervision.verify_now": f"/v/{v}/ledger/verify",
        "supervision.workspace": f"/v/{v}/supervise",
        "api.matter": f"/api/v1/villages/{v}/matters/{forest}",
        "matters.download": f"/v/{v}/files/{i['sha256']}",
        "matters.home": "/home",
        "matters.matter": f"/v/{v}/m/{forest}",
        "matters.open_matter": f"/v/{v}/matters/open",
        "matters.record_suggestion": f"/v/{v}/suggestions/record",
        "matters.decline_suggestion": f"/v/{v}/suggestions/decline",
        "matters.suggestions": f"/v/{v}/suggestions",
        "matters.village": f"/v/{v}/",
        "matters.merge": f"/v/{v}/m/{i['hall']}/merge",
        "matters.discuss": f"/v/{v}/m/{forest}/discuss",
        "matters.review": f"/v/{v}/m/{forest}/review",
        "matters.start": f"/v/{v}/m/{road}/start",
        "matters.complete": f"/v/{v}/m/{road}/complete",
        "matters.withdraw": f"/v/{v}/m/{forest}/withdraw",
        "matters.breach": f"/v/{v}/m/{forest}/breach",
        "matters.repropose": f"/v/{v}/m/{forest}/repropose",
        "matters.record_update": f"/v/{v}/m/{road}/implementation",
    }
    today = NOW.date().isoformat()
    closed = f"/v/{v}/meetings/{i['m1']}"  # the secret poll closed 10 days ago
    many: dict[str, list[Case]] = {
        "assembly.room": [Case(room, "today"), Case(closed, "closed")],
        "assembly.hall": [Case(f"{room}/hall", "today"), Case(f"{closed}/hall", "closed")],
        "assembly.room_stamp_json": [Case(f"{room}/stamp.json", "today"),
                                     Case(f"{closed}/stamp.json", "closed")],
        "assembly.hall_video": [Case(f"{room}/video", "today"), Case(f"{closed}/video", "closed")],
        "recording.upload": [Case(f"{room}/recording/chunks", "today"),
                             Case(f"{closed}/recording/chunks", "closed")],
        "recording.page": [Case(f"{room}/recording", "today"),
                           Case(f"{closed}/recording", "closed")],
        "recording.run_media": [Case(f"{room}/recording/run-1.webm", "today"),
                                Case(f"{closed}/recording/run-1.webm", "closed")],
        "recording.download": [Case(f"{room}/recording/recording.zip", "today"),
                               Case(f"{closed}/recording/recording.zip", "closed")],
        "recording.purge": [Case(f"{room}/recording/purge", "today"),
                            Case(f"{closed}/recording/purge", "closed")],
        "assembly.hall_json": [Case(f"{room}/hall.json", "today"),
                               Case(f"{closed}/hall.json", "closed")],
        "public.matter_file": [
            Case(f"/p/{v}/m/{road}/files/{i['evidence']}", "evidence"),
            Case(f"/p/{v}/m/{i['hall']}/files/{i['sha256']}", "step1")],  # step 1's: private
        "admin.add_official": [Case(f"/t/{t}/officials", data={
            "official-name": "新审议员", "official-username": "newreviewer",
            "official-role": Role.TOWNSHIP_REVIEWER.value})],
        "admin.end_township_term": [
            Case(f"/t/{t}/terms/{i['term']}/end", "own", data={
                "end-last_day": today, "end-reason": "调动"}),
            Case(f"/t/{t}/terms/{i['other_term']}/end", "other-township", data={
                "end-last_day": today, "end-reason": "调动"})],
        "admin.person": [Case(f"/v/{v}/register/p/{i['person']}", "own"),
                         Case(f"/v/{v}/register/p/{i['breeze_person']}", "other-village")],
        "assembly.meetings": [Case(f"/v/{v}/meetings", data={
            "title": "临时会议", "place": "村委会议室",
            "starts_at": (NOW + 6 * DAY).astimezone(CHINA).strftime("%Y-%m-%dT%H:%M")})],
        "admin.import_apply": [Case(f"/v/{v}/register/import/apply", data={
            "filename": "roster.csv", "content": base64.b64encode(IMPORT_CSV).decode(),
            "sha256": hashlib.sha256(IMPORT_CSV).hexdigest()})],
        "admin.export": [Case(f"/v/{v}/register/export.csv", "csv")],
        "admin.template": [Case(f"/v/{v}/register/template.csv", "csv")],
        "admin.update_person": [
            Case(f"/v/{v}/register/p/{i['person']}/edit", "own"),
            Case(f"/v/{v}/register/p/{i['breeze_person']}/edit", "other-village")],
        "admin.appoint_role": [Case(f"/v/{v}/register/p/{i['person']}/appoint", data={
            "appoint-role": Role.PARTY_BRANCH_MEMBER.value, "appoint-starts_on": today})],
        "admin.end_term": [Case(f"/v/{v}/register/p/{i['chenli']}/end-{i['chenli_term']}", data={
            "end-last_day": today, "end-reason": "调动"})],
        "admin.add_kinship": [Case(f"/v/{v}/register/p/{i['person']}/kin", data={
            "kin-household": i["chenli_household"], "kin-name": "陈丽",
            "kin-relation": CLOSE_RELATIONS[0]})],
        "admin.create_login": [Case(f"/v/{v}/register/p/{i['person']}/login", data={
            "login-username": "wanglei"})],
        **{f"admin.{endpoint}": [Case(f"/v/{v}/register/p/{i['zhaoqiang']}/{action}")]
           for endpoint, action in (("reset_password", "reset"), ("disable_login", "disable"),
                                    ("enable_login", "enable"))},
        "admin.reset_township_password": [
            Case(f"/t/{t}/people/{i['official']}/login/reset", "own"),
            Case(f"/t/{t}/people/{i['other_official']}/login/reset", "other-township")],
        "admin.disable_township_login": [Case(f"/t/{t}/people/{i['reviewer2']}/login/disable")],
        "admin.enable_township_login": [Case(f"/t/{t}/people/{i['reviewer2']}/login/enable")],
        "assembly.check_in_self": [Case(f"{room}/checkin")],
        "assembly.check_in_member": [Case(f"{room}/checkin-{i['rep18']}")],
        "assembly.vote": [Case(f"{room}/vote-1", data={"choice": "yes"})],
        "assembly.recuse": [Case(f"{room}/recuse-1")],
        "assembly.enter_paper": [Case(f"{room}/paper-1", data={"sheet": (SHEET, "计票单.png")})],
        "assembly.close_poll": [Case(f"{room}/closepoll-1")],
        "assembly.close_meeting": [Case(f"{room}/close")],
        "assembly.open_meeting": [Case(f"{room}/open")],
        "assembly.open_poll": [Case(f"{room}/poll-1", data={"mode": "named"})],
        "assembly.void_poll": [Case(f"{room}/voidpoll-1", data={"void-reason": "试"})],
        "assembly.confirm_paper": [Case(f"{room}/confirm-{i['batch']}")],
        "assembly.discard_paper": [Case(f"{room}/discard-{i['batch']}")],
        "assembly.checkin_many": [Case(f"{room}/checkin-many", data={"member": str(i["rep18"])})],
        "assembly.checkin_except": [Case(f"{room}/checkin-except",
                                         data={"member": str(i["rep18"])})],
        "assembly.leave": [Case(f"{room}/leave/{i['rep18']}", "member"),
                           Case(f"{room}/leave/{i['rep01']}", "self")],
        "assembly.self_checkin": [Case(f"{room}/checkin/{i['checkin']}")],
        "notices.record_slip": [Case(f"/v/{v}/meetings/{i['m0']}/notices/{i['letter']}/slip",
                                     data={"photo": (SHEET, "回执.png")})],
        "cloud.enrol_open": [Case("/c/enrol", data={"token": i["enrol_token"]})],
        "cloud.join_open": [Case("/c/join", data={"token": i["invite_token"]})],
        "public.suggestion_private": [Case(f"/p/{v}/s/{i['suggestion']}/follow",
                                           data={"t": i["follow_code"]})],
        "oversight.district_export": [Case("/admin/oversight/warnings.csv", "csv")],
        "oversight.township_export": [Case(f"/t/{t}/oversight/warnings.csv", "csv")],
        "oversight.village_export": [Case(f"/t/{t}/oversight/v/{v}/warnings.csv", "csv")],
        "verifier.page": [Case(f"/t/{t}/verifier")],
        "verifier.html_file": [Case(f"/t/{t}/verifier/sunvote-verifier.html")],
        "verifier.wheel": [Case(f"/t/{t}/verifier/sunvote-0.1.0-py3-none-any.whl")],
        "matters.propose": [Case(f"/v/{v}/m/{i['hall']}/propose", data={
            "propose-category": "8", "propose-title": "村口路灯",
            "propose-summary": "安装路灯二十盏", "propose-amount": "30000"})],
        **{f"api.{endpoint}": [Case(f"/api/v1/villages/{v}/matters/{number}/actions/{action}",
                                    json={})]
           for endpoint, action, number in (
               ("propose", "propose", i["hall"]),
               ("propose_and_discuss", "propose_and_discuss", i["hall"]),
               ("discuss", "discuss", forest), ("drop", "drop", forest),
               ("file", "file", forest), ("return_", "return", forest),
               ("withdraw", "withdraw", forest), ("flag_breach", "flag_breach", forest),
               ("start_implementation", "start_implementation", road),
               ("complete", "complete", road), ("refuse_completion", "refuse_completion", road),
               ("repropose", "repropose", forest), ("suggest", "suggest", forest),
               ("record_vote", "record_vote", forest), ("unknown_action", "explode", forest))},
    }
    out = {endpoint: [Case(path)] for endpoint, path in one.items()}
    out.update(many)
    return out


# --- Watching writes ---------------------------------------------------------------------------

READ_ONLY = re.compile(r"\s*(SELECT|PRAGMA|BEGIN|SAVEPOINT|RELEASE|ROLLBACK|COMMIT|SHOW|SET)\b",
                       re.IGNORECASE)


class WriteWatch:
    """Notes whether the app sent any statement but a read while ``on`` (same thread)."""

    def __init__(self, engine: Engine) -> None:
        self.on = False
        self.wrote = False
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if self.on and not READ_ONLY.match(statement):
            self.wrote = True


class Snapshot:
    """Every row of every table (but ``IGNORED_TABLES``): compared after a request that sent a
    statement other than a read, and put back when an allowed request changed something."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.tables = [t for t in Base.metadata.sorted_tables if t.name not in IGNORED_TABLES]
        self.rows = self._read()

    def _read(self) -> dict[str, list[Any]]:
        with self.engine.connect() as conn:
            return {t.name: [tuple(r) for r in conn.execute(
                t.select().order_by(*(t.primary_key.columns or t.columns)))]
                for t in self.tables}

    def changed(self) -> list[str]:
        """The tables whose rows differ from the snapshot."""
        now = self._read()
        return [name for name, rows in self.rows.items() if now[name] != rows]

    def restore(self) -> None:
        """Every table as it was: rows deleted children first, then inserted parents first
        (with their ids; a PostgreSQL sequence that moved on stays ahead, which is harmless)."""
        with self.engine.begin() as conn:
            for table in reversed(self.tables):
                conn.execute(table.delete())
            for table in self.tables:
                rows = [dict(zip(table.columns.keys(), row, strict=True))
                        for row in self.rows[table.name]]
                if rows:
                    conn.execute(table.insert(), rows)


# --- The run -------------------------------------------------------------------------------


@dataclass
class Matrix:
    """The module's app and world, and what the run observed."""

    app: Flask
    world: World
    watch: WriteWatch
    cases: dict[str, list[Case]]
    #: (endpoint, method, label) → roles seen let through (printed with SUNVOTE_MATRIX_PRINT=1)
    seen: dict[tuple[str, str, str], set[str]] = field(default_factory=dict)
    statuses: dict[tuple[str, str, str, str], int] = field(default_factory=dict)
    restores: int = 0


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory,
           postgres_url: str | None) -> Iterator[Matrix]:
    """The app on a database holding the world, built once for the module."""
    tmp = tmp_path_factory.mktemp("matrix")
    url = postgres_url or f"sqlite:///{tmp / 'matrix.sqlite3'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SUNVOTE_INSTANCE_PATH", str(tmp / "instance"))
        # JANUS_URL: the meeting video's SFU routes exist (docs/video.md "Through Janus"); the
        # matrix's requests are refused or malformed before SunVote would ask Janus anything
        app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url,
                          "SERVER_NAME": "sunvote.test",
                          "JANUS_URL": "http://127.0.0.1:9/janus"})
        with app.app_context():
            if postgres_url is None:
                db.create_all()
            world = build_world()
            db.session.remove()
            # the township's verifier downloads (docs/browser-verifier.md), small stand-ins
            verifier = Path(app.config["VERIFIER_DIR"])
            verifier.mkdir(parents=True, exist_ok=True)
            (verifier / "sunvote-verifier.html").write_text("<!doctype html><title>v</title>")
            (verifier / "sunvote-0.1.0-py3-none-any.whl").write_bytes(b"PK\x05\x06" + bytes(18))
            m = Matrix(app, world, WriteWatch(db.engine), cases(world))
        yield m
        if os.environ.get("SUNVOTE_MATRIX_PRINT"):
            print_observed(m)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    if postgres_url is not None:
        _empty_postgres(postgres_url)


def print_observed(m: Matrix) -> None:
    """The rows as observed, to paste into MATRIX when adding routes (review them first!)."""
    by_endpoint: dict[str, dict[str, str]] = {}
    for (endpoint, method, label), roles in sorted(m.seen.items()):
        key = f"{method} {label}".strip()
        by_endpoint.setdefault(endpoint, {})[key] = " ".join(r for r in ROLES if r in roles) or "-"
    print(f"\n{m.restores} restores")
    for (endpoint, method, label), _roles in sorted(m.seen.items()):
        print(f"  # {endpoint} {method} {label}: " + " ".join(
            f"{r}={m.statuses.get((endpoint, method, label, r))}" for r in ROLES))
    for endpoint, row in by_endpoint.items():
        values = set(row.values())
        print(f"    {endpoint!r}: " + (repr(values.pop()) if len(values) == 1 else repr(row)) + ",")


def expected(endpoint: str, method: str, label: str) -> frozenset[str]:
    row = MATRIX[endpoint]
    if isinstance(row, str):
        return roles_of(row)
    for key in (f"{method} {label}", label, method):
        if key in row:
            return roles_of(row[key])
    raise AssertionError(f"MATRIX[{endpoint!r}] has no entry for {method} {label!r}")


def verdict(response: Any) -> str:
    """'allowed', 'refused' or 'unexpected' (see the module docstring)."""
    status = response.status_code
    if 300 <= status < 400:
        location = response.headers.get("Location", "")
        return "refused" if re.match(r"(https?://[^/]+)?/login\b", location) else "allowed"
    if status in ALLOWED_STATUSES or status in VALIDATION:
        return "allowed"
    if status in REFUSED:
        return "refused"
    return "unexpected"


def csrf_token_for(app: Flask, client: FlaskClient) -> str:
    """A valid CSRF token for the client's session (what Flask-WTF puts in its forms)."""
    with client.session_transaction() as session:
        raw = session.setdefault("csrf_token", hashlib.sha1(os.urandom(64)).hexdigest())
    return URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="wtf-csrf-token").dumps(raw)


#: Who may see the ID and phone numbers of each village's people (PERSONAL_DATA_READERS).
PERSONAL_DATA_SEEN_BY: dict[str, frozenset[str]] = {
    "sunshine": roles_of("clerk secretary township"),
    "breeze": roles_of("clerk2 township"),
}


#: Where a page or a JSON answer starts a row (a table row, a list item, an object), and a "no".
ROW = re.compile(r"<tr\b|<li\b|\{")
NO_CHOICE = re.compile(r"反对|&#34;no&#34;|\"no\"|'no'")


def leaks(w: World, role: str, path: str, response: Any, shown: set[str]) -> list[str]:
    """The secrets an answer carries that it must not; adds to ``shown`` what it carried
    rightly (the checks' controls: a check that never sees its secret proves nothing)."""
    body = response.get_data() + str(response.headers).encode()
    shown |= {"asked code" for c in w.secret_codes if c.encode() in body and c in path}
    shown |= {f"personal {village}" for village, numbers in w.personal.items()
              if any(n.encode() in body for n in numbers)}
    found = [f"secret value {s[:12]}…" for s in w.never if s.encode() in body]
    found += [f"sealed ballot code {c}" for c in w.sealed_codes if c.encode() in body]
    found += [f"secret ballot code {c} not asked for" for c in w.secret_codes
              if c.encode() in body and c not in path]
    text = body.decode("utf-8", "replace")
    if role != "rep":  # rep01 is the voter: their own choice may show to them (sealed.py)
        found += [f"a row naming {w.lone_no_voter} with a 'no' (theirs is the only one in a "
                  "secret poll)" for row in ROW.split(text)
                  if w.lone_no_voter in row and NO_CHOICE.search(row)]
    if w.checkin.encode() in body and w.checkin not in path and role not in roles_of("RUNNERS"):
        found.append("the meeting's check-in token")
    for village, numbers in w.personal.items():
        if role not in PERSONAL_DATA_SEEN_BY[village]:
            shown_numbers = sorted(n for n in numbers if n.encode() in body)
            if shown_numbers:
                found.append(f"{len(shown_numbers)} {village} ID/phone numbers, e.g. "
                             f"{shown_numbers[0]}")
    return found


def requests_of(m: Matrix) -> list[tuple[str, str, Case]]:
    """(endpoint, method, case) for every route; logging out comes last."""
    out = []
    for rule in m.app.url_map.iter_rules():
        if rule.endpoint in UNFILLABLE:
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            out += [(rule.endpoint, method, case) for case in m.cases[rule.endpoint]]
    return sorted(out, key=lambda r: (r[0] == "auth.logout", r[0], r[1], r[2].label))


def test_every_route_has_a_row_and_a_url(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUNVOTE_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert set(MATRIX) | set(UNFILLABLE) == endpoints, (
        "routes without a row in MATRIX (add one, with the roles it lets through): "
        f"{sorted(endpoints - set(MATRIX) - set(UNFILLABLE))}; rows for no route: "
        f"{sorted((set(MATRIX) | set(UNFILLABLE)) - endpoints)}")
    assert set(cases(World(ids=defaultdict(lambda: 1)))) == set(MATRIX), "CASES and MATRIX differ"
    assert not set(MATRIX) & set(UNFILLABLE)


@pytest.mark.parametrize("role", list(ROLES))
def test_every_route_answers_the_role_as_the_matrix_says(matrix: Matrix, role: str) -> None:
    m, w = matrix, matrix.world
    client = m.app.test_client()
    username = ROLES[role]
    if username is not None:
        login(client, username)
    if role == "phone":
        client.set_cookie(CLOUD_COOKIE, w.phone_session, domain="sunvote.test", path="/c/")
    token = csrf_token_for(m.app, client)
    with m.app.app_context():
        engine = db.engine
    snapshot = Snapshot(engine)
    failures: list[str] = []
    shown: set[str] = set()
    for endpoint, method, case in requests_of(m):
        with m.app.app_context():  # limits are tested apart (test_limits.py): here only access
            limits_service.reset()
        m.watch.wrote, m.watch.on = False, True
        try:
            if method == "GET":
                response = client.get(case.path)
            elif case.json is not None:
                response = client.open(case.path, method=method, json=case.json,
                                       headers={"X-CSRFToken": token})
            else:
                data = {k: (io.BytesIO(val[0]), val[1]) if isinstance(val, tuple) else val
                        for k, val in case.data.items()}
                response = client.open(case.path, method=method,
                                       data={"csrf_token": token, **data},
                                       headers={"X-CSRFToken": token})
        except Exception as exc:  # TESTING propagates a 500's exception: name where it was
            failures.append(f"{method} {case.path} ({endpoint}) as {role}: raised {exc!r}")
            if snapshot.changed():
                snapshot.restore()
            continue
        finally:
            m.watch.on = False
        where = f"{method} {case.path} ({endpoint}) as {role}: {response.status_code}"
        seen = verdict(response)
        if seen == "allowed":
            m.seen.setdefault((endpoint, method, case.label), set()).add(role)
        else:
            m.seen.setdefault((endpoint, method, case.label), set())
        if endpoint in MATRIX:
            want = "allowed" if role in expected(endpoint, method, case.label) else "refused"
            if seen != want:
                failures.append(f"{where} is {seen}, the matrix says {want}")
        failures += [f"{where} leaks {leak}"
                     for leak in leaks(w, role, case.path, response, shown)]
        m.statuses[(endpoint, method, case.label, role)] = response.status_code
        if m.watch.wrote:
            changed = snapshot.changed()
            if changed and seen != "allowed":
                failures.append(f"{where} was refused but wrote {changed}")
            if changed:
                snapshot.restore()
                m.restores += 1
    assert not failures, "\n".join(failures)
    # The controls: the leak checks saw what they look for where it may be shown.
    assert "asked code" in shown, "the public receipt page never showed the code asked for"
    if role in PERSONAL_DATA_SEEN_BY["sunshine"]:
        assert "personal sunshine" in shown, f"{role} was never shown an ID or phone number"
