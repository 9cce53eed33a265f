"""No input gives a 500: Hypothesis posts nasty values into every field of every form route and
every JSON route, logged in as a role that may use it and with a valid CSRF token, so the values
reach the forms' and services' checks. A route in the URL map that this file does not fuzz fails
the test (add a row to TARGETS).

The starting world (demo data, logged-in clients) is built once for the module; the requests
may change it (a fuzzed household may be added), which only widens what later examples meet.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from sunvote.domain.procedure import MatterState
from sunvote.extensions import db
from sunvote.models import (
    Device,
    Matter,
    Meeting,
    Notice,
    Person,
    RoleAssignment,
    Village,
)
from tests.conftest import csrf_token, login
from tests.web.module_demo import demo_app_once

# --- Nasty values ---------------------------------------------------------------------------------

#: Values that broke SunVote once, or that break code like it: superscript digits (str.isdigit()
#: says yes, int() says no), integers past PostgreSQL's integer and bigint, the year 0001 and
#: 9999 (timezone arithmetic overflows), amounts that parse to infinity or NaN, newlines and
#: `%` (format strings), strings longer than any column, lone surrogates and bytes that are not
#: UTF-8 (sent raw), and markup.
NASTY_TEXT: list[str | bytes] = [
    "", " ", "0", "-1", "1", "²", "¹²³", "٣", "①", "1²", "0x10", "1_000",
    "2147483648", "-2147483649", "9223372036854775808", "9" * 40, "-" + "9" * 40,
    "1e309", "-1e309", "1e-400", "inf", "-Infinity", "nan", "NaN", "sNaN", "1e999999999",
    "0001-01-01", "0001-01-01T00:00", "0001-01-01T00:00:00+14:00", "9999-12-31",
    "9999-12-31T23:59", "9999-12-31T23:59:59-12:00", "2026-02-30", "0000-00-00",
    "\n", "a\r\nb", "/\n/evil.example", "//evil.example", "/%09/evil.example",
    "%", "%s", "%(x)s", "%(n)d", "{}", "{0}", "\\", "'", '"', "<script>alert(1)</script>",
    "x" * 300, "长" * 2000, "x" * 70_000, "\u202e", "\ufeff", "🙂" * 50,
    b"\xff\xfe", b"\xed\xa0\x80", "\ud800".encode("utf-8", "surrogatepass"), b"a\xc3",
]

#: Examples per route: a few in CI; SUNVOTE_FUZZ_EXAMPLES=500 for a long hunt.
EXAMPLES = int(os.environ.get("SUNVOTE_FUZZ_EXAMPLES", "12"))

nasty_text: st.SearchStrategy[str | bytes] = st.one_of(
    st.sampled_from(NASTY_TEXT), st.sampled_from(NASTY_TEXT),
    st.text(max_size=40),
    st.integers().map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.dates().map(lambda d: d.isoformat()),
)

#: JSON values for a JSON field: the above, plus wrong types and containers.
nasty_json_value: st.SearchStrategy[Any] = st.one_of(
    nasty_text.map(lambda v: v.decode("utf-8", "surrogateescape") if isinstance(v, bytes) else v),
    st.sampled_from([None, True, False, 0, -1, 2**31, 2**63, 10**40, -(10**40), 1e308, 1.5,
                     [], {}, [1], {"a": 1}, "\ud800", "\udfff"]),
    st.integers(), st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.integers(), max_size=3),
)


def deep(n: int) -> bytes:
    return b"[" * n + b"]" * n


#: Whole JSON bodies that are not an object of fields.
NASTY_BODIES: list[bytes] = [
    b"", b"null", b"[]", b"[1, 2]", b'"text"', b"1", b"1e309", b"true", b"{", b"{]",
    deep(100_000), b'{"a": ' * 50_000 + b"1" + b"}" * 50_000, b'{"a": "\xff"}',
    b'{"a": "\\ud800"}', b"NaN", b"Infinity", b'{"a": NaN}',
]


# --- The targets ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class World:
    """Ids in the starting world that the targets' URLs need."""

    person: int
    official: int
    term: int
    person_term: int  # one of person's terms
    member: int
    device: int
    meeting: int
    enrol_token: str
    opened: str  # a matter's number, awaiting the proposal
    proposed: str  # awaiting the joint meeting
    filed: str  # on a meeting's agenda
    inbox: int = 1  # rep01's inbox notice of the meeting
    letter: int = 1  # a letter notice of the meeting (陈丽 has no mobile number)


