"""The conversations a Wyoming service keeps: one Skill each, found by the id numb-legs hands out
in the returned context, forgotten after a while without a turn.

Pure bookkeeping, with the clock passed in: the server calls it from one thread only.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from ..dialogue.skill import Skill

_LOGGER = logging.getLogger(__name__)

DEFAULT_IDLE_S = 600.0
DEFAULT_MAX_OPEN = 1000
# Home Assistant sends its own conversation ids (26-character ULIDs); ours are 32 hex digits.
# Anything else a client sends is not used as a key: a new conversation starts instead.
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


@dataclass
class Conversation:
    """One conversation: its id, its skill (the dialogue state) and when it last had a turn."""

    id: str
    skill: Skill
    last_turn: float


class Conversations:
    """Open conversations, least recently used first.

    IDLE_S: a conversation without a turn for this long is forgotten. MAX_OPEN: beyond this many,
    the one idle longest is forgotten early, so clients inventing ids cannot fill the memory."""

    def __init__(self, new_skill: Callable[[], Skill], idle_s: float = DEFAULT_IDLE_S,
                 max_open: int = DEFAULT_MAX_OPEN, clock: Callable[[], float] = time.monotonic) -> None:
        if idle_s <= 0 or max_open < 1:
            raise ValueError(f"idle_s must be above 0 and max_open at least 1, not {idle_s}, {max_open}")
        self._new_skill = new_skill
        self.idle_s = idle_s
        self.max_open = max_open
        self.clock = clock
        self._open: OrderedDict[str, Conversation] = OrderedDict()

    def __len__(self) -> int:
        return len(self._open)

    def __contains__(self, conversation_id: object) -> bool:
        return conversation_id in self._open

    def take(self, wanted: object) -> Conversation:
        """The conversation WANTED names (an id from a returned context), else a new one.

        A new conversation keeps WANTED as its id when it is a usable id (Home Assistant's own
        conversation id), so the next turn with the same id finds it."""
        now = self.clock()
        self.expire(now)
        if isinstance(wanted, str) and wanted in self._open:
            conversation = self._open[wanted]
            conversation.last_turn = now
            self._open.move_to_end(wanted)
            return conversation
        ident = wanted if isinstance(wanted, str) and _ID.match(wanted) else uuid.uuid4().hex
        while len(self._open) >= self.max_open:
            dropped, _ = self._open.popitem(last=False)
            _LOGGER.info("%d conversations open: forgot %s, idle longest", self.max_open, dropped)
        conversation = Conversation(ident, self._new_skill(), now)
        self._open[ident] = conversation
        return conversation

    def end(self, conversation_id: str) -> None:
        """Forget a conversation that ended (a goodbye)."""
        self._open.pop(conversation_id, None)

    def expire(self, now: float | None = None) -> int:
        """Forget every conversation idle longer than idle_s; how many were forgotten."""
        now = self.clock() if now is None else now
        forgotten = 0
        while self._open:
            oldest = next(iter(self._open.values()))
            if now - oldest.last_turn < self.idle_s:
                break
            self._open.popitem(last=False)
            forgotten += 1
        if forgotten:
            _LOGGER.debug("Forgot %d idle conversations; %d open", forgotten, len(self._open))
        return forgotten
