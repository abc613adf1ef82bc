"""Commands around speech: transcribe, understand --wav, download-model."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
from functools import partial
from typing import TextIO

from ..asr.engine_choice import (
    EngineOptions,
    open_recognizer,
    open_second_opinion,
    prepare_in_background,
)
from ..asr.fusion import settle
from ..asr.nbest import understand_best
from ..asr.recognizer import transcribe_bytes, transcript_of
from ..audio.wav import AudioFileError, read_wav
from ..runtime import trace
from .exit_codes import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_OK

_LOGGER = logging.getLogger(__name__)


def engine_options(args: argparse.Namespace, extra: tuple[str, ...] = ()) -> EngineOptions:
    return EngineOptions(engine=args.engine, model=args.model,
                         open_vocabulary=args.open_vocabulary, extra_phrases=extra,
                         second_opinion=getattr(args, "second_opinion", True))


def _recognizer(args: argparse.Namespace, err: TextIO):
    recognizer, note = open_recognizer(engine_options(args))
    if note:
        err.write(note + "\n")
    return recognizer


class _WavFiles:
    """The readable WAV files among PATHS, as 16 kHz audio; each unreadable one is reported,
    and each one that is cut short is transcribed with a warning."""

    def __init__(self, paths) -> None:
        self.paths = paths
        self.status = EXIT_OK

    def __iter__(self):
        for path in self.paths:
            try:
                audio = read_wav(path)
            except AudioFileError as error:
                sys.stderr.write(f"{error}\n")  # it names the file
                self.status = EXIT_BAD_INPUT
                continue
            cut = audio.cut_short(path)
            if cut:  # a warning, not a failure: what is there is often the question
                sys.stderr.write(cut + "\n")
            yield path, audio.to_bytes()


def transcribe(args: argparse.Namespace, out: TextIO) -> int:
    """Print what each WAV file says (one line each, or JSON)."""
    recognizer = _recognizer(args, sys.stderr)
    files = _WavFiles(args.files)
    for path, audio in files:
        text = transcribe_bytes(recognizer, audio)
        if args.json:
            out.write(json.dumps({"file": str(path), "transcript": text,
                                  "engine": recognizer.name, "mode": recognizer.mode}) + "\n")
        else:
            out.write(f"{path}: {text}\n")
    out.flush()
    return files.status


def understand_wav(skill, args: argparse.Namespace, out: TextIO) -> int:
    """`understand --wav`: the transcript and what it means, for each WAV file."""
    recognizer = _recognizer(args, sys.stderr)
    second, note = open_second_opinion(engine_options(args))
    if note:
        sys.stderr.write(note + "\n")
    if second is not None and not second.wait_ready():
        sys.stderr.write(f"{second.failure()} I'll hear with one recogniser.\n")
        second = None
    files = _WavFiles(args.files)
    for path, audio in files:
        domain = transcript_of(recognizer, audio).alternatives
        said = second.hear(audio) if second is not None else None
        again = partial(second.hear_again, audio) if second is not None else None
        hearing, fast = settle(domain, said, skill.matcher, skill.safety, again)
        hypotheses = list(hearing.hypotheses)
        text, match = understand_best(skill.matcher, hypotheses)
        skill.reset()
        reply = skill.respond(text, nbest=hypotheses, sure=hearing.agreed)
        engine = recognizer.name if second is None else f"{recognizer.name}+whisper"
        record = {"file": str(path), "engine": engine, "transcript": text,
                  **reply.to_json(fallback=match),
                  "safety": skill.safety.assess_many(hypotheses or [text])[1].to_json(),
                  "nbest": hypotheses[:5]}
        if second is not None:
            record.update(heard_by=hearing.source, path="fast" if fast else "second",
                          domain=domain[0] if domain else "",
                          whisper=said.text if said is not None else None)
        if args.json:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            match = reply.match or match
            out.write(f"{path}: {text!r} -> {match.intent} ({match.confidence:.2f})\n  {reply.text}\n")
    out.flush()
    return files.status


def download(args: argparse.Namespace, out: TextIO) -> int:
    from ..asr.download_progress import TextProgress
    from ..asr.installed_models import installed_model, user_models_dir
    from ..asr.model_catalog import UnknownModelError, catalog_lines, load_catalog, resolve_model
    from ..asr.model_download import download_model

    if args.list:
        out.write("\n".join(catalog_lines()) + "\n")
        return EXIT_OK
    target = args.target or user_models_dir()
    try:
        entry = resolve_model(args.name, load_catalog())
    except UnknownModelError as error:
        sys.stderr.write(f"numb-legs: {error}\n")
        return EXIT_BAD_INPUT
    found = installed_model(args.name, target)
    if found:
        out.write(f"{entry.name} is already installed in {found}.\n")
        return EXIT_OK
    out.write(f"Downloading {entry.name} into {target}.\n")
    progress = TextProgress(out, label=f"Downloading {entry.name}")
    try:
        path = download_model(args.name, target, progress=progress)
    except KeyboardInterrupt:
        progress.finish()
        out.write("Download stopped. Run the same command again to resume.\n")
        return EXIT_INTERRUPTED
    finally:
        progress.finish()
    out.write(f"Installed {entry.name} in {path}.\n")
    if args.target:
        out.write(f"To use it, pass --model {path} or set NUMB_LEGS_VOSK_MODEL={path}.\n")
    return EXIT_OK


def prepare_listening(args: argparse.Namespace) -> None:
    """Start building the recogniser's model in the background (see prepare_in_background)."""
    from ..runtime.listener import DEFAULT_WAKE_PHRASE

    wake = getattr(args, "wake_phrase", None) or DEFAULT_WAKE_PHRASE
    args.recognizer_ready = prepare_in_background(engine_options(args, extra=(wake,)))
    # The audio library starts (PortAudio scans the sound devices, in C) on a thread of its
    # own, after the fork above, while this one loads the skill; the speaker and microphone
    # wait for it only if they come first. A failure is left for them to meet and report.
    threading.Thread(target=_start_audio, name="audio-start", daemon=True).start()


