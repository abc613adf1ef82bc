"""The ``numb-legs`` command: ask, chat and understand (typed text in, printed and spoken out)."""

from __future__ import annotations

import argparse
import json
import logging
import queue
import re
import sys
import threading
from pathlib import Path
from typing import NoReturn, TextIO

from knowledge.errors import DataFileError, NumbLegsError
from knowledge.heap import tune_allocator
from voice.asr.engine_choice import ENGINES

from ..runtime import trace
from . import option_types
from .console import configure_logging, drop_closed_output
from .exit_codes import EXIT_BAD_INPUT, EXIT_BROKEN, EXIT_OK

_LOGGER = logging.getLogger(__name__)

TICK_S = 0.5  # how often a waiting conversation checks its timers
# Said aloud when saved settings could not be used; the printed message has the details.
SETTINGS_NOTICE = ("Some of your saved settings could not be used, so I'm using the defaults for "
                   "them. The details are on the screen.")
# Commands whose output is for programs or that never speak: failures are printed only.
_QUIET_COMMANDS = frozenset({"understand", "transcribe", "download-model", "devices", "diary",
                             "settings", "serve", "prepare"})


def _version() -> str:
    from importlib import metadata  # here: importing it costs every start 50 ms

    try:
        return metadata.version("numb-legs")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


class _Parser(argparse.ArgumentParser):
    """argparse, with errors worded for people: what was wrong and where to read more."""

    def error(self, message: str) -> NoReturn:
        # "argument --rate: --rate must be ..." -> "--rate must be ...": the checks in
        # option_types.py already name the option.
        message = re.sub(r"^argument [^:]+: (?=--)", "", message)
        self.exit(EXIT_BROKEN, f"{self.prog}: {message}\nRun {self.prog} --help to see what it "
                               "takes.\n")


def _add_global_options(parser: argparse.ArgumentParser, *, after_command: bool) -> None:
    """The options every command takes, before or after its name.

    AFTER_COMMAND: the copy each subcommand gets has no defaults (argparse.SUPPRESS), so an option
    given before the command is not overwritten by the subcommand's default when it is absent.
    """
    def default(value: object) -> object:
        return argparse.SUPPRESS if after_command else value

    parser.add_argument("--version", action="version", version=f"numb-legs {_version()}")
    parser.add_argument("--debug", action="store_true", help="log what happens, to stderr",
                        default=default(False))
    speech = parser.add_argument_group("speech")
    speech.add_argument("--no-speech", action="store_true", help="print replies, do not speak them",
                        default=default(False))
    speech.add_argument("--rate", type=option_types.rate, default=default(None),
                        help="speaking rate in words per minute (80 to 400)")
    speech.add_argument("--volume", type=option_types.volume, default=default(None),
                        help="speaking volume, above 0 and at most 1.0")
    speech.add_argument("--voice", help="voice id or part of its name (espeak-ng voices)",
                        default=default(None))
    speech.add_argument("--output-device", help="speaker: device index or part of its name",
                        default=default(None))
    parser.add_argument("--emergency-number", type=option_types.emergency_number,
                        default=default(None), help="number to call in an emergency, 2 to 15 "
                        "digits (default: from your locale, else 112)")
    hearing = parser.add_argument_group("speech recognition")
    hearing.add_argument("--engine", choices=ENGINES,
                         help="speech engine (default: Vosk when a model is installed, else "
                              "PocketSphinx; whisper: Whisper tiny.en, slower, open vocabulary)",
                         default=default(None))
    hearing.add_argument("--no-whisper", dest="second_opinion", action="store_false",
                         help="hear with the speech engine alone, without Whisper as a second "
                              "opinion (the default when Whisper is installed)", default=default(True))
    hearing.add_argument("--model", metavar="PATH", help="Vosk model folder", default=default(None))
    hearing.add_argument("--open-vocabulary", action="store_true",
                         help="recognise any English, not only what numb-legs knows about",
                         default=default(False))
    hearing.add_argument("--input-device", help="microphone: device index or part of its name",
                         default=default(None))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="numb-legs",
        description="Offline voice assistant: why are my legs numb, and what to do right now. "
                    "Options may come before or after the command.")
    _add_global_options(parser, after_command=False)
    # Handed to every subcommand (parents=), so `numb-legs ask --no-speech ...` works as well.
    shared = _Parser(add_help=False)
    _add_global_options(shared, after_command=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=help_text, parents=[shared])

    ask = add("ask", "answer one question, printed and spoken")
    ask.add_argument("text", nargs="+", metavar="TEXT")
    add("chat", "a typed conversation, replies printed and spoken")
    listen = add("listen", "hands-free: listen to the microphone and answer aloud (the default "
                 "when a microphone exists)")
    listen.add_argument("--wake-phrase", default="hey numb legs",
                        help="what to say before a question (default: %(default)s)")
    listen.add_argument("--always-listen", action="store_true",
                        help="no wake phrase: treat everything heard as a question")
    listen.add_argument("--follow-up", type=option_types.follow_up, default=8.0, metavar="SECONDS",
                        help="after an answer, listen this long without the wake phrase (0 to 60)")
    listen.add_argument("--no-barge-in", dest="barge_in", action="store_false",
                        help="do not listen while speaking (if \"stop\" still goes unheard over "
                             "a loud speaker)")
    listen.add_argument("--echo-cancel", action="store_true",
                        help="take the speaker's own sound out of what the microphone hears "
                             "while it speaks, so \"stop\" is heard through a loudspeaker "
                             "(keeps the sound output open; not needed with headphones or a "
                             "system echo canceller)")
    listen.add_argument("--no-earcons", dest="earcons", action="store_false",
                        help="no short sounds when listening starts and stops")
    understand = add("understand", "show what utterances mean")
    understand.add_argument("--json", action="store_true", help="one JSON object per line")
    understand.add_argument("--wav", action="store_true",
                            help="the arguments are WAV files: transcribe them first")
    understand.add_argument("text", nargs="*", metavar="TEXT",
                            help="utterances (or WAV files with --wav); with none, one utterance "
                                 "per line from standard input")
    transcribe = add("transcribe", "print what WAV files say")
    transcribe.add_argument("--json", action="store_true", help="one JSON object per line")
    transcribe.add_argument("files", nargs="+", metavar="FILE")
    add("devices", "list microphones and speakers")
    settings = add("settings", "show the saved speech settings")
    settings.add_argument("--reset", action="store_true", help="back to the defaults")
    add("doctor", "check microphone, speech engine, voice and settings; say how to fix "
        "what fails")
    download = add("download-model", "download a Vosk speech model for better recognition")
    download.add_argument("name", nargs="?", metavar="NAME",
                          help="a name from --list, or the https address of a Vosk model zip "
                               "(default: vosk-model-small-en-us-0.15)")
    download.add_argument("--target", type=Path, help="folder to install into (default: your "
                          "user data folder)")
    download.add_argument("--list", action="store_true", help="list the models you can download")
    from .diary_commands import add_parser as add_diary_parser

    add_diary_parser(commands, parents=[shared])
    from .serve_command import add_parser as add_serve_parser

    add_serve_parser(commands, parents=[shared])
    from .prepare_command import add_parser as add_prepare_parser

    add_prepare_parser(commands, parents=[shared])
    return parser


