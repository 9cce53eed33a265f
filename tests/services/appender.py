"""A separate process that appends suggestions to one village's ledger (for the process tests).

Usage: python -m tests.services.appender <database url> <village id> <clerk id> <count> <tag>
(SUNVOTE_INSTANCE_PATH must name the test's instance folder: it holds the ledger passphrase).
Prints the index of each committed append.
"""

from __future__ import annotations

import sys

from sunvote import create_app
from sunvote.services import suggestions


def main() -> None:
    url, village_id, clerk_id, count, tag = sys.argv[1:6]
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        for i in range(int(count)):
            suggestions.record_suggestion(int(village_id), int(clerk_id), "paper", f"{tag}-{i}",
                                          None, False)
            print(i, flush=True)


if __name__ == "__main__":
    main()