@dataclass(frozen=True)
class Target:
    """One fuzzed request: who sends it, where, and which fields (form or JSON)."""

    role: str  # a demo user name, or "" for anonymous
    path: Callable[[World], str]
    fields: tuple[str, ...] = ()
    json: bool = False
    id: str = ""
    extra: dict[str, str] = field(default_factory=dict)  # fixed fields sent with the fuzzed ones
    query: tuple[str, ...] = ()  # fuzzed query parameters
    get: bool = False  # a GET with only the fuzzed query (the filtered matter lists)
    fresh: bool = False  # a new anonymous client per example (the request logs it in)


V = "/v/sunshine"
API = "/api/v1/villages/sunshine/matters"
PROPOSE = ("category", "category_reason", "title", "summary", "amount", "version")
MEETING = ("meeting_date", "expected", "present", "minutes")
SETTING_KEYS = ("meeting_notice_days", "public_notice_days", "objection_reply_days", "quorum",
                "pass_rule", "pass_rule.category_1", "pass_rule.category_10",
                "recusal_counts_present", "merge_propose_discuss", "step_limit_days",
                "witness_limit_days", "notice_ending_days")


MATTER_FILTER = ("category", "year", "state", "q", "page")


def prefixed(prefix: str, names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f"{prefix}-{n}" for n in names)


