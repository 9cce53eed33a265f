"""Refresh the message catalogue after adding or changing strings (docs/i18n.md).

    python tools/i18n.py            # extract, update, rewrap at 100, compile; list missing
    python tools/i18n.py new.json   # ... and fill in translations given as {"中文": "English"}

Run from the project root with the project's virtualenv active. Exits 1 while any message
lacks an English translation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

PYBABEL = str(Path(sys.executable).with_name("pybabel"))
POT = "sunvote/translations/messages.pot"
PO = Path("sunvote/translations/en/LC_MESSAGES/messages.po")


def main(argv: list[str]) -> int:
    given: dict[str, str] = json.loads(Path(argv[0]).read_text("utf-8")) if argv else {}
    subprocess.run([PYBABEL, "-q", "extract", "-F", "babel.cfg", "-k", "N_", "-k", "_l",
                    "--ignore-dirs=.*", "--no-location", "--sort-output", "-o", POT, "."],
                   check=True)
    subprocess.run([PYBABEL, "-q", "update", "-i", POT, "-d", "sunvote/translations", "-l", "en",
                    "--no-fuzzy-matching", "--ignore-obsolete"], check=True)
    with PO.open("rb") as f:
        catalog = read_po(f)
    missing = []
    for message in catalog:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        if not message.string and key in given:
            message.string = given[key]
        if not message.string:
            missing.append(key)
    with PO.open("wb") as f:
        write_po(f, catalog, width=100, sort_output=True, no_location=True, ignore_obsolete=True)
    subprocess.run([PYBABEL, "-q", "compile", "-d", "sunvote/translations", "-l", "en"],
                   check=True)
    for key in missing:
        print("missing:", key)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