def _start_audio() -> None:
    from ..audio.devices import load_sounddevice

    try:
        load_sounddevice()
    # The speaker and the microphone load it again, and meet and report whatever failed here.
    except Exception:  # noqa: BLE001 - a head start only: no traceback from this thread
        _LOGGER.debug("The audio library did not start", exc_info=True)


def listen(skill, voice, args: argparse.Namespace, chat) -> int:
    """The hands-free loop; typed chat when there is no microphone or it is lost for good."""
    from ..audio.microphone import Microphone, has_microphone
    from ..runtime.listener import Listener, ListenOptions

    if not has_microphone(args.input_device):
        wanted = f" called {args.input_device!r}" if args.input_device else ""
        voice.print(f"No microphone{wanted} was found, so type your questions instead.")
        return chat(skill, voice)
    options = ListenOptions(wake_phrase=args.wake_phrase, always_listening=args.always_listen,
                            follow_up_s=args.follow_up, barge_in=args.barge_in,
                            earcons=args.earcons)
    getattr(args, "recognizer_ready", lambda: None)()
    trace.mark("start_domain_model")
    # The recogniser and the voice activity model load while the safety backstop still does
    # (on its own thread): most of either is C code, so the two cores share the work.
    recognizer, note = open_recognizer(engine_options(args, extra=(args.wake_phrase,)))
    if note:
        voice.print(note)
    trace.mark("start_recognizer")
    voice_activity = _voice_activity(voice)
    # The safety backstop finishes loading before the microphone opens: loading it while
    # listening competes with the audio for two cores, and a starved audio thread drops sound.
    skill.safety.has_backstop  # noqa: B018 - waits for the load; its result is not needed here
    trace.mark("start_backstop")
    # Whisper starts loading (in the background, while numb-legs listens) only now, so that it
    # does not hold up the backstop.
    second, note = open_second_opinion(engine_options(args))
    trace.mark("start_second_opinion")
    if note:
        voice.print(note)
    echo = _echo_canceller(voice, args)
    listener = Listener(lambda: Microphone(args.input_device, echo=echo), recognizer, skill,
                        voice, options, typed=sys.stdin, second=second,
                        voice_activity=voice_activity)
    if not listener.run():
        return chat(skill, voice, greet=False)
    return EXIT_OK


def _echo_canceller(voice, args: argparse.Namespace):
    """What takes the speaker's sound out of the microphone's while numb-legs speaks and
    listens (barge-in), or None: not asked for (--echo-cancel), no barge-in, or no sound."""
    from ..audio.echo_cancel import EchoCanceller

    if not (args.barge_in and args.echo_cancel):
        return None
    reference = voice.speaker.echo_reference()
    return EchoCanceller(reference) if reference is not None else None


def _voice_activity(voice):
    """The voice activity model, or None after saying once why listening goes on without it."""
    from ..audio.voice_activity import VoiceActivityError, load_voice_activity

    try:
        return load_voice_activity()
    except VoiceActivityError as err:
        voice.print(f"{err} Until then I tell when you have finished speaking by the sound "
                    "level alone.")
        return None


def devices(out: TextIO) -> int:
    """List microphones and speakers with their indexes, for --input-device/--output-device."""
    from ..audio.devices import input_devices, output_devices

    inputs = input_devices()
    outputs = output_devices()
    out.write("Microphones (use --input-device):\n")
    out.write("".join(f"  {d.index}: {d.name}\n" for d in inputs) or "  none\n")
    out.write("Speakers (use --output-device):\n")
    out.write("".join(f"  {index}: {name}\n" for index, name in outputs) or "  none\n")
    return EXIT_OK


def doctor(voice, args: argparse.Namespace, notes: list[str]) -> int:
    """`numb-legs doctor`; NOTES: what could not be used of the saved settings."""
    from .doctor import run_doctor

    return run_doctor(voice, args, engine_options(args), notes)