#: Every POST route and JSON route, by endpoint, with the requests that fuzz it.
TARGETS: dict[str, list[Target]] = {
    # The filtered matter lists (GET): every parameter of domain/matter_filter.py.
    "public.village": [Target("", lambda w: "/p/sunshine/", query=MATTER_FILTER, get=True)],
    "matters.village": [Target("clerk", lambda w: f"{V}/", query=MATTER_FILTER, get=True)],
    "public.ledger_consistency": [Target("", lambda w: "/p/sunshine/ledger/consistency",
                                         query=("from", "to"), get=True)],
    "oversight.township_matters": [Target("township", lambda w: "/t/demo-town/oversight/matters",
                                          query=MATTER_FILTER, get=True)],
    "oversight.district_matters": [Target("district", lambda w: "/admin/oversight/matters",
                                          query=MATTER_FILTER, get=True)],
    "auth.login": [Target("", lambda w: "/login", ("username", "password"), query=("next",)),
                   Target("", lambda w: "/login", query=("next",), fresh=True, id="next",
                          extra={"username": "rep04", "password": "sunvote2026"})],
    "auth.logout": [Target("", lambda w: "/logout")],
    "auth.change_password": [Target("rep03", lambda w: "/password", ("current", "new", "again"))],
    "admin.create_township": [Target("district", lambda w: "/admin/townships",
                                     ("code", "name", "admin_name", "admin_username"))],
    "admin.create_village": [Target("township", lambda w: "/t/demo-town/villages",
                                    ("code", "name", "clerk_name", "clerk_username"))],
    "admin.add_official": [Target("township", lambda w: "/t/demo-town/officials",
                                  prefixed("official", ("name", "username", "role")))],
    "admin.end_township_term": [Target("township", lambda w: f"/t/demo-town/terms/{w.term}/end",
                                       prefixed("end", ("last_day", "reason")))],
    "admin.settings": [Target("township", lambda w: "/t/demo-town/settings",
                              tuple(f"setting-{k}" for k in SETTING_KEYS))],
    **{f"admin.{endpoint}": [
        Target("township", lambda w, a=a: f"/t/demo-town/people/{w.official}/login/{a}")]
       for endpoint, a in (("disable_township_login", "disable"),
                           ("enable_township_login", "enable"),
                           ("reset_township_password", "reset"))},
    "admin.add_household": [Target("clerk", lambda w: f"{V}/register/households",
                                   ("number", "head_name", "group_name", "address"))],
    "admin.add_person": [Target("clerk", lambda w: f"{V}/register/people",
                                ("name", "sex", "household", "id_number", "phone",
                                 "party_member", "accounting_skill"))],
    "admin.update_person": [Target("clerk", lambda w: f"{V}/register/p/{w.person}/edit", prefixed(
        "edit", ("name", "sex", "household", "id_number", "phone", "party_member")))],
    "admin.appoint_role": [
        Target("clerk", lambda w: f"{V}/register/p/{w.person}/appoint", prefixed(
            "appoint", ("role", "starts_on", "ends_on", "households_represented",
                        "group_name")), id="representative",
            extra={"appoint-role": "representative"}),
        Target("clerk", lambda w: f"{V}/register/p/{w.person}/appoint", prefixed(
            "appoint", ("role", "starts_on", "ends_on", "households_represented",
                        "group_name")), id="any")],
    "admin.end_term": [Target("clerk", lambda w: f"{V}/register/p/{w.person}/end-{w.person_term}",
                              prefixed("end", ("last_day", "reason")))],
    "admin.add_kinship": [Target("clerk", lambda w: f"{V}/register/p/{w.person}/kin", prefixed(
        "kin", ("household", "name", "relation")))],
    "admin.create_login": [Target("clerk", lambda w: f"{V}/register/p/{w.person}/login",
                                  prefixed("login", ("username",)))],
    **{f"admin.{endpoint}": [Target("clerk", lambda w, a=a: f"{V}/register/p/{w.person}/{a}")]
       for endpoint, a in (("reset_password", "reset"), ("disable_login", "disable"),
                           ("enable_login", "enable"))},
    "admin.import_page": [Target("clerk", lambda w: f"{V}/register/import", ("file",))],
    "admin.import_apply": [Target("clerk", lambda w: f"{V}/register/import/apply",
                                  ("filename", "content", "sha256"))],
    "matters.record_suggestion": [Target("clerk", lambda w: f"{V}/suggestions/record", prefixed(
        "record", ("channel", "text", "name", "party_member")))],
    "matters.open_matter": [Target("clerk", lambda w: f"{V}/matters/open", prefixed(
        "open", ("suggestion_ids", "title", "text")))],
    "matters.decline_suggestion": [Target("clerk", lambda w: f"{V}/suggestions/decline", prefixed(
        "decline", ("number", "reason")))],
    # one URL per step form (and per API action), issue 17
    "matters.propose": [Target("secretary", lambda w: f"{V}/m/{w.opened}/propose",
                               prefixed("propose", PROPOSE))],
    "matters.merge": [Target("secretary", lambda w: f"{V}/m/{w.opened}/merge",
                             prefixed("merge", PROPOSE + MEETING))],
    "matters.discuss": [Target("clerk", lambda w: f"{V}/m/{w.proposed}/discuss", prefixed(
        "discuss", ("decision", "plan", "amount", "reason", "version", *MEETING)))],
    "matters.review": [Target("reviewer", lambda w: f"{V}/m/{w.proposed}/review", prefixed(
        "review", ("decision", "filing_no", "reason", "version")))],
    "matters.start": [Target("clerk", lambda w: f"{V}/m/{w.filed}/start", prefixed(
        "start", ("implementer", "planned_end", "arrangement", "version")))],
    "matters.complete": [Target("supervisor", lambda w: f"{V}/m/{w.filed}/complete", prefixed(
        "complete", ("decision", "report", "reason", "version")))],
    "matters.withdraw": [Target("secretary", lambda w: f"{V}/m/{w.proposed}/withdraw", prefixed(
        "withdraw", ("reason", "version")))],
    "matters.breach": [Target("supervisor", lambda w: f"{V}/m/{w.proposed}/breach", prefixed(
        "breach", ("breach_step", "reason", "version")))],
    "matters.repropose": [Target("secretary", lambda w: f"{V}/m/{w.filed}/repropose",
                                 prefixed("repropose", PROPOSE))],
    "api.matter": [Target("clerk", lambda w: f"{API}/{w.proposed}")],
    **{f"api.{endpoint}": [Target("secretary", lambda w, a=a: f"{API}/{w.opened}/actions/{a}",
                                  fields, json=True)]
       for endpoint, a, fields in (
           ("propose", "propose", (*PROPOSE, "amount_fen")),
           ("propose_and_discuss", "propose_and_discuss", (*PROPOSE, "amount_fen", *MEETING)),
           ("discuss", "discuss", ("plan", "amount_fen", "version", *MEETING)),
           ("drop", "drop", ("reason", "version")), ("file", "file", ("filing_no", "version")),
           ("return_", "return", ("reason", "version")),
           ("withdraw", "withdraw", ("reason", "version")),
           ("repropose", "repropose", (*PROPOSE, "amount_fen")),
           ("flag_breach", "flag_breach", ("breach_step", "reason")),
           ("start_implementation", "start_implementation",
            ("implementer", "planned_end", "arrangement", "version")),
           ("complete", "complete", ("report", "version")),
           ("refuse_completion", "refuse_completion", ("reason", "version")),
           ("suggest", "suggest", ("title", "version")),
           ("record_vote", "record_vote", ("verdict", "version")),
           ("unknown_action", "nonsense", ("x",)))},
    "supervision.verify_now": [Target("supervisor", lambda w: f"{V}/ledger/verify")],
    "supervision.ask_witness": [Target("supervisor", lambda w: f"{V}/ledger/witness")],
    "supervision.reply": [Target("supervisor", lambda w: f"{V}/supervise/objections/1",
                               ("outcome", "reply"))],
    "supervision.confirm": [Target("supervisor", lambda w: f"{V}/supervise/updates/1")],
    "matters.record_update": [Target("secretary", lambda w: f"{V}/m/{w.filed}/implementation",
                                    ("milestone", "progress", "spent", "note"))],
    "assembly.meetings": [Target("clerk", lambda w: f"{V}/meetings",
                                 ("title", "place", "starts_at", "matters"))],
    "assembly.request_meeting": [Target("rep01", lambda w: f"{V}/meetings/request",
                                        ("reason",))],
    # the room's controls, one URL each (issue 17), with numbers that exist and do not
    "assembly.open_meeting": [Target("clerk", lambda w: f"{V}/meetings/{w.meeting}/open")],
    "assembly.close_meeting": [Target("clerk", lambda w: f"{V}/meetings/{w.meeting}/close")],
    "assembly.check_in_self": [Target("rep01", lambda w: f"{V}/meetings/{w.meeting}/checkin",
                                      ("code", "token"))],
    "assembly.check_in_member": [
        Target("clerk", lambda w, n=n: f"{V}/meetings/{w.meeting}/checkin-{n}", id=n)
        for n in ("1", "2147483647", "2147483648")],
    "assembly.open_poll": [Target("clerk", lambda w: f"{V}/meetings/{w.meeting}/poll-1",
                                  ("mode",))],
    "assembly.close_poll": [Target("clerk", lambda w: f"{V}/meetings/{w.meeting}/closepoll-1")],
    "assembly.void_poll": [Target("clerk", lambda w: f"{V}/meetings/{w.meeting}/voidpoll-1",
                                  ("void-reason",))],
    "assembly.vote": [Target("clerk", lambda w: f"{V}/meetings/{w.meeting}/vote-1",
                             ("member", "choice", "pin"))],
    "assembly.recuse": [Target("rep01", lambda w: f"{V}/meetings/{w.meeting}/recuse-1",
                               ("reason",))],
    "assembly.enter_paper": [Target("clerk", lambda w: f"{V}/meetings/{w.meeting}/paper-1",
                                    ("paper-1", "paper-²"))],
    "assembly.confirm_paper": [Target("supervisor",
                                      lambda w: f"{V}/meetings/{w.meeting}/confirm-1")],
    "assembly.discard_paper": [Target("clerk", lambda w: f"{V}/meetings/{w.meeting}/discard-1")],
    "assembly.checkin_many": [Target("clerk", lambda w: f"{V}/meetings/{w.meeting}/checkin-many",
                                     ("member",))],
    "assembly.checkin_except": [Target("clerk",
                                       lambda w: f"{V}/meetings/{w.meeting}/checkin-except",
                                       ("member",))],
    "assembly.leave": [Target(who, lambda w: f"{V}/meetings/{w.meeting}/leave/1", id=who)
                       for who in ("clerk", "rep01")],
    "cloud.leave": [Target("", lambda w: "/c/leave", ("token",))],
    "assembly.self_checkin": [Target("rep01",
                                     lambda w: f"{V}/meetings/{w.meeting}/checkin/sometoken",
                                     ("code",))],
    "public.suggest": [Target("", lambda w: "/p/sunshine/suggest",
                              ("text", "name", "contact", "party_member", "show_name"))],
    "public.object_": [Target("", lambda w: f"/p/sunshine/m/{w.filed}/object", prefixed(
        "objection", ("household", "name", "text")))],
    "public.rate": [Target("", lambda w: f"/p/sunshine/m/{w.filed}/rate", prefixed(
        "rating", ("household", "name", "score")))],
    "cloud.issue_enrolment": [Target("clerk", lambda w: f"{V}/cloud/enrol/{w.member}")],
    "cloud.revoke": [Target("clerk", lambda w: f"{V}/cloud/revoke/{w.device}", ("reason",))],
    "cloud.unlock": [Target("clerk", lambda w: f"{V}/cloud/unlock/{w.device}")],
    "assembly.invite": [Target("clerk", lambda w: f"{V}/meetings/{w.meeting}/invite/{w.member}")],
    "cloud.enrol_post": [Target("", lambda w: "/c/enrol/device",
                                ("token", "key", "statement", "sig", "pin"), json=True)],
    "cloud.join_post": [Target("", lambda w: "/c/join/checkin",
                               ("token", "key", "statement", "sig", "pin", "code"), json=True)],
    "public.suggestion_private": [Target("", lambda w: "/p/sunshine/s/1/follow", ("t",))],
    "cloud.enrol_open": [Target("", lambda w: "/c/enrol", ("token",))],
    "cloud.join_open": [Target("", lambda w: "/c/join", ("token",))],
    "cloud.vote": [Target("", lambda w: "/c/vote",
                          ("poll", "choice", "ballot", "key", "statement", "sig"), json=True)],
    # the meeting video's signalling (sunvote/video): the hall device's and the phone's
    "video.hall_send": [Target("clerk", lambda w: f"{V}/meetings/{w.meeting}/video/signal",
                               ("sid", "to", "kind", "pc", "data"), json=True)],
    "video.phone_send": [Target("", lambda w: "/c/video/signal",
                                ("hall", "kind", "pc", "data"), json=True)],
    # through Janus (SUNVOTE_JANUS_URL, here a Janus that is down: 503 at most, never a 500)
    "video.hall_publish": [Target("clerk", lambda w: f"{V}/meetings/{w.meeting}/video/publish",
                                  ("sid", "offer"), json=True)],
    "video.hall_subscribe": [Target("clerk",
                                    lambda w: f"{V}/meetings/{w.meeting}/video/subscribe",
                                    ("sid", "peer"), json=True)],
    "video.hall_start": [Target("clerk", lambda w: f"{V}/meetings/{w.meeting}/video/start",
                                ("sid", "peer", "answer"), json=True)],
    "video.phone_publish": [Target("", lambda w: "/c/video/publish", ("offer",), json=True)],
    "video.phone_subscribe": [Target("", lambda w: "/c/video/subscribe", ("feed",), json=True)],
    "video.phone_start": [Target("", lambda w: "/c/video/start", ("answer",), json=True)],
    "video.watch_subscribe": [Target("supervisor",
                                     lambda w: f"{V}/meetings/{w.meeting}/video/watch/subscribe",
                                     ("sid", "hall"), json=True)],
    "video.watch_start": [Target("supervisor",
                                 lambda w: f"{V}/meetings/{w.meeting}/video/watch/start",
                                 ("sid", "answer"), json=True)],
    "api.add_checkpoint": [Target("", lambda w: "/witness/demo-town/add-checkpoint",
                                  ("old", "checkpoint"), json=True)],
    # The notices (sunvote/notices): the inbox's read receipt, "send again", a letter's slip.
    "notices.open_notice": [Target("rep01", lambda w: f"/me/notices/{w.inbox}/open")],
    "notices.resend": [Target("clerk", lambda w: f"{V}/meetings/{w.meeting}/notices/"
                              f"{w.letter}/resend")],
    "notices.record_slip": [Target("clerk", lambda w: f"{V}/meetings/{w.meeting}/notices/"
                                   f"{w.letter}/slip", ("photo",))],
    # The hall's recording (sunvote/recording): a chunk's form body is nothing the view reads
    # (its headers are tested in tests/web/test_recording_pages.py); the purge of a recording.
    "recording.upload": [Target("clerk", lambda w: f"{V}/meetings/{w.meeting}/recording/chunks",
                                ("seq", "prev"))],
    "recording.purge": [Target("township",
                               lambda w: f"{V}/meetings/{w.meeting}/recording/purge")],
}

