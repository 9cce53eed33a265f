"""A village log's origin line: unique per installation for new logs, ``sunvote.<t>/<v>`` kept
by logs begun before (every installation gave its logs the same one)."""

from __future__ import annotations

import re

#: An installation's origin prefix: a host-like name (the server's domain, or a random
#: ``sunvote-<hex>`` generated once), so that two installations never share an origin.
_PREFIX = re.compile(r"[a-z0-9](?:[a-z0-9.-]{0,34}[a-z0-9])?")  # fits 120 with the codes


class OriginError(ValueError):
    """An origin prefix that cannot begin an origin line."""


def check_origin_prefix(prefix: str) -> None:
    """Raise OriginError unless ``prefix`` is lower-case letters, digits, dots and hyphens
    (at most 36, not starting or ending with a dot or hyphen)."""
    if not _PREFIX.fullmatch(prefix):
        raise OriginError(f"origin prefix {prefix!r}: use lower-case letters, digits, '.' and "
                          "'-' (at most 36), e.g. the server's domain name")


def legacy_origin(township: str, village: str) -> str:
    """The origin every installation gave a village's log before origins were made unique."""
    return f"sunvote.{township}/{village}"


def log_origin(prefix: str, township: str, village: str) -> str:
    """The origin of a new village log on the installation whose prefix is ``prefix``."""
    check_origin_prefix(prefix)
    return f"{prefix}/{township}/{village}"


def origin_names_village(origin: str, township: str, village: str) -> bool:
    """Whether ``origin`` is the log of ``village`` in ``township``: the legacy form, or an
    installation prefix followed by ``/<township>/<village>``."""
    if origin == legacy_origin(township, village):
        return True
    prefix, sep, rest = origin.partition("/")
    return bool(sep) and rest == f"{township}/{village}" and _PREFIX.fullmatch(prefix) is not None
