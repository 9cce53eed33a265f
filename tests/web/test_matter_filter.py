"""Search and filter of matter lists — the public board, the village dashboard and the
oversight lists — by category, year, state and text, paged; bad parameters refused with their
rule and the list still shown; statements that do not grow with the number of matters."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, event, select

from sunvote.app import create_app
from sunvote.extensions import db
from sunvote.matters import views as matters_views
from sunvote.models import Matter, Village
from sunvote.oversight import views as oversight_views
from sunvote.public import views as public_views
from tests.conftest import login

#: Matters added to the demo's: (number, title, category, state).
EXTRA = [
    *[(f"2024-{i:03d}", f"旧年水渠清淤{i}", 2, "completed") for i in range(1, 26)],
    ("2025-001", "村口路灯 LED Lamp 更换", 2, "implementing"),
    ("2025-002", "集体资金 50% 用于修路", 4, "passed"),
    ("2025-003", "A_B 两组宅基地方案", 7, "rejected"),
    ("2025-004", "A1B 对照事项", 7, "rejected"),
]


def add_matters(app: Flask, rows: list[tuple[str, str, int, str]], village: str = "sunshine"
                ) -> None:
    with app.app_context():
        v = db.session.execute(select(Village).where(Village.code == village)).scalar_one()
        for number, title, category, state in rows:
            db.session.add(Matter(village_id=v.id, number=number, title=title,
                                  category=category, state=state, summary=f"{title}的方案"))
        db.session.commit()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, postgres_url: str | None
         ) -> Iterator[Flask]:
    """The demo plus EXTRA, built once for the module."""
    from sunvote.services.demo import seed_demo

    tmp = tmp_path_factory.mktemp("filter")
    url = postgres_url or f"sqlite:///{tmp / 'filter.sqlite3'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SUNVOTE_INSTANCE_PATH", str(tmp / "instance"))
        app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url,
                          "SERVER_NAME": "sunvote.test"})
        with app.app_context():
            if postgres_url is None:
                db.create_all()
            seed_demo()
            db.session.remove()
        add_matters(app, EXTRA)
        yield app
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    if postgres_url is not None:
        from tests.conftest import _empty_postgres
        _empty_postgres(postgres_url)


@pytest.fixture(scope="module")
def clients(site: Flask) -> dict[str, FlaskClient]:
    return {"": site.test_client(), **{name: login(site.test_client(), name)
                                       for name in ("clerk", "township", "district")}}


def page(client: FlaskClient, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, (path, response.get_data(as_text=True)[:1500])
    return response.get_data(as_text=True)


def listed(html: str) -> list[str]:
    """The matter numbers a page lists, in order."""
    return re.findall(r'class="num">([0-9-]+)<|<td data-label="[^"]*">(\d{4}-\d{3})</td>', html) \
        and [a or b for a, b in re.findall(
            r'class="num">([0-9-]+)<|<td data-label="[^"]*">(\d{4}-\d{3})</td>', html)]


PAGES = {"public": ("", "/p/sunshine/"), "dashboard": ("clerk", "/v/sunshine/"),
         "township": ("township", "/t/demo-town/oversight/matters"),
         "district": ("district", "/admin/oversight/matters")}


@pytest.mark.parametrize("where", list(PAGES))
def test_each_filter_narrows_the_list(clients: dict[str, FlaskClient], where: str) -> None:
    role, path = PAGES[where]
    client = clients[role]
    everything = page(client, path)
    assert "清除筛选" not in everything and 'name="q"' in everything
    by_category = listed(page(client, path + "?category=7"))
    assert sorted(by_category) == ["2025-003", "2025-004"]
    by_year = page(client, path + "?year=2025")
    assert sorted(listed(by_year)) == ["2025-001", "2025-002", "2025-003", "2025-004"]
    assert "符合条件的事项共4件" in by_year and "清除筛选" in by_year
    by_state = listed(page(client, path + "?state=implementing&year=2025"))
    assert by_state == ["2025-001"]
    # text: case-insensitive for ASCII, over title, number and plan; wildcards taken literally
    assert listed(page(client, path + "?q=led+LAMP")) == ["2025-001"]
    assert listed(page(client, path + "?q=50%25")) == ["2025-002"]
    assert listed(page(client, path + "?q=A_B")) == ["2025-003"]
    assert listed(page(client, path + "?q=2024-007")) == ["2024-007"]
    assert listed(page(client, path + "?q=旧年水渠清淤3的方案")) == ["2024-003"]
    nothing = page(client, path + "?q=没有这样的事项&category=1")
    assert listed(nothing) == [] and "符合条件的事项共0件" in nothing


@pytest.mark.parametrize("where", list(PAGES))
def test_the_list_is_paged_with_counts(clients: dict[str, FlaskClient], where: str,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    for module, name in ((oversight_views, "MATTERS_PER_PAGE"),
                         (matters_views, "DASHBOARD_PER_PAGE"), (public_views, "BOARD_PER_PAGE")):
        monkeypatch.setattr(module, name, 10)
    role, path = PAGES[where]
    client = clients[role]
    first = page(client, path + "?category=2&year=2024")
    assert "符合条件的事项共25件" in first
    per_page = len(listed(first))
    pages = -(-25 // per_page)
    assert f"第1页，共{pages}页" in first and 'rel="next"' in first and 'rel="prev"' not in first
    assert "category=2&amp;year=2024&amp;page=2" in first  # the link keeps the filter
    seen = list(listed(first))
    for n in range(2, pages + 1):
        html = page(client, path + f"?category=2&year=2024&page={n}")
        assert f"第{n}页，共{pages}页" in html and 'rel="prev"' in html
        seen += listed(html)
    assert sorted(seen) == [f"2024-{i:03d}" for i in range(1, 26)]


@pytest.mark.parametrize("where", list(PAGES))
@pytest.mark.parametrize(("query", "rule"), [
    ("category=11", "filter.category"), ("category=%E2%91%A0", "filter.category"),
    ("year=99999", "filter.year"), ("state=nope", "filter.state"),
    ("page=-1", "filter.page"), ("page=0", "filter.page"), ("page=999", "filter.page"),
    ("page=99999999999999999999", "filter.page"),
    ("q=" + "x" * 10_000, "filter.text"), ("q=%01abc", "filter.text"),
])
def test_bad_parameters_are_refused_and_the_first_page_shown(
        clients: dict[str, FlaskClient], where: str, query: str, rule: str) -> None:
    role, path = PAGES[where]
    html = page(clients[role], f"{path}?{query}", status=400)
    assert f"<code>{rule}</code>" in html and "未办理" in html
    assert listed(html), "the list still shows"
    assert "第1页" in html or "共" in html
    assert "x" * 100 not in html and "\x01" not in html


@pytest.mark.parametrize("where", list(PAGES))
def test_a_nul_byte_is_refused_before_the_list(clients: dict[str, FlaskClient], where: str
                                               ) -> None:
    role, path = PAGES[where]
    html = page(clients[role], f"{path}?q=%00abc", status=400)
    assert "<code>input.invalid</code>" in html


def test_the_public_board_links_earlier_years(clients: dict[str, FlaskClient]) -> None:
    html = page(clients[""], "/p/sunshine/")
    for year in ("2024", "2025"):
        assert f'href="/p/sunshine/?year={year}"' in html
    html = page(clients[""], "/p/sunshine/?year=2024")
    assert 'aria-current="page">2024' in html
    assert "按类别、年份、状态筛选" in html and '<details class="filter-more" open>' in html


def test_every_control_has_a_label(clients: dict[str, FlaskClient]) -> None:
    for role, path in PAGES.values():
        html = page(clients[role], path)
        form = html[html.index('class="matter-filter"'):html.index("</form>",
                                                                   html.index("matter-filter"))]
        ids = re.findall(r'<(?:input|select)[^>]* id="([^"]+)"', form)
        assert len(ids) == 4
        for control in ids:
            assert f'<label for="{control}">' in form, (path, control)


def test_oversight_lists_keep_to_their_scope(clients: dict[str, FlaskClient]) -> None:
    assert clients["clerk"].get("/t/demo-town/oversight/matters").status_code == 403
    assert clients["clerk"].get("/admin/oversight/matters").status_code == 403
    assert clients["township"].get("/admin/oversight/matters").status_code == 403
    html = page(clients["district"], "/admin/oversight/matters?q=水渠清淤1")
    assert "阳光村" in html and "阳光镇" in html


@pytest.mark.parametrize("where", list(PAGES))
def test_statements_do_not_grow_with_the_matters(site: Flask, clients: dict[str, FlaskClient],
                                                 where: str) -> None:
    role, path = PAGES[where]
    client = clients[role]

    def statements(query: str) -> int:
        seen: list[str] = []
        with site.app_context():
            engine = db.engine
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            page(client, path + query)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(seen)

    before = {q: statements(q) for q in ("", "?year=2023", "?q=新增")}
    more = [(f"2023-{i:03d}", f"新增事项{i}", 1 + i % 10, state)
            for i, state in enumerate(["filed", "passed", "withdrawn", "completed"] * 15, 1)]
    add_matters(site, more)
    add_matters(site, [(n, t, c, s) for n, t, c, s in more[:10]], village="breeze")
    try:
        assert {q: statements(q) for q in before} == before
    finally:
        with site.app_context():
            db.session.execute(delete(Matter).where(Matter.number.like("2023-%")))
            db.session.commit()


def test_the_query_and_the_board_split_passed_matters_at_the_same_moment(site: Flask) -> None:
    """公示中 until the notice period ends, then 已通过，公示期满，待实施: the query's SQL and
    matter_filter.state_group (supervision.notice_over) agree a second before, at and after."""
    import datetime as dt

    from sunvote.domain.matter_filter import STATE_GROUPS, MatterFilter, state_group
    from sunvote.domain.procedure import MatterState
    from sunvote.services.matter_filter import find_matters

    end = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)
    with site.app_context():
        matter = db.session.execute(select(Matter).where(Matter.number == "2025-002")).scalar_one()
        matter.notice_ends_at = end
        db.session.commit()
        try:
            village = select(Village.id).where(Village.id == matter.village_id)
            seen = []
            for now in (end - dt.timedelta(seconds=1), end, end + dt.timedelta(seconds=1)):
                page = find_matters(village, MatterFilter(per_page=100), STATE_GROUPS, now=now)
                passed = [m for m in page.items if m.state == MatterState.PASSED.value]
                expected = {"notice": 0, "notice-over": 0}
                for m in passed:
                    expected[state_group(MatterState.PASSED, m.notice_ends_at, now).key] += 1
                assert {k: page.counts[k] for k in expected} == expected
                over = find_matters(village, MatterFilter(state="notice-over", per_page=100),
                                    STATE_GROUPS, now=now)
                seen.append("2025-002" in {m.number for m in over.items})
            assert seen == [False, True, True]
        finally:
            matter.notice_ends_at = None
            db.session.commit()
