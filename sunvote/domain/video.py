"""Meeting video (issue 19): who may join the meeting's media session, and the shape of the
signalling messages the browsers exchange through SunVote (docs/video.md).

Pure: the services and views pass in what they know. The media itself goes browser to browser
(WebRTC); SunVote only relays the offers, answers and ICE candidates, and only between the hall
device and the cloud members that this rule admits.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum

from sunvote.domain.errors import (
    N_,
    Conflict,
    DomainError,
    InvalidInput,
    NotPermitted,
    RateLimited,
    Unavailable,
)

#: A signalling message waits this long for its reader, then it is dropped (a browser that was
#: away longer starts a new connection anyway).
SIGNAL_KEEP_SECONDS = 120
#: The hall page says "I am the hall screen" this often; a hall not heard from for
#: HALL_ALIVE_SECONDS is gone (the phones wait for the next one).
HALL_HELLO_SECONDS = 15
HALL_ALIVE_SECONDS = 45
#: The largest message body (an SDP offer with its candidates is 3–8 KB).
MAX_SIGNAL_BYTES = 32 * 1024
#: At most this many messages of one sender wait in a meeting's mailbox (within
#: SIGNAL_KEEP_SECONDS): a connection needs a few dozen (an offer, an answer, batches of
#: candidates), so a page that sends more is broken or attacking, and is refused until its old
#: messages are dropped. Bounds the table: at most this × MAX_SIGNAL_BYTES per sender.
MAX_PENDING_PER_SENDER = 120
#: At most this many messages are handed out by one poll.
MAX_SIGNALS_PER_POLL = 200

#: What each side sends, for 4G (docs/video.md): the phone's camera is asked for 320×240 at
#: 15 frames a second and sent at most at 250 kbit/s; the hall's picture is scaled down to
#: 360 lines for each phone and sent at most at 600 kbit/s. Below ``audio_only_below`` bit/s of
#: estimated upload (getStats: availableOutgoingBitrate), or above ``loss_above`` of packets
#: lost, a sender stops its video and says "audio only"; it sends video again above
#: ``video_again_above`` (checked every ``check_seconds``).
MEDIA: dict[str, dict[str, float]] = {
    "phone": {"width": 320, "height": 240, "frameRate": 15, "maxBitrate": 250_000,
              "audioBitrate": 32_000},
    "hall": {"height": 360, "frameRate": 20, "maxBitrate": 600_000, "audioBitrate": 48_000},
    "fallback": {"audio_only_below": 120_000, "video_again_above": 300_000,
                 "loss_above": 0.10, "check_seconds": 2},
}

_SESSION = re.compile(r"[A-Za-z0-9_-]{8,32}")


class Side(StrEnum):
    """Which end of the media session a browser is."""

    HALL = "hall"    # the hall device: the projector's laptop, logged in as a meeting runner
    PHONE = "phone"  # a cloud member's enrolled phone, by its cloud session


class Kind(StrEnum):
    """What a signalling message carries."""

    HELLO = "hello"            # the hall screen is here (session id), sent every HALL_HELLO_SECONDS
    OFFER = "offer"            # phone → hall: an SDP offer (a new or restarted connection)
    ANSWER = "answer"          # hall → phone: the SDP answer
    CANDIDATES = "candidates"  # either way: trickled ICE candidates, a list
    BYE = "bye"                # either way: the connection is closed on purpose


#: The kinds each side may send.
SENDS: dict[Side, frozenset[Kind]] = {
    Side.HALL: frozenset({Kind.HELLO, Kind.ANSWER, Kind.CANDIDATES, Kind.BYE}),
    Side.PHONE: frozenset({Kind.OFFER, Kind.CANDIDATES, Kind.BYE}),
}


@dataclass(frozen=True)
class Joiner:
    """What the server knows of a browser asking to join a meeting's media session."""

    side: Side
    meeting_open: bool
    #: hall: the login holds a role that runs meetings (domain.assembly.MEETING_RUNNERS)
    runner: bool = False
    #: phone: the cookie names a used invitation to this meeting, on the member's current
    #: (not replaced, not revoked) enrolled phone
    invited: bool = False
    #: phone: the member is present now (checked in, not checked out)
    present: bool = False
    #: phone: and present by cloud (a member checked in at the hall is in the room)
    cloud: bool = False


def video_refusal(joiner: Joiner) -> DomainError | None:
    """Why this browser may not join the meeting's media session (send or receive signalling,
    be offered the hall's camera), or None: the hall device (a meeting runner) and invited,
    checked-in cloud members who have not checked out, while the meeting is open."""
    if not joiner.meeting_open:
        return Conflict("video.join", N_("会议未开始或已结束，视频连线不可用"))
    if joiner.side == Side.HALL:
        if not joiner.runner:
            return NotPermitted("video.join", N_("只有主持会议的人员可以在会场设备上开启视频连线"))
        return None
    if not joiner.invited:
        return NotPermitted("video.join",
                            N_("视频连线只对受邀并用本人登记手机加入会议的云端参会人员开放"))
    if not joiner.present:
        return NotPermitted("video.join", N_("您不在会议中（未签到或已离场），不能加入视频连线"))
    if not joiner.cloud:
        return NotPermitted("video.join", N_("您已在会场签到，视频连线只用于云端参会"))
    return None


