"""What a new user tripped over (issue 15, item 7): a favicon, a skip link to the content, date
pickers for dates, and AA contrast (4.5:1) for the main colour and the coloured tags."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask

CSS = Path(__file__).resolve().parents[2] / "static" / "css" / "sunvote.css"


def _variables() -> dict[str, str]:
    root = re.search(r":root\s*{(.*?)}", CSS.read_text("utf-8"), re.S)
    assert root is not None
    found = re.findall(r"--([a-z-]+):\s*#([0-9a-fA-F]{6}|[0-9a-fA-F]{3})\b", root.group(1))
    return {name: "#" + (hex_ if len(hex_) == 6 else "".join(c * 2 for c in hex_))
            for name, hex_ in found}


def _luminance(colour: str) -> float:
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    high, low = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize(("foreground", "background"), [
    ("#ffffff", "sun"),        # the top bar, primary buttons
    ("sun", "#ffffff"),        # links and headings in the main colour
    ("sun", "sun-soft"),       # the current step, tags
    ("ok", "ok-soft"),         # green tags (核验通过, 已确认 …)
    ("err", "err-soft"),       # refusals
    ("warn", "warn-soft"),
    ("blue", "blue-soft"),
    ("muted", "bg"),
    ("muted", "card"),
    ("ink", "bg"),
])
def test_text_colours_meet_aa_contrast(foreground: str, background: str) -> None:
    colours = _variables()
    fg = colours.get(foreground, foreground)
    bg = colours.get(background, background)
    assert contrast(fg, bg) >= 4.5, f"{foreground} on {background}: {contrast(fg, bg):.2f}:1"


def test_every_page_has_a_favicon_and_a_skip_link(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    client = demo.test_client()
    for url in ("/", "/p/sunshine/", "/login", "/p/sunshine/poster"):
        page = client.get(url).get_data(as_text=True)
        assert re.search(r'rel="icon"[^>]*href="/static/img/favicon\.[0-9a-f]{12}\.svg"', page), url
    assert client.get("/static/img/favicon.svg").status_code == 200
    page = as_user("clerk").get("/v/sunshine/").get_data(as_text=True)
    assert 'class="skip-link" href="#main"' in page and 'id="main"' in page
    english = client.get("/p/sunshine/?lang=en").get_data(as_text=True)
    assert "Skip to content" in english


def test_dates_are_date_pickers(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    page = as_user("clerk").get("/v/sunshine/m/2026-002").get_data(as_text=True)
    field = re.search(r'<input[^>]*name="discuss-meeting_date"[^>]*>', page)
    assert field is not None and 'type="date"' in field.group(0)


def test_a_person_who_forgot_their_password_is_told_who_resets_it(demo: Flask) -> None:
    client = demo.test_client()
    assert "/password/forgot" in client.get("/login").get_data(as_text=True)
    page = client.get("/password/forgot").get_data(as_text=True)
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td></tr>", page)
    by_holder = {holder: who for holder, who in rows}
    secretary = next(h for h in by_holder if "村党支部书记" in h)
    assert "村务监督委员会主任" in secretary  # the township issues these logins
    assert by_holder[secretary] == "乡镇管理员、区级管理员"
    representative = next(h for h in by_holder if "村民代表" in h)
    assert "村务工作者" in by_holder[representative] and "村委会主任" in by_holder[representative]
    assert "临时密码" in page
    assert "Who can reset your password" in client.get("/password/forgot?lang=en").get_data(
        as_text=True)
