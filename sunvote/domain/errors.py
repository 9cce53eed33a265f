"""Typed domain errors: each refusal names the rule it enforces and a translatable message."""

from __future__ import annotations

from collections.abc import Callable, Mapping


def N_(msgid: str) -> str:
    """Mark ``msgid`` for extraction into the message catalogue; translation happens at display."""
    return msgid


#: Joins translated list items: 、 in Chinese, ", " in English (the catalogue translates it).
LIST_SEPARATOR = N_("、")


class Msg(str):
    """A parameter value that is itself a message id and must be translated when displayed."""

    __slots__ = ()


class MsgList(tuple[str, ...]):
    """A parameter value that is a list of message ids, translated and joined with 、 on display."""

    __slots__ = ()


def render(msgid: str, params: Mapping[str, object], gettext: Callable[[str], str]) -> str:
    """Translate ``msgid`` and its translatable parameters with ``gettext`` and interpolate."""
    text = gettext(msgid)
    if not params:
        return text
    return text % {k: _display(v, gettext) for k, v in params.items()}


def _display(value: object, gettext: Callable[[str], str]) -> object:
    if isinstance(value, Msg):
        return gettext(value)
    if isinstance(value, MsgList):
        return gettext(LIST_SEPARATOR).join(gettext(v) for v in value)
    return value


class DomainError(Exception):
    """A refusal by a domain rule.

    ``rule`` is a code from :data:`sunvote.domain.rules.RULES`; ``msgid`` is the Chinese message id
    (translated by the web layer); ``params`` fill its ``%(name)s`` placeholders. ``status`` is the
    HTTP status the web layer answers with.
    """

    status = 409

    def __init__(self, rule: str, msgid: str, **params: object) -> None:
        self.rule = rule
        self.msgid = msgid
        self.params: dict[str, object] = params
        super().__init__(f"[{rule}] {self.render(lambda s: s)}")

    def render(self, gettext: Callable[[str], str]) -> str:
        """The message in the language ``gettext`` translates to."""
        return render(self.msgid, self.params, gettext)


class InvalidInput(DomainError):
    """The request is malformed or misses a required field (HTTP 400)."""

    status = 400


class NotPermitted(DomainError):
    """The actor does not hold a role that may do this (HTTP 403)."""

    status = 403


class NotFound(DomainError):
    """The thing asked for does not exist here (HTTP 404)."""

    status = 404


class Conflict(DomainError):
    """The request conflicts with the current state (HTTP 409)."""

    status = 409


class Unavailable(DomainError):
    """The server cannot do this now, through no fault of the request (HTTP 503)."""

    status = 503


class RateLimited(DomainError):
    """Too many attempts from one source or by one person (HTTP 429)."""

    status = 429


class StepOutOfOrder(Conflict):
    """The action is not the next step of the procedure for the matter's state."""


class MatterClosed(Conflict):
    """The matter is withdrawn, dropped, rejected or completed and accepts no further action."""


class RoleNotAllowed(NotPermitted):
    """The actor holds none of the roles that may take this action."""


class MissingField(InvalidInput):
    """A field the action requires was not given."""


class InvalidField(InvalidInput):
    """A field has a value the rules do not accept."""


class SettingDisabled(Conflict):
    """The action depends on a township setting that is off."""


class SettingOutOfBounds(InvalidInput):
    """A setting would be looser than the law or outside its practical range."""


class RosterRefusal(Conflict):
    """A roster change the law forbids (e.g. the supervisory-committee kin bar)."""