#: Routes that carry no form or JSON body of their own and are fuzzed elsewhere: the open data
#: API by schemathesis (tests/web/test_openapi_schemathesis.py).
ELSEWHERE = {"opendata.villages", "opendata.village", "opendata.matters", "opendata.matter",
             "opendata.polls", "opendata.checkpoint", "opendata.checkpoints",
             "opendata.openapi"}


def fuzzed_routes(app: Flask) -> set[str]:
    """Endpoints that take a form or a JSON body: every POST route, and everything under /api/."""
    return {r.endpoint for r in app.url_map.iter_rules()
            if "POST" in (r.methods or ()) or r.rule.startswith("/api/")}


# --- The world, once per module -------------------------------------------------------------------


@pytest.fixture(scope="module")
def world_app(tmp_path_factory: pytest.TempPathFactory,
              postgres_url: str | None) -> Iterator[tuple[Flask, World]]:
    """The demo data plus an enrolled phone and an open enrolment, built once for the module."""
    from sunvote.services import cloud

    with demo_app_once(tmp_path_factory.mktemp("fuzz"), postgres_url) as app:
        app.config["JANUS_URL"] = "http://127.0.0.1:9/janus"  # the SFU routes exist; Janus is down
        with app.app_context():
            def pid(name: str) -> int:
                return db.session.execute(select(Person.id).where(Person.name == name)
                                          ).scalar_one()

            def number(state: MatterState) -> str:
                return db.session.execute(select(Matter.number).where(
                    Matter.state == state.value)).scalars().first() or "none"

            village = db.session.execute(select(Village).where(Village.code == "sunshine")
                                         ).scalar_one()
            meeting = db.session.execute(select(Meeting).where(
                Meeting.village_id == village.id)).scalars().first()
            assert meeting is not None
            _, enrol_token = cloud.issue_enrolment(pid("张敏"), village.id, pid("王磊"))
            device = db.session.execute(select(Device.id)).scalars().first()
            person_term = db.session.execute(select(RoleAssignment.id).where(
                RoleAssignment.person_id == pid("陈丽"))).scalars().first()
            assert person_term is not None
            notices = {(n.person_id, n.channel.value): n.id for n in db.session.execute(
                select(Notice).where(Notice.meeting_id == meeting.id)).scalars()}
            world = World(person=pid("陈丽"), inbox=notices[pid("李秀英"), "inbox"],
                          letter=notices[pid("陈丽"), "letter"], official=pid("孙伟"), term=1,
                          person_term=person_term, member=pid("李秀英"),
                          device=device or 1, meeting=meeting.number, enrol_token=enrol_token,
                          **{name: number(state) for name, state in (
                              ("opened", MatterState.SUGGESTED),
                              ("proposed", MatterState.PROPOSED),
                              ("filed", MatterState.FILED))})
        yield app, world


