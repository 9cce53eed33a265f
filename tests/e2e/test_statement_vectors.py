"""What a phone signs is the text the server expects: static/js/statement.js, run in Chromium,
builds every statement of the shared test vectors (tests/vectors/device_statements.json)
exactly; tests/domain/ledger/test_device.py checks the server's builder against the same file
(issue 17: the statement was built in three places, with nothing keeping them equal)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
VECTORS = json.loads((ROOT / "tests" / "vectors" / "device_statements.json").read_text())


def test_the_phones_statement_builder_gives_the_vectors_texts(browser: Any) -> None:
    page = browser.new_page()
    try:
        page.set_content("<!doctype html><title>statements</title>")
        page.add_script_tag(path=str(ROOT / "static" / "js" / "statement.js"))
        built = page.evaluate("""vectors => vectors.map(
            v => window.SunVoteStatement.build(v.t, v.log, v.fields))""", VECTORS["vectors"])
        assert built == [v["text"] for v in VECTORS["vectors"]]
        # a field too many or too few is refused on the phone as on the server
        refused = page.evaluate("""() => ["x", "y"].map(extra => {
            try {
              return window.SunVoteStatement.build("participation", "l",
                extra === "x" ? {meeting: 1, poll: 1, member: 1, choice: "yes"}
                              : {meeting: 1, poll: 1});
            } catch (e) { return "refused"; } })""")
        assert refused == ["refused", "refused"]
    finally:
        page.close()