def main(argv: list[str] | None = None) -> int:
    trace.mark("start_main")
    tune_allocator()
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.debug)
    out = sys.stdout
    try:
        status = _run(args, out)
        out.flush()  # here, where a closed pipe can still be handled, not at interpreter exit
        return status
    except BrokenPipeError:
        # The reader stopped reading (head, a pager quit early): it had what it wanted, so exit 0
        # and say nothing, as a pipeline under `set -o pipefail` must not fail because of it.
        drop_closed_output()
        return EXIT_OK
    except DataFileError as err:
        _fail(f"numb-legs cannot start: {err}. Reinstall numb-legs, or undo the change to that file.",
              args)
        return EXIT_BROKEN
    except NumbLegsError as err:
        _fail(f"numb-legs: {err}", args)
        return EXIT_BROKEN
    except KeyboardInterrupt:
        out.write("\n")
        return EXIT_OK
    except Exception as err:  # noqa: BLE001 - last line of defence: no traceback reaches a user
        _LOGGER.debug("Unexpected failure", exc_info=True)
        _fail(f"numb-legs hit an unexpected problem ({err.__class__.__name__}: {err}). "
              "Run it again with --debug for details.", args)
        return EXIT_BROKEN


def _fail(message: str, args: argparse.Namespace) -> None:
    try:
        sys.stderr.write(message + "\n")
        sys.stderr.flush()
    except BrokenPipeError:
        drop_closed_output()
    if args.no_speech or getattr(args, "command", None) in _QUIET_COMMANDS:
        return
    # The person may not be looking at the screen: say that something is wrong, briefly.
    try:
        from ..runtime.voice_output import open_voice

        voice = open_voice(_speech_options(args), out=sys.stderr)
        if voice.speaker.available:
            voice.speaker.say("Sorry, numb-legs cannot start. The details are on the screen.")
    except NumbLegsError:
        _LOGGER.debug("Could not speak the start-up failure", exc_info=True)


def _speech_options(args: argparse.Namespace):
    from ..runtime.voice_output import SpeechOptions

    return SpeechOptions(enabled=not args.no_speech, rate=args.rate, volume=args.volume,
                         voice=args.voice, device=args.output_device)


