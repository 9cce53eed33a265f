"""Cloud voting (云票决) rules: tokens, PINs, the live presence code and the limits on attempts.

Pure: the services pass in the time, secrets and counts. What a phone signs and how the
signature is checked is in ``sunvote.domain.ledger.device`` (docs/cloud-voting.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets

from sunvote.domain.errors import N_, Conflict, InvalidField, NotPermitted, RateLimited

#: An enrolment QR is good for this long after the clerk shows it.
ENROLMENT_MINUTES = 10
#: Wrong PINs in a row before the device is locked until the clerk resets it (counted in the
#: database, one attempt at a time, however many arrive at once).
PIN_ATTEMPTS = 5
#: Refused attempts with one credential (an enrolment QR, an invitation, a phone's session) within
#: RATE_WINDOW_MINUTES before further attempts with it wait for the rest of the window: a phone
#: that keeps sending junk is stopped, and no other phone is.
CREDENTIAL_ATTEMPTS = 10
#: The coarse outer bound on one network address: refused attempts within RATE_WINDOW_MINUTES
#: before attempts from it that name no credential the server knows are refused. Every phone of a
#: village may share one address (the HTTPS reverse proxy, a village's mobile network), so it is
#: high, and it never stops an attempt with a real credential (docs/operations.md, "Limits").
ADDRESS_ATTEMPTS = 200
RATE_WINDOW_MINUTES = 10
#: The presence code changes every PRESENCE_SECONDS; the previous one is still accepted (a member
#: reading it off a video call sees it a little late).
PRESENCE_SECONDS = 60

_PIN = re.compile(r"[0-9]{6}")
_CODE = re.compile(r"[0-9]{6}")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")


class CloudRefused(NotPermitted):
    """A cloud-vote attempt refused for a security reason (authentication, token, signature)."""


def new_token() -> str:
    """A random opaque token for a QR or a link (43 URL-safe characters, 256 bits)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the database keeps of a token: its SHA-256 (hex). A database copy cannot be used to
    enrol a phone or join a meeting."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def well_formed_token(token: str) -> bool:
    """Whether ``token`` could be one of ours (checked before any lookup)."""
    return _TOKEN.fullmatch(token) is not None


def check_pin(pin: object) -> str:
    """A PIN is exactly six digits."""
    if not isinstance(pin, str) or _PIN.fullmatch(pin) is None:
        raise InvalidField("cloud.pin", N_("PIN码须为6位数字"))
    return pin


def enrolment_expires(issued_at: dt.datetime) -> dt.datetime:
    """When an enrolment QR issued at ``issued_at`` stops working."""
    return issued_at + dt.timedelta(minutes=ENROLMENT_MINUTES)


def check_enrolment(expires_at: dt.datetime, used: bool, now: dt.datetime) -> None:
    """An enrolment QR works once, within its minutes."""
    if used:
        raise CloudRefused("cloud.enrolment", N_("这个登记二维码已经用过，请村务工作者重新生成"))
    if now >= expires_at:
        raise CloudRefused("cloud.enrolment",
                           N_("登记二维码已过期（有效期%(m)s分钟），请村务工作者重新生成"),
                           m=ENROLMENT_MINUTES)


def check_pin_lock(failed: int) -> None:
    """A device with PIN_ATTEMPTS wrong PINs in a row stays locked until the clerk resets it."""
    if failed >= PIN_ATTEMPTS:
        raise CloudRefused("cloud.pin",
                           N_("PIN码连续输错%(n)s次，手机已锁定，请联系村务工作者解锁"),
                           n=PIN_ATTEMPTS)


def pin_refused() -> CloudRefused:
    """The one answer to a wrong PIN and to the right PIN without the phone's key (a signature
    that does not verify): a different answer would confirm the PIN to whoever lacks the key."""
    return CloudRefused("cloud.pin",
                        N_("PIN码不对，或不是在登记的手机上操作：连续%(n)s次不对，手机将被锁定"),
                        n=PIN_ATTEMPTS)


def hall_pin_refused() -> CloudRefused:
    """A wrong PIN typed for a member on the hall device (no phone key is involved there)."""
    return CloudRefused("cloud.pin", N_("PIN码不对：连续输错%(n)s次手机将被锁定"),
                        n=PIN_ATTEMPTS)


def presence_code(secret: bytes, moment: dt.datetime) -> str:
    """The six-digit live presence code shown on the hall screen at ``moment``."""
    step = int(moment.timestamp()) // PRESENCE_SECONDS
    digest = hmac.new(secret, step.to_bytes(8, "big"), hashlib.sha256).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 1_000_000:06d}"


def presence_seconds_left(moment: dt.datetime) -> int:
    """Seconds until the presence code changes."""
    return PRESENCE_SECONDS - int(moment.timestamp()) % PRESENCE_SECONDS


def check_presence_code(secret: bytes, code: object, now: dt.datetime) -> str:
    """The code must be the current one or the one just before it."""
    if not isinstance(code, str) or _CODE.fullmatch(code) is None:
        raise InvalidField("cloud.presence", N_("到会码须为会场大屏上显示的6位数字"))
    earlier = now - dt.timedelta(seconds=PRESENCE_SECONDS)
    if not any(hmac.compare_digest(code, presence_code(secret, moment))
               for moment in (now, earlier)):
        raise CloudRefused("cloud.presence",
                           N_("到会码不对或已过期：请输入会场大屏上正在显示的到会码"))
    return code


def rate_limited() -> RateLimited:
    """An attempt refused before it is looked at: its credential (or, for attempts naming none
    the server knows, its address) was refused too often lately."""
    return RateLimited("cloud.rate_limit", N_("尝试太频繁：请%(m)s分钟后再试"),
                       m=RATE_WINDOW_MINUTES)


def check_invitation(used: bool, meeting_open: bool) -> None:
    """An invitation is for one meeting (its token names it), works only while that meeting is
    open, and only once: an old invitation is useless at a later meeting."""
    if used:
        raise CloudRefused("cloud.invitation",
                           N_("这个邀请已经用过：每个邀请只能在本人登记的手机上使用一次"))
    if not meeting_open:
        raise Conflict("cloud.invitation", N_("会议未开始或已结束，邀请现在不能使用"))


def check_device_matches(enrolled_key: str | None, presented_key: str) -> None:
    """The phone must present the member's enrolled, unrevoked device key."""
    if enrolled_key is None:
        raise NotPermitted("cloud.device", N_("您还没有登记手机，或手机已被撤销，请到村委会登记"))
    if not hmac.compare_digest(enrolled_key, presented_key):
        raise CloudRefused("cloud.device",
                           N_("这部手机不是该代表登记的手机：邀请只能在本人登记的手机上使用"))
