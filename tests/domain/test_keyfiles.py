"""The key-file rules, without a database: empty secrets, a missing passphrase, locked keys."""

from __future__ import annotations

import pytest

from sunvote.domain.keyfiles import empty_secret, locked_keys, missing_passphrase


@pytest.mark.parametrize("value", ["", " ", "\n", "\t \n"])
def test_an_empty_or_blank_secret_is_refused_naming_where_it_came_from(value: str) -> None:
    refusal = empty_secret("instance/ledger_passphrase", value)
    assert refusal is not None and refusal.rule == "keys.secret_empty"
    assert "instance/ledger_passphrase" in str(refusal)


@pytest.mark.parametrize("value", [None, "x", "a long generated passphrase"])
def test_a_given_or_absent_secret_is_not_this_rules_business(value: str | None) -> None:
    assert empty_secret("SUNVOTE_SECRET_KEY", value) is None


def test_a_passphrase_may_be_generated_only_while_no_key_is_sealed() -> None:
    assert missing_passphrase("instance/ledger_passphrase", sealed_keys=False) is None
    refusal = missing_passphrase("instance/ledger_passphrase", sealed_keys=True)
    assert refusal is not None and refusal.rule == "keys.passphrase_missing"


def test_keys_that_do_not_open_refuse_writes_with_503() -> None:
    assert locked_keys(True) is None
    refusal = locked_keys(False)
    assert refusal is not None and refusal.rule == "keys.passphrase_wrong"
    assert refusal.status == 503
