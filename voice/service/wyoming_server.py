"""The Wyoming server: connections, events, limits, and a clean stop.

Each connection is a wyoming AsyncEventHandler on the asyncio loop, which only moves bytes: the
dialogue runs on one worker thread (every conversation's turns, in order of arrival) and speech
recognition on another, so a long transcription never holds up a text turn, and no client, slow,
silent or malformed, holds up another. What one connection may send is bounded
(event_reader.EventLimits); a connection that breaks the rules gets an error event, is closed and
logged, and the server goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO, TypeVar

from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event, async_write_event
from wyoming.handle import Handled, NotHandled
from wyoming.info import Describe
from wyoming.ping import Ping, Pong
from wyoming.server import AsyncEventHandler

from knowledge.errors import NumbLegsError

from ..asr.recognizer import RecognizerError
from .address import AddressError, ServiceAddress, clear_stale_socket
from .asr_handler import AudioFormatError, SpeechToText, Utterance
from .event_reader import EventLimits, MalformedEvent, read_event
from .handling import Dialogue

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_MAX_CONNECTIONS = 256
STOP_GRACE_S = 5.0  # on SIGTERM, turns in progress get this long to be answered
LANGUAGE = "en"


@dataclass(frozen=True)
class ServerOptions:
    """How the server listens and what it lets one connection do."""

    address: ServiceAddress
    limits: EventLimits = field(default_factory=EventLimits)
    max_connections: int = DEFAULT_MAX_CONNECTIONS


class Service:
    """What every connection shares: the dialogue, the recognisers, their worker threads."""

    def __init__(self, dialogue: Dialogue, speech: SpeechToText, info: Event,
                 options: ServerOptions) -> None:
        self.dialogue = dialogue
        self.speech = speech
        self.info = info
        self.options = options
        self._dialogue_worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dialogue")
        self._speech_worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="speech")
        self.handlers: dict[asyncio.Task[None], ServiceHandler] = {}
        self.stopping = False

    async def in_dialogue(self, work: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._dialogue_worker, work, *args)

    async def in_speech(self, work: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._speech_worker, work, *args)

    def prepare_speech(self) -> None:
        """Load the default recogniser in the background, so the first utterance is not slow."""
        def load() -> None:
            try:
                self.speech.prepare()
            except RecognizerError as err:
                _LOGGER.warning("Speech-to-text is unavailable: %s", err)
        self._speech_worker.submit(load)

    def shutdown(self) -> None:
        """Let the work in progress finish (a diary entry being saved), then stop the workers."""
        self._speech_worker.shutdown(wait=True, cancel_futures=True)
        self._dialogue_worker.shutdown(wait=True, cancel_futures=True)
        self.dialogue.parts.diary.close()

    def accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """A new connection: served by its own handler, or closed when there are too many."""
        peer = _peer(writer)
        if self.stopping or len(self.handlers) >= self.options.max_connections:
            _LOGGER.warning("Refused a connection from %s: %d connections are open already",
                            peer, len(self.handlers))
            writer.close()
            return
        handler = ServiceHandler(reader, writer, self, peer)
        task = asyncio.get_running_loop().create_task(handler.run(), name=f"wyoming {peer}")
        self.handlers[task] = handler
        task.add_done_callback(lambda done: self.handlers.pop(done, None))


class ServiceHandler(AsyncEventHandler):
    """One client connection: describe, transcripts to answer, audio to transcribe."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 service: Service, peer: str) -> None:
        super().__init__(reader, writer)
        self.service = service
        self.peer = peer
        self._request: Transcribe | None = None
        self._utterance: Utterance | None = None

    async def run(self) -> None:
        """Events until the client closes, goes quiet, or sends what the server refuses."""
        limits = self.service.options.limits
        self._is_running = True
        try:
            while self._is_running:
                try:
                    event = await asyncio.wait_for(read_event(self.reader, limits), limits.timeout_s)
                except TimeoutError:
                    _LOGGER.info("Closed the connection from %s: no whole event in %g s", self.peer,
                                 limits.timeout_s)
                    break
                if event is None or not await self.handle_event(event):
                    break
        except MalformedEvent as err:
            if self.service.stopping:
                _LOGGER.debug("Stopped %s in the middle of an event", self.peer)
            else:
                _LOGGER.warning("Refused what %s sent: %s; closed the connection", self.peer, err)
                with contextlib.suppress(ConnectionError, OSError, TimeoutError):
                    await self.write_event(Error(text=f"Refused: {err}.", code="bad-event").event())
        except (ConnectionError, OSError, TimeoutError) as err:
            _LOGGER.info("Lost the connection from %s: %s", self.peer, err or type(err).__name__)
        finally:
            await self.disconnect()
            self.writer.close()
            with contextlib.suppress(ConnectionError, OSError, TimeoutError):
                await asyncio.wait_for(self.writer.wait_closed(), 1.0)

    def finish_soon(self) -> None:
        """Answer the event in progress, if any, then end (the server is stopping)."""
        self._is_running = False
        self.reader.feed_eof()

    async def write_event(self, event: Event) -> None:
        """Send EVENT; a client that does not read it within the timeout is dropped."""
        await asyncio.wait_for(async_write_event(event, self.writer),
                               self.service.options.limits.timeout_s)

    async def handle_event(self, event: Event) -> bool:
        kind = event.type
        try:
            if Describe.is_type(kind):
                await self.write_event(self.service.info)
            elif Transcript.is_type(kind):
                await self._answer(event)
            elif Transcribe.is_type(kind):
                self._request = Transcribe.from_event(event)
                self._utterance = None
            elif AudioStart.is_type(kind):
                self._utterance = Utterance()
                self._utterance.start(event.data.get("rate"), event.data.get("width"),
                                      event.data.get("channels"))
            elif AudioChunk.is_type(kind):
                if self._utterance is None:  # no audio-start: the chunk names its format
                    self._utterance = Utterance()
                self._utterance.add(event.payload or b"", event.data.get("rate"),
                                    event.data.get("width"), event.data.get("channels"))
            elif AudioStop.is_type(kind):
                await self._transcribe()
            elif Ping.is_type(kind):
                await self.write_event(Pong(text=event.data.get("text")).event())
            else:  # the protocol's rule: an event a program does not know is dropped
                _LOGGER.debug("Ignored a %r event from %s", kind, self.peer)
        except AudioFormatError as err:
            raise MalformedEvent(f"a {kind!r} event's audio format: {err}") from err
        return True

    async def _answer(self, event: Event) -> None:
        text = event.data.get("text")
        if not isinstance(text, str):
            raise MalformedEvent("a transcript event has no text")
        context = event.data.get("context")
        try:
            result = await self.service.in_dialogue(self.service.dialogue.turn, text,
                                                    context if isinstance(context, dict) else None)
        except Exception:  # noqa: BLE001 - one failed turn must not take the server down
            _LOGGER.exception("Could not answer %r from %s", text[:80], self.peer)
            await self.write_event(Error(text="numb-legs could not answer that.",
                                         code="handle-failed").event())
            return
        answer = Handled if result.handled else NotHandled
        await self.write_event(answer(text=result.text, context=result.context()).event())

    async def _transcribe(self) -> None:
        utterance, self._utterance = self._utterance or Utterance(), None
        request, self._request = self._request, None
        pcm = utterance.finish()
        if utterance.cut:
            _LOGGER.info("Kept only the first %g s of the audio from %s", len(pcm) / 32000, self.peer)
        name = request.name if request is not None else None
        try:
            heard = await self.service.in_speech(self.service.speech.transcribe, name, pcm)
        except RecognizerError as err:
            _LOGGER.warning("Could not transcribe for %s: %s", self.peer, err)
            await self.write_event(Error(text=str(err), code="asr-failed").event())
            return
        text, match = await self.service.in_dialogue(self.service.dialogue.understand,
                                                     heard.alternatives)
        context: dict[str, Any] = {}
        if request is not None and isinstance(request.context, dict):
            context.update(request.context)  # a conversation id travels on
        context.update(model=self.service.speech.chosen(name), intent=match.intent,
                       confidence=round(match.confidence, 3),
                       alternatives=list(heard.alternatives[:5]))
        await self.write_event(Transcript(text=text, context=context, language=LANGUAGE).event())


