"""What a transcript sent to numb-legs' handle program gets: the skill's reply, handled or
not-handled, and the conversation it belongs to.

Every line goes through the same skill as local speech: the safety stage first, then the
matcher and the dialogue. The matcher, the knowledge, the responses, the safety stage and the
diary are loaded once and shared; each conversation has only its own Skill (its dialogue state).
Called from one thread only (the service's dialogue worker).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from intents.meaning import default_matcher
from intents.model import IntentMatcher, Match
from intents.names import IntentName
from intents.safety import SafetyStage, default_safety
from knowledge.diary.store import DiaryStore
from knowledge.loader import load_knowledge
from knowledge.model import KnowledgeBase
from knowledge.numbers import spoken_duration

from ..asr.nbest import understand_best
from ..dialogue.responses import Responses, load_responses
from ..dialogue.skill import SAFETY_QUESTION, Reply, Skill
from .conversations import Conversations
from .texts import DURATION, ServiceTexts

_LOGGER = logging.getLogger(__name__)

CONVERSATION_KEY = "conversation_id"  # the key Home Assistant's Wyoming agent uses too
# The skill keeps every reply of a conversation; a satellite's conversation may run for hours.
HISTORY_KEPT = 20


@dataclass(frozen=True)
class TurnResult:
    """One turn's answer: whether numb-legs handled it, what to say, and the conversation."""

    handled: bool
    text: str
    conversation_id: str
    intent: str
    ended: bool = False

    def context(self) -> dict[str, Any]:
        """The context returned with the answer; its conversation id carries the next turn."""
        context: dict[str, Any] = {CONVERSATION_KEY: self.conversation_id, "intent": self.intent}
        if self.ended:
            context["ended"] = True
        return context


def is_handled(reply: Reply) -> bool:
    """Emergency advice and the safety question always count as handled, so no fallback agent
    can take the turn over; a line numb-legs could not use or did not understand does not."""
    if reply.intent in (IntentName.EMERGENCY, SAFETY_QUESTION):
        return True
    return reply.usable and reply.intent != IntentName.UNKNOWN


@dataclass(frozen=True)
class SharedParts:
    """What every conversation shares: loaded once per process."""

    matcher: IntentMatcher
    kb: KnowledgeBase
    responses: Responses
    safety: SafetyStage
    diary: DiaryStore
    emergency_number: str

    @classmethod
    def load(cls, emergency_number: str) -> SharedParts:
        """The shipped data; raises DataFileError when a data file is broken."""
        return cls(default_matcher(), load_knowledge(), load_responses(), default_safety(),
                   DiaryStore(), emergency_number)

    def new_skill(self) -> Skill:
        # One diary store for every conversation: its connection is shared under its own lock,
        # and SQLite's WAL lets the local assistant write to the same file meanwhile.
        return Skill(self.matcher, self.kb, self.responses, self.emergency_number,
                     diary=self.diary, safety=self.safety)


class Dialogue:
    """Turns for every open conversation."""

    def __init__(self, parts: SharedParts, conversations: Conversations, texts: ServiceTexts) -> None:
        self.parts = parts
        self.conversations = conversations
        # At home the timed step ends with "I'll check back in two minutes"; a satellite
        # cannot speak up unasked, so that sentence becomes "...then say next".
        self._rewordings = []
        for step in parts.kb.relief.steps:
            if step.seconds:
                duration = spoken_duration(step.seconds, exact=True)
                self._rewordings.append((parts.responses.routine_timer.fill(duration=duration),
                                         texts.routine_timer.replace(DURATION, duration)))

    def turn(self, text: str, context: Mapping[str, Any] | None) -> TurnResult:
        """The answer to TEXT in the conversation CONTEXT names (a new one when it names none)."""
        conversation = self.conversations.take((context or {}).get(CONVERSATION_KEY))
        reply = conversation.skill.respond(text)
        del conversation.skill.ctx.history[:-HISTORY_KEPT]
        said = reply.text
        for local, satellite in self._rewordings:
            said = said.replace(local, satellite)
        if reply.end:
            self.conversations.end(conversation.id)
        handled = is_handled(reply)
        _LOGGER.debug("Conversation %s: %r -> %s (%s)", conversation.id, text[:80], reply.intent,
                      "handled" if handled else "not handled")
        return TurnResult(handled, said, conversation.id, reply.intent, reply.end)

    def understand(self, hypotheses: Sequence[str]) -> tuple[str, Match]:
        """Of a recogniser's n-best, the transcript to pass on and what it means, chosen as for
        local speech: the safety stage's verdict over the n-best first, else the transcript the
        matcher understands best."""
        return understand_best(self.parts.matcher, list(hypotheses), self.parts.safety)

    def expire(self) -> int:
        return self.conversations.expire()