def _run(args: argparse.Namespace, out: TextIO) -> int:
    command = args.command or "auto"
    from ..runtime.settings import config_path, describe, load, reset

    path = config_path()
    saved, problem = load(path)
    notes = [problem] if problem else []
    if problem and command != "doctor":  # the doctor reports it among its checks
        sys.stderr.write(problem + "\n")
    if command == "settings":
        if args.reset:
            failed = reset(path)
            out.write((failed or "Settings are back to the defaults.") + "\n")
            return EXIT_BROKEN if failed else EXIT_OK
        out.write("\n".join(describe(saved, path, emergency_option=args.emergency_number)) + "\n")
        return EXIT_OK
    if command == "download-model":
        from .speech_commands import download

        return download(args, out)
    if command == "devices":
        from .speech_commands import devices

        return devices(out)
    if command == "transcribe":
        from .speech_commands import transcribe

        args.files = [Path(f) for f in args.files]
        return transcribe(args, out)
    if command == "diary":
        from .diary_commands import run as run_diary

        return run_diary(args, out)
    if command == "prepare":
        from .prepare_command import run as run_prepare

        return run_prepare(args, out)
    if command == "serve":  # builds its own skill, shared by every conversation
        from .serve_command import run as run_serve

        return run_serve(args, out)
    if command in ("listen", "auto"):
        from .speech_commands import prepare_listening

        prepare_listening(args)  # the speech model builds while the skill does
    trace.mark("start_prepared")
    # The safety backstop's model loads on its own thread while the matcher loads here (after
    # the fork above: a process must not fork while another of its threads holds a lock), and
    # starts before the skill's modules are imported here, which takes a quarter of a second.
    from intents.safety import default_safety

    default_safety()
    from ..runtime.skill_setup import build_skill
    from ..runtime.voice_output import open_voice

    skill = build_skill(args.emergency_number or saved.emergency_number,
                        one_shot=command == "ask")
    trace.mark("start_skill")
    if command == "understand" and args.wav:
        from .speech_commands import understand_wav

        if not args.text:
            sys.stderr.write("numb-legs: understand --wav needs one or more WAV files.\n")
            return EXIT_BAD_INPUT
        args.files = [Path(f) for f in args.text]
        return understand_wav(skill, args, out)
    if command == "understand":
        return _understand(skill, args, out)
    voice = open_voice(_speech_options(args), out, saved, path)
    trace.mark("start_voice")
    notes += voice.notes
    if command == "doctor":
        from .speech_commands import doctor

        return doctor(voice, args, notes)
    for note in voice.notes:
        sys.stderr.write(note + "\n")
    if command != "ask":  # ask answers first: the question matters more than the settings
        _say_notice(voice, notes)
    if command in ("listen", "auto"):
        from .speech_commands import listen

        if command == "auto":
            defaults = build_parser().parse_args(["listen"])
            for key in ("wake_phrase", "always_listen", "follow_up", "barge_in", "echo_cancel",
                        "earcons"):
                setattr(args, key, getattr(defaults, key))
        return listen(skill, voice, args, _chat)
    if command == "ask":
        reply = skill.respond(" ".join(args.text))
        voice.deliver(reply, wait=True)
        _say_notice(voice, notes)
        return EXIT_OK if reply.usable else EXIT_BAD_INPUT
    return _chat(skill, voice)


def _say_notice(voice, notes: list[str]) -> None:
    """Say that the saved settings need attention, briefly: the details (a file path) were
    printed, and are no use read aloud."""
    if notes and voice.speaker.available:
        voice.speaker.say(SETTINGS_NOTICE)


def _chat(skill, voice, greet: bool = True) -> int:
    if greet:
        voice.print("numb-legs: ask me about numb legs. Type a question and press Enter. "
                    "Type help for ideas, goodbye to finish.")
    voice.tell_once_if_silent()
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        # A thread, so timers (the relief routine's walk) can speak while nobody types.
        try:
            for line in sys.stdin:
                lines.put(line)
        except (OSError, UnicodeDecodeError, ValueError):
            voice.print("That input was not readable text.")
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    while True:
        try:
            line = lines.get(timeout=TICK_S)
        except queue.Empty:
            due = skill.tick()
            if due is not None:
                from ..audio.earcons import earcon

                voice.deliver(due, wait=False, lead=earcon("timer"))  # the timer's own sound
            continue
        if line is None:  # end of input
            voice.wait()
            return EXIT_OK
        voice.stop()  # typing while it speaks interrupts it
        reply = skill.respond(line.strip())
        voice.deliver(reply, wait=reply.end)
        if reply.end:
            return EXIT_OK


def _understand(skill, args: argparse.Namespace, out: TextIO) -> int:
    status = EXIT_OK
    for number, text in _utterances(args):
        if text is None:
            sys.stderr.write(f"Line {number} is not valid UTF-8 text; skipped it.\n")
            status = EXIT_BAD_INPUT
            continue
        skill.reset()  # each line on its own: no context carried between them
        reply = skill.respond(text)
        match = reply.match
        if not reply.usable:
            status = EXIT_BAD_INPUT
        if args.json:
            record = {"text": text, **reply.to_json()}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            intent = reply.intent
            confidence = f"{match.confidence:.2f}" if match else "0.00"
            out.write(f"{intent} ({confidence}) {json.dumps(match.slots) if match and match.slots else ''}"
                      .rstrip() + f"\n  {reply.text}\n")
    out.flush()
    return status


def _utterances(args: argparse.Namespace):
    """(line number, text or None when unreadable) from the arguments or standard input."""
    if args.text:
        for number, text in enumerate(args.text, start=1):
            yield number, text
        return
    for number, raw in enumerate(sys.stdin.buffer, start=1):
        try:
            yield number, raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            yield number, None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
