"""Wyoming events read from a network stream with limits: a header line, then its data and payload.

wyoming's own reader trusts the sender: ``data_length`` and ``payload_length`` are read whatever
their size, and a header that is not JSON is taken for the end of the connection. A service open
to a network refuses both, and says why: each limit here bounds what one connection can make the
server hold in memory.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

from wyoming.event import Event

from knowledge.errors import NumbLegsError

_LOGGER = logging.getLogger(__name__)

MAX_TYPE_CHARS = 64


class MalformedEvent(NumbLegsError):
    """What a client sent is not a Wyoming event this server takes; the message says why."""


@dataclass(frozen=True)
class EventLimits:
    """What one event may be: its header line, its JSON data and its binary payload (bytes).

    A second of 48 kHz stereo 32-bit audio is 384 kB: the payload limit leaves room for any
    sensible audio chunk. The timeout bounds a silent client and a slow one alike: each event
    must arrive whole within it."""

    header_bytes: int = 16 * 1024
    data_bytes: int = 64 * 1024
    payload_bytes: int = 1024 * 1024
    timeout_s: float = 20.0


async def read_event(reader: asyncio.StreamReader, limits: EventLimits) -> Event | None:
    """The next event, or None when the client closed the connection between events.

    Raises MalformedEvent for anything else: bytes that are not a header, a length over the
    limits, or a connection closed in the middle of an event."""
    try:
        line = await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError as err:
        if not err.partial:
            return None
        raise MalformedEvent(f"the connection closed in the middle of an event header "
                             f"({len(err.partial)} bytes)") from err
    except asyncio.LimitOverrunError as err:
        raise MalformedEvent(f"an event header is longer than {limits.header_bytes} bytes") from err
    header = _header(line, limits)
    data = header.get("data") or {}
    data_length = header.get("data_length") or 0
    if data_length:
        extra = _json_object(await _exactly(reader, data_length, "data"), "the event data")
        data = {**data, **extra}  # the wyoming rule: data after the header adds to the header's
    payload_length = header.get("payload_length") or 0
    payload = await _exactly(reader, payload_length, "payload") if payload_length else None
    return Event(type=header["type"], data=data, payload=payload)


def _header(line: bytes, limits: EventLimits) -> dict[str, Any]:
    header = _json_object(line, "the event header")
    kind = header.get("type")
    if not isinstance(kind, str) or not 0 < len(kind) <= MAX_TYPE_CHARS:
        raise MalformedEvent(f"the event header has no type (a text of 1 to {MAX_TYPE_CHARS} "
                             "characters)")
    if not isinstance(header.get("data", {}), dict):
        raise MalformedEvent(f"the data of a {kind!r} event is not a JSON object")
    for key, limit in (("data_length", limits.data_bytes), ("payload_length", limits.payload_bytes)):
        value = header.get(key)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise MalformedEvent(f"{key} of a {kind!r} event is not a byte count: {value!r}")
        if value > limit:
            raise MalformedEvent(f"{key} of a {kind!r} event is {value} bytes, over the limit "
                                 f"of {limit}")
    return header


def _json_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise MalformedEvent(f"{what} is not JSON ({_shown(raw)})") from err
    if not isinstance(value, dict):
        raise MalformedEvent(f"{what} is not a JSON object ({_shown(raw)})")
    return value


async def _exactly(reader: asyncio.StreamReader, count: int, what: str) -> bytes:
    try:
        return await reader.readexactly(count)
    except asyncio.IncompleteReadError as err:
        raise MalformedEvent(f"the connection closed after {len(err.partial)} of the {count} "
                             f"bytes of an event's {what}") from err


def _shown(raw: bytes) -> str:
    """The start of RAW, for a log line: enough to recognise what was sent, never all of it."""
    return repr(raw[:40]) + ("..." if len(raw) > 40 else "")