@pytest.fixture(scope="module")
def clients(world_app: tuple[Flask, World]) -> dict[str, tuple[FlaskClient, str]]:
    """A logged-in client and its CSRF token per role, and an anonymous one ("")."""
    app, _ = world_app
    roles = {t.role for targets in TARGETS.values() for t in targets}
    out: dict[str, tuple[FlaskClient, str]] = {}
    for role in sorted(roles):
        client = app.test_client()
        if role:
            login(client, role)
        out[role] = client, csrf_token(client, "/password" if role else "/login")
    return out


# --- The tests ------------------------------------------------------------------------------------


def test_every_form_and_json_route_is_fuzzed(world_app: tuple[Flask, World]) -> None:
    app, _ = world_app
    missing = fuzzed_routes(app) - set(TARGETS) - ELSEWHERE
    assert not missing, f"routes not fuzzed: add them to TARGETS in {Path(__file__).name}"
    stale = (set(TARGETS) | ELSEWHERE) - {r.endpoint for r in app.url_map.iter_rules()}
    assert not stale, f"TARGETS names routes that no longer exist: {sorted(stale)}"


CASES = [pytest.param(endpoint, target, id=f"{endpoint}{'-' + target.id if target.id else ''}")
         for endpoint, targets in TARGETS.items() for target in targets]