def _peer(writer: asyncio.StreamWriter) -> str:
    name = writer.get_extra_info("peername")
    if isinstance(name, tuple) and len(name) >= 2:
        return f"{name[0]}:{name[1]}"
    return "a local client"  # a Unix socket's peer has no name


async def run_server(service: Service, out: TextIO, err: TextIO,
                     ready: Callable[[str], None] | None = None) -> None:
    """Serve until SIGTERM or SIGINT, then stop cleanly: no new connections, turns in progress
    answered (for a few seconds at most), the diary closed."""
    options = service.options
    address = options.address
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    limit = options.limits.header_bytes
    if not address.loopback:
        err.write(f"Warning: numb-legs is listening beyond this computer ({address.host}). Anyone "
                  "who can reach it on the network can ask it questions and add to your diary; "
                  "there is no password. Use a firewall, or listen on tcp://127.0.0.1 when Home "
                  "Assistant runs on this computer.\n")
        err.flush()
    try:
        if address.scheme == "unix":
            clear_stale_socket(Path(address.path))
            server = await asyncio.start_unix_server(service.accept, path=address.path, limit=limit)
        else:
            server = await asyncio.start_server(service.accept, host=address.host, port=address.port,
                                                limit=limit, reuse_address=True)
    except OSError as error:
        raise AddressError(f"Cannot listen on {address.uri()}: {error.strerror or error}. Is "
                           "numb-legs serve running already? Choose another address with --uri.") \
            from error
    port = server.sockets[0].getsockname()[1] if address.scheme == "tcp" else None
    uri = address.uri(port)
    out.write(f"Serving Wyoming on {uri}\n")
    if address.loopback:
        out.write("Only this computer can connect.\n")
    out.write("Stop it with Ctrl+C.\n")
    out.flush()
    if ready is not None:
        ready(uri)
    sweeper = loop.create_task(_sweep(service))
    try:
        await stop.wait()
    finally:
        _LOGGER.info("Stopping: %d connections open", len(service.handlers))
        service.stopping = True
        sweeper.cancel()
        server.close()
        for handler in list(service.handlers.values()):
            handler.finish_soon()
        tasks = list(service.handlers)
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=STOP_GRACE_S)
            for task in late:
                task.cancel()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 1.0)
        await loop.run_in_executor(None, service.shutdown)
        if address.scheme == "unix":
            Path(address.path).unlink(missing_ok=True)
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


async def _sweep(service: Service) -> None:
    """Forget idle conversations now and then, also when no turn comes to do it."""
    period = min(60.0, service.dialogue.conversations.idle_s / 4)
    while True:
        await asyncio.sleep(period)
        await service.in_dialogue(service.dialogue.expire)


def serve(service: Service, out: TextIO, err: TextIO) -> None:
    """Run the server on its own event loop until it is stopped. Raises AddressError when the
    address cannot be listened on."""
    try:
        asyncio.run(run_server(service, out, err))
    except NumbLegsError:
        service.shutdown()
        raise
