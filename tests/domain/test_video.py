"""domain.video: who may join a meeting's media session, and what each side may send."""

from __future__ import annotations

import pytest

from sunvote.domain.errors import DomainError
from sunvote.domain.rules import RULES_BY_CODE
from sunvote.domain.video import (
    MAX_SIGNAL_BYTES,
    SFU_HALL_FEED,
    SFU_MEMBER_FEED,
    Joiner,
    Kind,
    Side,
    check_description,
    check_session_id,
    check_signal,
    hall_peer,
    is_watcher,
    phone_peer,
    sfu_feed,
    sfu_unavailable,
    video_refusal,
    watcher_peer,
    watcher_person,
)

HALL, PHONE = Side.HALL, Side.PHONE
IN = {"invited": True, "present": True, "cloud": True}


@pytest.mark.parametrize(("joiner", "refused", "why"), [
    (Joiner(HALL, True, runner=True), None, ""),
    (Joiner(HALL, True, runner=False), 403, "主持会议"),
    (Joiner(HALL, False, runner=True), 409, "会议未开始或已结束"),
    (Joiner(PHONE, True, **IN), None, ""),
    (Joiner(PHONE, False, **IN), 409, "会议未开始或已结束"),
    (Joiner(PHONE, True, invited=False, present=True, cloud=True), 403, "受邀"),
    (Joiner(PHONE, True, invited=True, present=False, cloud=False), 403, "离场"),
    (Joiner(PHONE, True, invited=True, present=True, cloud=False), 403, "会场签到"),
    # a phone session never makes a hall, nor a runner's login a phone
    (Joiner(PHONE, True, runner=True), 403, "受邀"),
    (Joiner(HALL, True, **IN), 403, "主持会议"),
])
def test_who_may_join(joiner: Joiner, refused: int | None, why: str) -> None:
    refusal = video_refusal(joiner)
    if refused is None:
        assert refusal is None
    else:
        assert refusal is not None and refusal.status == refused
        assert refusal.rule == "video.join" and why in refusal.msgid
        assert refusal.rule in RULES_BY_CODE


def test_each_side_sends_its_own_kinds() -> None:
    offer = {"kind": "offer", "pc": "abcdefgh", "data": {"type": "offer", "sdp": "v=0"}}
    assert check_signal(PHONE, offer).kind == Kind.OFFER
    with pytest.raises(DomainError) as refused:
        check_signal(HALL, offer)
    assert refused.value.rule == "video.join"
    answer = {"kind": "answer", "pc": "abcdefgh", "data": {"type": "answer", "sdp": "v=0"}}
    assert check_signal(HALL, answer).body == '{"type":"answer","sdp":"v=0"}'
    with pytest.raises(DomainError):
        check_signal(PHONE, answer)
    hello = check_signal(HALL, {"kind": "hello", "pc": "abcdefgh", "data": {"x": 1}})
    assert hello.body == "null"  # a hello carries nothing


@pytest.mark.parametrize("data", [
    None, [], {"kind": "offer"}, {"kind": "offer", "pc": "abcdefgh"},
    {"kind": "offer", "pc": "abcdefgh", "data": {"type": "answer", "sdp": "v=0"}},
    {"kind": "offer", "pc": "abcdefgh", "data": {"type": "offer", "sdp": 1}},
    {"kind": "candidates", "pc": "abcdefgh", "data": [1]},
    {"kind": "candidates", "pc": "abc/defgh", "data": []},
    {"kind": "offer", "pc": "abcdefgh",
     "data": {"type": "offer", "sdp": "x" * MAX_SIGNAL_BYTES}},
])
def test_malformed_messages_are_refused(data: object) -> None:
    with pytest.raises(DomainError) as refused:
        check_signal(PHONE, data)
    assert refused.value.status in (400, 403)


@pytest.mark.parametrize("value", ["", "short", "x" * 33, "abc defgh", 12345678, None])
def test_session_ids(value: object) -> None:
    with pytest.raises(DomainError):
        check_session_id(value)


def test_the_signal_budget_grows_with_the_peers() -> None:
    from sunvote.domain.video import MAX_PENDING_PER_SENDER, check_signal_budget

    check_signal_budget(MAX_PENDING_PER_SENDER - 1)
    with pytest.raises(DomainError) as refused:
        check_signal_budget(MAX_PENDING_PER_SENDER)
    assert refused.value.status == 429 and refused.value.rule == "video.signal_limit"
    check_signal_budget(3 * MAX_PENDING_PER_SENDER - 1, peers=3)  # the hall with two phones
    with pytest.raises(DomainError):
        check_signal_budget(3 * MAX_PENDING_PER_SENDER, peers=3)


def test_through_janus_each_peer_has_one_feed_and_descriptions_are_checked() -> None:
    assert sfu_feed("hall:abcdefgh12") == sfu_feed("hall:otherpage1") == SFU_HALL_FEED
    assert sfu_feed("m7") == SFU_MEMBER_FEED + 7 != sfu_feed("m8")
    # a watcher (the hall live, for supervisors) receives the hall's feed only: it has no feed
    peer = watcher_peer(7, "abcdefgh12")
    assert peer == "w7:abcdefgh12" and is_watcher(peer) and watcher_person(peer) == 7
    assert len(watcher_peer(2**40, "x" * 32)) <= 40  # the page id is cut: the column is 40
    assert not is_watcher(phone_peer(7)) and not is_watcher(hall_peer("abcdefgh12"))
    assert watcher_person(phone_peer(7)) is None
    with pytest.raises(ValueError):
        sfu_feed(peer)
    assert check_description({"type": "offer", "sdp": "v=0", "x": 1}, "offer") == {
        "type": "offer", "sdp": "v=0"}
    for bad in (None, "v=0", {"type": "answer", "sdp": "v=0"}, {"type": "offer"},
                {"type": "offer", "sdp": ""},
                {"type": "offer", "sdp": "x" * (MAX_SIGNAL_BYTES + 1)}):
        with pytest.raises(DomainError) as refused:
            check_description(bad, "offer")
        assert refused.value.rule == "input.invalid" and refused.value.status == 400
    down = sfu_unavailable()
    assert down.status == 503 and down.rule in RULES_BY_CODE