def form_body(values: dict[str, str | bytes]) -> bytes:
    return urllib.parse.urlencode(
        [(k, v if isinstance(v, bytes) else v.encode("utf-8", "surrogatepass"))
         for k, v in values.items()]).encode("ascii")


@pytest.mark.parametrize(("endpoint", "target"), CASES)
@settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(data=st.data())
def test_no_input_gives_a_server_error(world_app: tuple[Flask, World],
                                       clients: dict[str, tuple[FlaskClient, str]],
                                       endpoint: str, target: Target, data: st.DataObject) -> None:
    app, world = world_app
    client, token = clients[target.role]
    if target.fresh:
        client = app.test_client()
        token = csrf_token(client)
    path = target.path(world)
    if target.query:
        path += "?" + form_body({name: data.draw(nasty_text, label=name)
                                 for name in target.query}).decode("ascii")
    if target.get:
        response = client.get(path)
    elif target.json:
        whole = data.draw(st.one_of(st.none(), st.sampled_from(NASTY_BODIES)), label="body")
        if whole is None:
            values = {name: data.draw(nasty_json_value, label=name) for name in target.fields}
            body = json.dumps(values).encode()
        else:
            body = whole
        response = client.post(path, data=body, content_type="application/json",
                               headers={"X-CSRFToken": token})
    else:
        values = {name: data.draw(nasty_text, label=name) for name in target.fields}
        values.update(target.extra)
        values["csrf_token"] = token
        response = client.post(path, data=form_body(values),
                               content_type="application/x-www-form-urlencoded")
    assert response.status_code < 500, (endpoint, path, response.get_data(as_text=True)[:2000])
    if 300 <= response.status_code < 400:  # never off this site (issue 14 item 3)
        location = response.headers.get("Location", "")
        assert urllib.parse.urlsplit(location).netloc in ("", "sunvote.test"), location
        assert not location.startswith("//") and "\\" not in location, location
