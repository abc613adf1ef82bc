"""``python -m voice.service``: `numb-legs serve` on its own, with the options it shares with the
main command that matter to it (--debug, --emergency-number, --engine, --model, --no-whisper)."""

from __future__ import annotations

import argparse
import logging
import sys

from knowledge.errors import NumbLegsError

from ..asr.engine_choice import ENGINES
from ..cli import option_types
from ..cli.exit_codes import EXIT_BROKEN
from ..cli.serve_command import add_parser, run


def build_parser() -> argparse.ArgumentParser:
    shared = argparse.ArgumentParser(add_help=False)
    shared.add_argument("--debug", action="store_true", help="log what happens, to stderr")
    shared.add_argument("--emergency-number", type=option_types.emergency_number,
                        help="number to call in an emergency (default: the saved setting, else "
                             "from your locale, else 112)")
    shared.add_argument("--engine", choices=ENGINES, help="the default speech-to-text engine")
    shared.add_argument("--model", metavar="PATH", help="Vosk model folder")
    shared.add_argument("--no-whisper", dest="second_opinion", action="store_false",
                        help="do not offer Whisper as a speech-to-text model")
    parser = argparse.ArgumentParser(prog="python -m voice.service", add_help=False)
    commands = parser.add_subparsers(dest="command")
    add_parser(commands, parents=[shared])
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(["serve", *(sys.argv[1:] if argv is None else argv)])
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        return run(args, sys.stdout)
    except NumbLegsError as err:
        sys.stderr.write(f"numb-legs: {err}\n")
        return EXIT_BROKEN


if __name__ == "__main__":
    sys.exit(main())
