"""The hands-free loop: wake phrase or Enter, listen, understand, answer, listen for a follow-up.

States: WAITING (only the wake phrase, Enter, typed text or a red flag gets attention) and
LISTENING (every utterance is handled, until FOLLOW_UP_S of silence). While the assistant speaks,
the microphone is paused, so its own voice never triggers it, unless barge-in is on (the default):
then the microphone stays open and only an utterance that is wholly "stop" (or similar) or starts
with the wake phrase (or is a red flag) cuts the speech short, as soon as the recogniser's partial
result shows it (a red flag: its final result). A question met by silence is asked once more,
then it goes back to waiting. Every change of state has its own short sound.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import NamedTuple, TextIO

from rapidfuzz import fuzz

from intents.names import IntentName
from intents.normalize import normalize
from knowledge.errors import NumbLegsError

from ..asr.fusion import Hearing, fast_path, fuse, raises_alarm
from ..asr.nbest import understand_best
from ..asr.recognizer import (
    SAMPLE_RATE,
    Recognizer,
    RecognizerError,
    Transcript,
    transcript_of,
)
from ..asr.second_opinion import SecondHearing, SecondOpinion
from ..audio.devices import AudioDeviceError
from ..audio.earcons import earcon
from ..audio.endpoint import (
    Endpointer,
    Event,
    FrameModel,
    SpeechEnd,
    SpeechPause,
    SpeechStart,
)
from ..audio.microphone import AudioSource
from ..dialogue.skill import Reply, Skill
from . import trace
from .barge_in import BargeIn
from .voice_output import Voice

_LOGGER = logging.getLogger(__name__)
# A red flag heard while speaking that matches the reply being said this closely (rapidfuzz
# partial ratio) is the assistant's own voice coming back through the microphone.
_ECHO_SIMILARITY = 80

DEFAULT_WAKE_PHRASE = "hey numb legs"
FOLLOW_UP_S = 8.0
PRE_ROLL_CHUNKS = 6      # chunks kept before speech starts, fed to the recogniser with it
REOPEN_TRIES = 3
SECOND_PASS_TIMEOUT_S = 10.0  # Whisper slower than this on one utterance: go on without it


@dataclass(frozen=True)
class ListenOptions:
    wake_phrase: str = DEFAULT_WAKE_PHRASE
    always_listening: bool = False   # no wake phrase: every utterance is for the assistant
    follow_up_s: float = FOLLOW_UP_S
    end_silence_ms: int = 400
    earcons: bool = True
    barge_in: bool = True            # "stop" or the wake phrase cuts the assistant's speech


class _Fed(NamedTuple):
    started: bool             # an utterance began with this block
    partial: str              # the transcript so far while in an utterance, else ""
    ended: list[str] | None   # the n-best when an utterance ended with this block, else None
    audio: bytes = b""        # the utterance's audio when it ended
    second: Future[SecondHearing] | None = None  # the second recogniser's hearing, under way
    # Ended at a pause because its n-best is a short command the domain recogniser is sure of
    # (fast_path held on exactly these words): the listener need not judge them again.
    sure: bool = False
    # For such an utterance: what the second recogniser waits for before it starts (set at the
    # answer's first sound), so the answer has the cores to itself until then.
    sounding: threading.Event | None = None


class _Utterances:
    """Cuts the microphone's blocks into utterances and recognises each.

    STREAMING (while the assistant speaks, for barge-in): each utterance is streamed into the
    recogniser from just before the speech (a few blocks are kept, so the soft start of a word
    is heard), and its partial results are watched. Otherwise nothing needs partial results: the
    utterance is recognised whole, and with a voice activity model (VOICE) already at each pause
    in it (GUESSES runs that), so when the pause turns out to be the end the words are ready.
    """

    def __init__(self, recognizer: Recognizer, end_silence_ms: int, traced: bool = False,
                 second: Callable[[bytes, threading.Event | None],
                                  Future[SecondHearing] | None] | None = None,
                 voice: FrameModel | None = None, streaming: bool = True,
                 guesses: ThreadPoolExecutor | None = None,
                 sure: Callable[[tuple[str, ...]], bool] | None = None) -> None:
        self.recognizer = recognizer
        # Starts the second recogniser on an ended utterance's audio before the first one
        # finishes, so the two run side by side on two cores.
        self._second = second
        self.endpointer = Endpointer(end_silence_ms=end_silence_ms, voice=voice)
        self._recent: deque[bytes] = deque(maxlen=PRE_ROLL_CHUNKS)
        self._feeding = False
        self._traced = traced  # stage marks for the latency budget (bench/latency_budget.py)
        self._streaming = streaming
        self._guesses = guesses
        self._guess: tuple[int, Future[tuple[Transcript, bool]]] | None = None
        # Whether an n-best heard at a pause is surely all of it (a short command the domain
        # recogniser is sure of): then the utterance ends there, without the rest of the wait.
        self._sure = sure
        # One decode at a time: a guess runs on GUESSES' thread, the recogniser is not shared.
        self._decoding = threading.Lock()

    @property
    def in_speech(self) -> bool:
        return self._feeding

    def reset(self) -> None:
        """Forget any utterance in progress (typed input or an interruption came first)."""
        self.endpointer.reset()
        self._recent.clear()
        self._feeding = False
        self._drop_guess()

    def _drop_guess(self) -> None:
        # Waited for: the recogniser must be free before anyone streams into it again.
        guess, self._guess = self._guess, None
        if guess is not None:
            try:
                guess[1].result()
            except (RecognizerError, RuntimeError, ValueError):
                pass  # its words are not wanted any more

    def _whole(self, audio: bytes) -> Transcript:
        with self._decoding:
            return transcript_of(self.recognizer, audio)

    def _at_pause(self, audio: bytes) -> tuple[Transcript, bool]:
        heard = self._whole(audio)
        return heard, bool(heard.alternatives) and self._sure is not None \
            and self._sure(heard.alternatives)

    def _sure_now(self) -> bool:
        """A guess made at the pause the utterance is still in, which is surely all of it."""
        guess = self._guess
        if guess is None or guess[0] != self.endpointer.paused_at or not guess[1].done() \
                or not self.endpointer.pause_is_long:
            return False
        try:
            return guess[1].result()[1]
        except (RecognizerError, RuntimeError, ValueError):
            return False

    def _final(self, end: SpeechEnd) -> Transcript:
        if self._streaming:
            return self.recognizer.finish()
        guess, self._guess = self._guess, None
        if guess is not None and end.paused_at == guess[0]:
            try:
                return guess[1].result()[0]
            except (RecognizerError, RuntimeError, ValueError):
                _LOGGER.debug("Recognising at the pause failed", exc_info=True)
        return self._whole(end.audio)

    def feed(self, chunk: bytes) -> _Fed:
        events: list[Event] = list(self.endpointer.feed(chunk))
        if self._feeding and not any(isinstance(event, SpeechEnd) for event in events) \
                and self._sure_now():
            events.append(self.endpointer.end_at_pause())
        partial = self.recognizer.accept(chunk) if self._feeding and self._streaming else ""
        if not self._feeding:
            self._recent.append(chunk)
        started, ended, audio, second, sure, sounding = False, None, b"", None, False, None
        for event in events:
            if isinstance(event, SpeechStart):
                started = self._feeding = True
                if self._streaming:
                    for earlier in self._recent:
                        partial = self.recognizer.accept(earlier)
                self._recent.clear()
            elif isinstance(event, SpeechPause):
                if not self._streaming and self._guesses is not None:
                    self._drop_guess()
                    self._guess = (event.sample, self._guesses.submit(self._at_pause,
                                                                      event.audio))
            elif isinstance(event, SpeechEnd):
                if self._traced:
                    trace.mark("endpoint")
                self._feeding = False
                audio = event.audio
                sure = event.reason == "early"
                sounding = threading.Event() if sure else None
                second = self._second(audio, sounding) if self._second is not None else None
                heard = self._final(event)
                if self._traced:
                    trace.mark("decoded")
                ended = list(heard.alternatives)
                self.endpointer.reset()
        return _Fed(started, partial, ended, audio, second, sure, sounding)


class Listener:
    """Runs the loop over an audio source until goodbye, end of input or Ctrl-C."""

    def __init__(self, source_factory: Callable[[], AudioSource], recognizer: Recognizer,
                 skill: Skill, voice: Voice, options: ListenOptions,
                 clock: Callable[[], float] = time.monotonic, typed: TextIO | None = None,
                 second: SecondOpinion | None = None,
                 voice_activity: FrameModel | None = None) -> None:
        self._source_factory = source_factory
        self.recognizer = recognizer
        # Whisper beside the domain recogniser (voice/asr/fusion.py decides between them), and
        # its hearings of utterances already acted on, still to be checked for a red flag.
        self.second = second
        # Endpointing on the voice, not only the level (voice/audio/endpoint.py); None: the
        # level alone, as when the model could not be loaded.
        self.voice_activity = voice_activity
        self._guesses = ThreadPoolExecutor(1, thread_name_prefix="guess")
        self._pending: list[tuple[Future[SecondHearing], str]] = []
        self._again: list[Future[SecondHearing]] = []  # the last utterance, heard again
        self._second_noted = False
        self.skill = skill
        self.voice = voice
        self.options = options
        self.clock = clock
        self._barge = BargeIn(options.wake_phrase)
        # The microphone's blocks, shared by the loop and by barge-in listening while speaking.
        self._chunks: Iterator[bytes] | None = None
        # The n-best of an utterance that cut speech short, for the loop to handle next.
        self._interrupted: list[str] | None = None
        self._listening_until = 0.0 if not options.always_listening else float("inf")
        self._reprompted = False
        self._typed: queue.Queue[str | None] = queue.Queue()
        self._typed_input = typed
        self._source: AudioSource | None = None
        self._greeted = False
        self._started_listening = False  # was the assistant listening when speech began?
        # Set at the first sound of the answer to the utterance being handled (_Fed.sounding).
        self._sounding: threading.Event | None = None
        self.finished = False

    # -- the loop -----------------------------------------------------------------------------

    def run(self) -> bool:
        """Listen until goodbye (True); False when the microphone is lost for good, and the
        caller falls back to typed chat."""
        if self._typed_input is not None:
            threading.Thread(target=self._read_typed, daemon=True).start()
        tries = 0
        while not self.finished:
            try:
                source = self._source_factory()
                self._loop(source)
                return True
            except AudioDeviceError as err:
                tries += 1
                _LOGGER.debug("Audio device failed", exc_info=True)
                if tries > REOPEN_TRIES:
                    self._say_plain(f"{err} I can't hear you any more. Type your questions "
                                    "instead, and press Enter after each one.")
                    return False
                self._say_plain(f"{err} Trying to open the microphone again.")
                time.sleep(min(2.0, 0.5 * tries))
        return True

    def _greeting(self) -> str:
        if self.options.always_listening:
            return "numb-legs is listening. Ask about numb legs at any time. Say goodbye to finish."
        return (f"numb-legs is ready. Say \"{self.options.wake_phrase}\" and then your question, "
                "or press Enter to talk. Say goodbye to finish.")

    def _loop(self, source: AudioSource) -> None:
        utterances = _Utterances(self.recognizer, self.options.end_silence_ms, traced=True,
                                 second=self._submit, voice=self.voice_activity,
                                 streaming=False, guesses=self._guesses, sure=self._sure_command)
        self._source = source
        self._chunks = iter(source.chunks())
        try:
            for chunk in self._chunks:
                if self._interrupted is not None:
                    hypotheses, self._interrupted = self._interrupted, None
                    # First: a recognition under way ends before speech is listened over.
                    utterances.reset()
                    self._after_interruption(hypotheses)
                    utterances.reset()
                if not self._greeted:
                    # Said once the microphone delivers sound: from now on it really listens.
                    self._greeted = True
                    self.voice.print(self._greeting())
                if self._handle_typed():
                    utterances.reset()
                if self.finished:
                    return
                if not utterances.endpointer.in_speech:
                    # A person who started speaking inside the window is not cut off by it.
                    due = self.skill.tick()
                    if due is not None:
                        self._answer(due, lead="timer")
                    self._check_timeout()
                fed = utterances.feed(chunk)
                if fed.started:
                    self._started_listening = self._is_listening()
                if fed.ended is not None:
                    self._sounding = fed.sounding
                    try:
                        hearing = self._hear(fed.ended, fed.second, fed.audio, sure=fed.sure)
                        self._heard(list(hearing.hypotheses), fed.ended, sure=hearing.agreed)
                    finally:
                        # No answer was spoken: Whisper waits no more.
                        unsounded, self._sounding = self._sounding, None
                        for event in (fed.sounding, unsounded):
                            if event is not None:
                                event.set()
                    if self.finished:
                        return
                flagged = self._pending_red_flag()
                if flagged is not None:
                    self._interrupted = flagged
        finally:
            self._chunks = None
            source.close()

    # -- what was heard -----------------------------------------------------------------------

    def _sure_command(self, domain: tuple[str, ...]) -> bool:
        """A short command heard beyond doubt, with no red flag: said in full at its pause."""
        return fast_path(domain, self.skill.matcher, self.skill.safety)

    def _submit(self, audio: bytes, after: threading.Event | None) -> Future[SecondHearing] | None:
        """Start the second recogniser on AUDIO, when it is ready (once AFTER is set)."""
        second = self._second_ready()
        if second is None or not audio:
            return None
        # An earlier utterance heard again waits no longer: this one's own hearing comes first.
        for future in self._again:
            future.cancel()
        self._again = []
        return second.submit(audio, after)

    def _hear(self, domain: list[str], future: Future[SecondHearing] | None, audio: bytes = b"",
              sure: bool = False) -> Hearing:
        """What to act on for one utterance: the domain recogniser's n-best (DOMAIN) alone, or
        fused with Whisper's hearing of it (FUTURE, under way; voice/asr/fusion.py decides), and
        then heard again (AUDIO, the utterance's).

        A short command the domain recogniser is sure of is acted on at once; Whisper's hearing
        of it is checked for a red flag when it comes. Anything else waits for Whisper. SURE:
        these words were already found to be such a command (at the pause that ended them).
        """
        alone = Hearing(tuple(domain), "domain")
        if future is None:
            return alone
        matcher, safety = self.skill.matcher, self.skill.safety
        if sure or fast_path(tuple(domain), matcher, safety):
            trace.mark("fast_path")
            self._pending.append((future, ""))
            return alone
        try:
            said = future.result(SECOND_PASS_TIMEOUT_S)
        except (TimeoutError, RuntimeError, ValueError, NumbLegsError):
            _LOGGER.warning("The second recogniser failed on this utterance", exc_info=True)
            return alone
        trace.mark("second_pass")
        hearing = fuse(tuple(domain), said, matcher, safety)
        _LOGGER.debug("Heard %r (domain) and %r (Whisper): %s", domain[:1], said, hearing.source)
        if not raises_alarm(hearing, safety):
            self._hear_again(audio)
        return hearing

    def _hear_again(self, audio: bytes) -> None:
        """Have Whisper hear AUDIO again at other speeds while the answer is given; a red flag
        heard there cuts the answer short (voice/asr/fusion.py, recheck)."""
        second = self._second_ready()
        if second is None:
            return
        # Not before the answer's first sound: the answer has the cores to itself until then.
        if self._sounding is None:
            self._sounding = threading.Event()
        self._again = second.submit_again(audio, self._sounding)
        self._pending.extend((future, "") for future in self._again)

    def _second_ready(self) -> SecondOpinion | None:
        """The second recogniser when it can be used now. Said once: that it is still loading
        (the domain recogniser answers meanwhile), or that it failed to load and why."""
        second = self.second
        if second is None or second.ready:
            return second
        if second.loading:
            if not self._second_noted:
                self._second_noted = True
                self.voice.print("My second recogniser is still loading; until it is ready I "
                                 "hear with one.")
            return None
        self.second = None
        self._say_plain(f"{second.failure()} I'll hear with one recogniser.")
        return None

    def _pending_red_flag(self, saying: str = "", stops: bool = False) -> list[str] | None:
        """Whisper's hearing of an utterance already acted on, when it is a red flag (and not
        the assistant's own words heard back: what it was saying when the utterance was heard,
        else SAYING). STOPS (while speaking): also when an utterance heard over the speech is
        a command to stop that the domain recogniser missed, and not words of the reply."""
        for item in list(self._pending):
            future, said_then = item
            if not future.done():
                continue
            self._pending.remove(item)
            if future.cancelled():
                continue
            try:
                said = future.result().text
            except (RuntimeError, ValueError, NumbLegsError):
                _LOGGER.debug("The second recogniser failed", exc_info=True)
                continue
            if said and self._red_flag([said], said_then or saying):
                _LOGGER.debug("Red flag heard by the second recogniser: %r", said)
                self._pending.clear()
                return [said]
            if stops and said_then and self._barge.interrupts(said) \
                    and not self._echoes(said, said_then):
                _LOGGER.debug("Barge-in on %r, heard by the second recogniser", said)
                return [said]
        return None

    def _heard(self, hypotheses: list[str], domain: list[str] | None = None,
               sure: bool = False) -> None:
        """Act on an utterance heard as HYPOTHESES (DOMAIN: the domain recogniser's n-best when
        they are Whisper's). SURE: two recognisers heard the same goodbye."""
        if not hypotheses and not domain:
            return
        best = hypotheses[0] if hypotheses else ""
        rest = self._after_wake_phrase(hypotheses)
        if rest is None and domain and domain != hypotheses:
            # The domain recogniser knows the wake phrase; Whisper may spell it otherwise.
            heard_wake = self._after_wake_phrase(domain)
            if heard_wake is not None:
                rest = heard_wake if not heard_wake or not hypotheses else hypotheses[0]
        if not (self._is_listening() or self._started_listening):
            # A red flag needs no wake phrase, waiting or not: safety is never gated.
            if rest is None and not self._red_flag(hypotheses, ""):
                _LOGGER.debug("Ignored (no wake phrase): %r", best)
                return
            self._start_listening()
            if rest == "":
                return  # the wake phrase alone: listening now, and one rising sound says so
        if rest is not None:
            # Already listening, a person may still say the wake phrase first (people do when
            # they were not heard): it is an address, not a question. Alone, it only keeps the
            # assistant listening; "hey numb legs" must not be answered as "why are my legs numb".
            if not rest:
                self._start_listening()
                return
            hypotheses = [rest]
        text, _ = understand_best(self.skill.matcher, hypotheses)
        trace.mark("matched")
        if not text:
            return
        self.voice.print(f"You said: {text}")
        # Through respond(), like typed text: menus, "pause" in the routine, context.
        reply = self.skill.respond(text, nbest=hypotheses, sure=sure)
        trace.mark("replied")
        # Heard while the first sentence is synthesised: understood, or not.
        self._answer(reply, lead="not_understood" if reply.intent == IntentName.UNKNOWN else "understood")

    def _after_wake_phrase(self, hypotheses: list[str]) -> str | None:
        """The words after the wake phrase, if an utterance starts with it; else None."""
        for text in hypotheses[:3]:
            rest = self._barge.wake_rest(text)
            if rest is not None:
                return rest
        return None

    def _after_interruption(self, hypotheses: list[str]) -> None:
        """Handle what the person said when they cut the assistant short.

        "stop" alone only stops the speech (already done); "hey numb legs, what next" or
        "stop, what causes it" goes on to be answered like any question.
        """
        if any(self._barge.is_stop(text) for text in hypotheses[:3]):
            return
        rest = self._after_wake_phrase(hypotheses)
        if rest is not None:
            hypotheses = [rest] if rest else []
        if hypotheses:
            self._heard(hypotheses)

    def _answer(self, reply: Reply, lead: str = "") -> None:
        """Say REPLY, after the earcon called LEAD (if any, and earcons are on)."""
        self._speak(reply, lead)
        if reply.end:
            self.finished = True
            return
        self._reprompted = False
        self._start_listening(earcon=False)

    def _speak(self, reply: Reply, lead: str = "") -> None:
        sound = earcon(lead) if lead and self.options.earcons else None
        sounding, self._sounding = self._sounding, None
        if self.options.barge_in and self._chunks is not None and self.voice.speaker.available:
            self.voice.deliver(reply, wait=False, lead=sound, sounding=sounding)
            self._listen_while_speaking(reply.text)
            trace.mark("questions_open")  # what is heard from now on may be a question
            return
        # The microphone is paused while speaking: the assistant must not hear itself.
        source = self._source
        pause = getattr(source, "pause", None)
        resume = getattr(source, "resume", None)
        if pause:
            pause()
        try:
            self.voice.deliver(reply, wait=True, lead=sound, sounding=sounding)
        finally:
            if resume:
                resume()
            trace.mark("questions_open")

    def _listen_while_speaking(self, saying: str = "") -> None:
        """Until the speech ends: cut it short if the person says "stop", the wake phrase, or a
        red flag ("my face is drooping" needs no wake phrase, whatever is being said).

        Anything else heard meanwhile is dropped, as it was when the microphone was paused: it
        may be the assistant's own voice coming back through the microphone. So is a red flag
        that is only the assistant's own words (SAYING, its current reply) heard back.
        """
        if self._chunks is None:
            return
        utterances = _Utterances(self.recognizer, self.options.end_silence_ms,
                                 voice=self.voice_activity)
        cut = False
        ended_at: float | None = None  # when the speech's last sound had played
        while True:
            if ended_at is None and not self.voice.speaking:
                ended_at = self.clock()
            # Over when the speech is, and the loop has read what the microphone captured
            # until then: it may be behind (hearing a long utterance again takes a second),
            # and what it has still to read is the answer coming back, not a question. (Not
            # a moment longer: a reply said straight after the answer is a question.)
            if ended_at is not None and not utterances.in_speech \
                    and not self._read_before(ended_at):
                break
            if not cut and not self._typed.empty():
                self.voice.stop()  # typing (or Enter) interrupts too; the loop handles the line
            try:
                chunk = next(self._chunks)
            except StopIteration:
                self.voice.wait()
                return
            fed = utterances.feed(chunk)
            # A red flag, or a "stop" the domain recogniser did not hear and Whisper did.
            flagged = None if cut else self._pending_red_flag(saying, stops=True)
            if flagged is not None:
                self._cut_short()
                self._interrupted = flagged
                return
            if fed.ended is not None:
                hypotheses = fed.ended
                _LOGGER.debug("Heard over the speech (%.1f s): %r",
                              len(fed.audio) / (2 * SAMPLE_RATE), hypotheses[:1])
                if not cut and self.voice.speaking and hypotheses \
                        and self._barge.interrupts(hypotheses[0]):
                    self._cut_short()  # the partial result missed it; the final did not
                    cut = True
                elif not cut and hypotheses and self._red_flag(hypotheses, saying):
                    _LOGGER.debug("Red flag said over the speech: %r", hypotheses[0])
                    self._cut_short()
                    self._interrupted = hypotheses
                    return
                elif not cut:
                    # The domain recogniser hears a red flag in everyday words poorly: Whisper
                    # listens too, and what it finds is checked as the speech goes on.
                    second = self._second_ready()
                    future = second.submit(fed.audio) if second is not None else None
                    if future is not None:
                        self._pending.append((future, saying))
                if cut:
                    self._interrupted = hypotheses
                    return
            elif utterances.in_speech and not cut and fed.partial \
                    and self._barge.interrupts(fed.partial):
                _LOGGER.debug("Barge-in on %r", fed.partial)
                self._cut_short()
                cut = True

    def _read_before(self, moment: float) -> bool:
        """Was the block read last captured before MOMENT (by this listener's clock)? False
        for a source that does not say when it captured its blocks."""
        arrived = getattr(self._source, "last_arrived", None)
        return isinstance(arrived, float) and arrived < moment

    def _red_flag(self, hypotheses: list[str], saying: str) -> bool:
        """True when HYPOTHESES raise the safety alarm and are not SAYING heard back."""
        if not self.skill.safety.assess_many(hypotheses)[1].alarm:
            return False
        return not self._echoes(hypotheses[0], saying)

    @staticmethod
    def _echoes(heard: str, saying: str) -> bool:
        """Whether HEARD is words of SAYING (the reply being said) coming back."""
        return bool(saying) and \
            fuzz.partial_ratio(normalize(heard), normalize(saying)) >= _ECHO_SIMILARITY

    def _cut_short(self) -> None:
        trace.mark("barge_in")
        self.voice.stop()
        self._start_listening()  # the rising "listening" sound says it heard and stopped

    def _say_plain(self, text: str) -> None:
        self._speak(Reply(text, IntentName.UNKNOWN))

    # -- state ----------------------------------------------------------------------------------

    def _is_listening(self) -> bool:
        return self.clock() < self._listening_until

    def _start_listening(self, earcon: bool = True) -> None:
        if earcon:
            self._earcon("listening")
        if not self.options.always_listening:
            self._listening_until = self.clock() + self.options.follow_up_s

    def _check_timeout(self) -> None:
        if self.options.always_listening or self._listening_until == 0.0:
            return
        if self.clock() < self._listening_until:
            return
        last = self.skill.ctx.last_text
        if last.rstrip().endswith("?") and not self._reprompted:
            self._reprompted = True
            self._speak(Reply(self.skill.r.reprompt, IntentName.UNKNOWN))
            self._listening_until = self.clock() + self.options.follow_up_s
            return
        self._listening_until = 0.0
        self._earcon("done")
        self.voice.print("Waiting. Say the wake phrase or press Enter to talk.")

    def _earcon(self, name: str) -> None:
        if self.options.earcons:
            self.voice.play(earcon(name))

    # -- typed input and push-to-talk ---------------------------------------------------------

    def _read_typed(self) -> None:
        stream = self._typed_input or sys.stdin
        try:
            for line in stream:
                self._typed.put(line.rstrip("\r\n"))
        except (OSError, UnicodeDecodeError, ValueError):
            _LOGGER.debug("Typed input stopped", exc_info=True)

    def _handle_typed(self) -> bool:
        handled = False
        while True:
            try:
                line = self._typed.get_nowait()
            except queue.Empty:
                return handled
            handled = True
            if line is None:
                continue
            if not line.strip():
                self._start_listening()  # Enter alone: push to talk
                continue
            self._answer(self.skill.respond(line))
            if self.finished:
                return True
