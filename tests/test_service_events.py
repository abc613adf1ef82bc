"""Reading Wyoming events with limits (voice/service/event_reader.py) from real asyncio streams,
and the addresses the service listens on (voice/service/address.py)."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest
from wyoming.audio import AudioChunk
from wyoming.event import Event, async_write_event

from voice.service.address import AddressError, ServiceAddress, clear_stale_socket
from voice.service.event_reader import EventLimits, MalformedEvent, read_event

LIMITS = EventLimits(header_bytes=1024, data_bytes=2048, payload_bytes=4096)


def read(sent: bytes, eof: bool = True, limits: EventLimits = LIMITS) -> list[Event | None]:
    """Every event read from SENT, then what ends the stream (None: closed between events)."""
    async def scenario():
        reader = asyncio.StreamReader(limit=limits.header_bytes)
        reader.feed_data(sent)
        if eof:
            reader.feed_eof()
        events = []
        while True:
            event = await asyncio.wait_for(read_event(reader, limits), 1.0)
            events.append(event)
            if event is None:
                return events
    return asyncio.run(scenario())


def written(*events: Event) -> bytes:
    """The bytes wyoming's own writer sends for EVENTS, through a real socket pair."""
    async def scenario():
        ours, theirs = socket.socketpair()
        _, writer = await asyncio.open_connection(sock=ours)
        reader, other = await asyncio.open_connection(sock=theirs)
        for event in events:
            await async_write_event(event, writer)
        writer.close()
        sent = await asyncio.wait_for(reader.read(), 1.0)
        other.close()
        return sent
    return asyncio.run(scenario())


def test_what_wyoming_writes_is_read_back_whole():
    chunk = AudioChunk(rate=16000, width=2, channels=1, audio=b"\x01\x02" * 100).event()
    ping = Event(type="ping", data={"text": "é" * 10})
    first, second, end = read(written(chunk, ping))
    assert first is not None and first.type == "audio-chunk" and first.payload == b"\x01\x02" * 100
    assert first.data["rate"] == 16000
    assert second is not None and second.data == {"text": "é" * 10}
    assert end is None


def test_data_after_the_header_adds_to_the_headers_data():
    extra = json.dumps({"text": "hello"}).encode()
    header = json.dumps({"type": "transcript", "data": {"context": {"a": 1}},
                         "data_length": len(extra)}).encode()
    event, _ = read(header + b"\n" + extra)
    assert event is not None and event.data == {"context": {"a": 1}, "text": "hello"}


@pytest.mark.parametrize(("sent", "reason"), [
    (b"\x00\xff\xfe garbage\n", "not JSON"),
    (b"[1, 2]\n", "not a JSON object"),
    (b'{"data": {}}\n', "has no type"),
    (b'{"type": ""}\n', "has no type"),
    (b'{"type": "' + b"t" * 65 + b'"}\n', "has no type"),
    (b'{"type": "x", "data": [1]}\n', "not a JSON object"),
    (b'{"type": "x", "payload_length": 4097}\n', "over the limit of 4096"),
    (b'{"type": "x", "data_length": 2049}\n', "over the limit of 2048"),
    (b'{"type": "x", "payload_length": -1}\n', "not a byte count"),
    (b'{"type": "x", "payload_length": true}\n', "not a byte count"),
    (b'{"type": "x", "payload_length": 1.5}\n', "not a byte count"),
    (b'{"type": "x", "data_length": 5}\n[1,2]', "not a JSON object"),
    (b'{"type": "x", "payload_length": 10}\n12345', "closed after 5 of the 10 bytes"),
    (b'{"type": "x"', "in the middle of an event header"),
    (b"[" * 5000 + b"\n", "longer than 1024 bytes"),
    (b" " * 2000, "longer than 1024 bytes"),
])
def test_what_is_not_a_wyoming_event_is_refused_with_the_reason(sent, reason):
    with pytest.raises(MalformedEvent, match=reason):
        read(sent)


def test_deeply_nested_json_within_the_limit_is_refused_not_a_crash():
    limits = EventLimits(header_bytes=200_000)
    with pytest.raises(MalformedEvent, match="not JSON"):
        read(b"[" * 100_000 + b"\n", limits=limits)


def test_an_event_still_arriving_waits_for_the_rest():
    async def scenario():
        reader = asyncio.StreamReader(limit=LIMITS.header_bytes)
        reader.feed_data(b'{"type": "x", "payload_length": 4}\nab')
        pending = asyncio.ensure_future(read_event(reader, LIMITS))
        await asyncio.sleep(0.05)
        assert not pending.done()
        reader.feed_data(b"cd")
        return await asyncio.wait_for(pending, 1.0)
    event = asyncio.run(scenario())
    assert event is not None and event.payload == b"abcd"


@pytest.mark.parametrize(("uri", "address", "loopback"), [
    ("tcp://127.0.0.1:10700", ServiceAddress("tcp", "127.0.0.1", 10700), True),
    ("tcp://localhost:0", ServiceAddress("tcp", "localhost", 0), True),
    ("tcp://[::1]:10700", ServiceAddress("tcp", "::1", 10700), True),
    ("tcp://127.5.6.7:1", ServiceAddress("tcp", "127.5.6.7", 1), True),
    ("tcp://0.0.0.0:10700", ServiceAddress("tcp", "0.0.0.0", 10700), False),
    ("tcp://[::]:10700", ServiceAddress("tcp", "::", 10700), False),
    ("tcp://192.168.1.5:10700", ServiceAddress("tcp", "192.168.1.5", 10700), False),
    ("tcp://homeserver.local:10700", ServiceAddress("tcp", "homeserver.local", 10700), False),
    ("unix:///run/numb.sock", ServiceAddress("unix", path="/run/numb.sock"), True),
    ("unix://numb.sock", ServiceAddress("unix", path="numb.sock"), True),
])
def test_addresses_and_whether_only_this_computer_can_connect(uri, address, loopback):
    parsed = ServiceAddress.parse(uri)
    assert parsed == address and parsed.loopback is loopback
    assert ServiceAddress.parse(parsed.uri()) == parsed


@pytest.mark.parametrize("uri", ["http://127.0.0.1:1", "tcp://127.0.0.1", "tcp://:10700",
                                 "tcp://127.0.0.1:70000", "tcp://127.0.0.1:port", "unix://",
                                 "127.0.0.1:10700", ""])
def test_unusable_addresses_are_refused(uri):
    with pytest.raises(AddressError):
        ServiceAddress.parse(uri)


def test_a_stale_socket_is_cleared_a_live_one_and_other_files_are_not(tmp_path):
    clear_stale_socket(tmp_path / "absent.sock")  # nothing there: nothing to do
    stale = tmp_path / "stale.sock"
    left = socket.socket(socket.AF_UNIX)
    left.bind(str(stale))
    left.close()  # bound, never listened, closed: what a killed server leaves
    clear_stale_socket(stale)
    assert not stale.exists()
    live = tmp_path / "live.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(live))
    server.listen()
    try:
        with pytest.raises(AddressError, match="already serving"):
            clear_stale_socket(live)
        assert live.exists()
    finally:
        server.close()
    ordinary = tmp_path / "notes.txt"
    ordinary.write_text("mine")
    with pytest.raises(AddressError, match="not a socket"):
        clear_stale_socket(ordinary)
    assert ordinary.read_text() == "mine"
