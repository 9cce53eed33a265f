"""The production gunicorn settings: the worker hook really freezes what is alive."""

from __future__ import annotations

import gc

from sunvote import gunicorn_conf


def test_the_worker_hook_moves_what_is_alive_out_of_the_collectors_reach() -> None:
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    try:
        gunicorn_conf.post_worker_init(object())
        assert gc.get_freeze_count() > 1000  # the modules, the app and everything they hold
    finally:
        gc.unfreeze()
