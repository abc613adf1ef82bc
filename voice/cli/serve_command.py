"""``numb-legs serve``: answer Home Assistant's voice satellites over the Wyoming protocol."""

from __future__ import annotations

import argparse
import logging
import math
import sys
from collections.abc import Sequence
from typing import TextIO

from ..service.address import DEFAULT_URI
from .exit_codes import EXIT_BROKEN, EXIT_OK

_LOGGER = logging.getLogger(__name__)

INSTALL_HINT = ("numb-legs serve needs the wyoming package. Install it with: "
                ".venv/bin/pip install -e '.[serve]' (or pip install 'numb-legs[serve]').")


def _number(option: str, low: float, high: float, whole: bool = False):
    """An argparse type: a number from LOW to HIGH, refused with its range otherwise."""
    def convert(text: str) -> float:
        try:
            value = float(text.strip())
        except ValueError:
            value = math.nan
        if not low <= value <= high or (whole and value != int(value)):  # NaN fails the range
            kind = "a whole number" if whole else "a number"
            raise argparse.ArgumentTypeError(f"{option} must be {kind} from {low:g} to {high:g}; "
                                             f"you gave {text!r}.")
        return int(value) if whole else value
    return convert


def add_parser(commands: argparse._SubParsersAction,
               parents: Sequence[argparse.ArgumentParser] = ()) -> argparse.ArgumentParser:
    """Register ``serve`` on the main parser's COMMANDS; PARENTS are the global options."""
    serve = commands.add_parser(
        "serve", parents=list(parents),
        help="answer Home Assistant voice satellites over the Wyoming protocol",
        description="A Wyoming service: Home Assistant's Wyoming Protocol integration finds a "
                    "conversation agent (numb-legs) and a speech-to-text engine (its recogniser).")
    serve.add_argument("--uri", default=DEFAULT_URI,
                       help="where to listen: tcp://HOST:PORT or unix://PATH (default: %(default)s, "
                            "this computer only; tcp://0.0.0.0:10700 for the whole network)")
    serve.add_argument("--conversation-minutes", type=_number("--conversation-minutes", 1, 1440),
                       default=10.0, metavar="MINUTES",
                       help="forget a conversation after this many minutes without a question "
                            "(1 to 1440, default %(default)g)")
    serve.add_argument("--client-timeout", type=_number("--client-timeout", 0.5, 600),
                       default=20.0, metavar="SECONDS",
                       help="close a connection that sends no whole event for this long "
                            "(0.5 to 600, default %(default)g)")
    serve.add_argument("--max-connections", type=_number("--max-connections", 1, 4096, whole=True),
                       default=256, metavar="COUNT",
                       help="connections open at once (1 to 4096, default %(default)s)")
    return serve


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Serve until stopped (SIGTERM or Ctrl+C): 0 after a clean stop. Raises a NumbLegsError for
    an address that cannot be used or a broken data file."""
    try:
        from ..service.address import ServiceAddress
        from ..service.event_reader import EventLimits
        from ..service.service_setup import ServiceSettings, build_service
        from ..service.wyoming_server import ServerOptions, serve
    except ModuleNotFoundError as err:
        if err.name != "wyoming" and not (err.name or "").startswith("wyoming."):
            raise
        sys.stderr.write(INSTALL_HINT + "\n")
        return EXIT_BROKEN
    from ..asr.engine_choice import EngineOptions
    from ..runtime.settings import config_path, load
    from ..runtime.skill_setup import emergency_number

    address = ServiceAddress.parse(args.uri)
    saved, _ = load(config_path())  # a problem with the file was said already, by main()
    number = emergency_number(getattr(args, "emergency_number", None) or saved.emergency_number)
    settings = ServiceSettings(
        server=ServerOptions(address, EventLimits(timeout_s=args.client_timeout),
                             max_connections=args.max_connections),
        emergency_number=number,
        idle_s=args.conversation_minutes * 60.0,
        engine=EngineOptions(engine=getattr(args, "engine", None), model=getattr(args, "model", None),
                             second_opinion=getattr(args, "second_opinion", True)))
    service = build_service(settings)
    serve(service, out, sys.stderr)
    out.write("numb-legs stopped serving.\n")
    out.flush()
    return EXIT_OK