def check_session_id(value: object) -> str:
    """A browser's own random id for its page (hall) or connection (phone)."""
    if not isinstance(value, str) or _SESSION.fullmatch(value) is None:
        raise InvalidInput("input.invalid", N_("视频连线的会话编号无效"))
    return value


@dataclass(frozen=True)
class Signal:
    """A checked message: its kind, the connection it belongs to and its body as JSON text."""

    kind: Kind
    connection: str
    body: str


def check_signal(side: Side, data: object) -> Signal:
    """A message as a browser posts it: ``{"kind", "pc", "data"}``. ``pc`` is the connection's
    random id (the phone picks it; the hall names the phone's); ``data`` the SDP description or
    candidate list, kept as JSON text no longer than MAX_SIGNAL_BYTES."""
    if not isinstance(data, dict):
        raise InvalidInput("input.invalid", N_("视频连线消息格式不对"))
    try:
        kind = Kind(str(data.get("kind")))
    except ValueError:
        raise InvalidInput("input.invalid", N_("视频连线消息格式不对")) from None
    if kind not in SENDS[side]:
        raise NotPermitted("video.join", N_("这一端不能发送这种视频连线消息"))
    connection = check_session_id(data.get("pc"))
    body = data.get("data")
    if kind in (Kind.OFFER, Kind.ANSWER):
        if not (isinstance(body, dict) and body.get("type") == kind.value
                and isinstance(body.get("sdp"), str)):
            raise InvalidInput("input.invalid", N_("视频连线消息格式不对"))
        body = {"type": kind.value, "sdp": body["sdp"]}
    elif kind == Kind.CANDIDATES:
        if not (isinstance(body, list) and all(isinstance(c, dict) for c in body)):
            raise InvalidInput("input.invalid", N_("视频连线消息格式不对"))
    else:
        body = None
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    if len(text.encode("utf-8")) > MAX_SIGNAL_BYTES:
        raise InvalidInput("input.invalid", N_("视频连线消息太长"))
    return Signal(kind, connection, text)


def check_signal_budget(pending: int, peers: int = 1) -> None:
    """A sender with MAX_PENDING_PER_SENDER messages per peer it talks to (a phone: the hall;
    the hall: each phone, and one more for its hellos) still in the mailbox may send no more
    for now."""
    if pending >= MAX_PENDING_PER_SENDER * max(1, peers):
        raise RateLimited("video.signal_limit",
                          N_("视频连线消息太频繁，请稍后再试（每两分钟最多%(n)s条）"),
                          n=MAX_PENDING_PER_SENDER)


def phone_peer(member_id: int) -> str:
    """The signalling address of a member's phone."""
    return f"m{member_id}"


def hall_peer(session_id: str) -> str:
    """The signalling address of one hall page (each page load has its own session id)."""
    return f"hall:{session_id}"


def watcher_peer(person_id: int, session_id: str) -> str:
    """The address of one live-view page of someone watching the hall through Janus (docs/video.md
    "Through Janus", watchers): the supervisory committee and the township (domain.recording's
    WATCH_LIVE). Each page has its own (``session_id``, checked by check_session_id, of which
    the first 24 characters are kept: the peer fits its column), so that two tabs of the same
    person do not take each other's subscription. A watcher only receives the hall's feed; it
    never publishes."""
    return f"w{person_id}:{session_id[:24]}"


def watcher_person(peer: str) -> int | None:
    """Whose live-view page ``peer`` is, if it is a watcher's."""
    if not is_watcher(peer):
        return None
    return int(peer[1:].split(":", 1)[0])


def is_watcher(peer: str) -> bool:
    return peer.startswith("w") and ":" in peer


# --- Through an SFU (Janus's VideoRoom, docs/video.md "Through Janus") ------------------------

#: The hall's feed in the meeting's Janus room; a member's is SFU_MEMBER_FEED + their id.
SFU_HALL_FEED = 1
SFU_MEMBER_FEED = 1_000_000
#: A browser's poll keeps its Janus sessions alive at most this often (Janus drops a session
#: not heard from for its session_timeout, 60 s by default).
SFU_KEEPALIVE_SECONDS = 20
#: A session not kept alive for this long is gone in Janus (its session_timeout, 60 s): the page
#: closed without a word. SunVote forgets it (the hall stops asking for that phone's feed).
SFU_SESSION_SECONDS = 60


def sfu_feed(peer: str) -> int:
    """The Janus publisher id of a peer: the hall page (any "hall:<sid>") or a member "m<id>"."""
    if peer.startswith("hall:"):
        return SFU_HALL_FEED
    if is_watcher(peer):
        raise ValueError("a watcher publishes no feed")
    return SFU_MEMBER_FEED + int(peer[1:])


def check_description(data: object, kind: str) -> dict[str, str]:
    """An SDP offer or answer as a browser posts it to the SFU routes: ``{"type", "sdp"}``."""
    if not (isinstance(data, dict) and data.get("type") == kind
            and isinstance(data.get("sdp"), str) and 0 < len(data["sdp"]) <= MAX_SIGNAL_BYTES):
        raise InvalidInput("input.invalid", N_("视频连线消息格式不对"))
    return {"type": kind, "sdp": data["sdp"]}


def sfu_unavailable() -> DomainError:
    """Janus (the SFU) did not answer, or answered with an error: the meeting's video cannot be
    set up now; the page tries again."""
    return Unavailable("video.sfu_unavailable",
                       N_("会议视频服务器（Janus）暂时不可用，视频连线稍后自动重试"))
