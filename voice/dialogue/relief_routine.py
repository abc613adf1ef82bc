"""The guided relief routine: one calm step at a time, waiting for the person, keeping time.

Pure: the caller passes the time in, so tests drive it with a fake clock and never sleep.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from knowledge.model import KnowledgeBase
from knowledge.numbers import spoken_duration

from .responses import Responses

STEPS, CHECK, QUESTIONS, DONE = "steps", "check", "questions", "done"


@dataclass
class Routine:
    """Where the person is in the routine. Every method returns what to say."""

    kb: KnowledgeBase
    r: Responses
    index: int = 0
    phase: str = STEPS
    paused: bool = False
    deadline: float | None = None
    question: int = 0
    said: list[str] = field(default_factory=list)
    # How it ended: "better", "not_enough", "emergency" or "stopped"; "" while it goes on.
    ended: str = ""

    @property
    def steps(self):
        return self.kb.relief.steps

    @property
    def flags(self):
        """The red flags asked about when relief did not help, in file order."""
        return [flag for flag in self.kb.red_flags if flag.routine]

    @property
    def active(self) -> bool:
        return self.phase != DONE

    def start(self, now: float) -> str:
        return f"{self.kb.relief.intro} {self._step(now)}"

    def next(self, now: float) -> str:
        if self.phase != STEPS:
            return self.repeat()
        if self.paused:
            self.paused = False
            return f"{self.r.routine_resumed} {self._step(now)}"
        if self.index + 1 >= len(self.steps):
            return self._check()
        self.index += 1
        return self._step(now)

    def previous(self, now: float) -> str:
        if self.phase == STEPS and self.index > 0:
            self.index -= 1
        return self._step(now)

    def repeat(self) -> str:
        return self.said[-1] if self.said else self.r.nothing_to_repeat

    def pause(self) -> str:
        self.paused = True
        self.deadline = None
        return self.r.routine_paused

    def stop(self) -> str:
        self.phase = DONE
        self.ended = "stopped"
        self.deadline = None
        return self.r.routine_stopped

    def tick(self, now: float) -> str | None:
        """Something to say when a timer ran out, else None."""
        if self.deadline is None or now < self.deadline or self.paused:
            return None
        self.deadline = None
        return self._say(f"{self.r.routine_time_up} {self._check()}")

    def answer(self, yes: bool) -> str:
        """A yes or no to the check or to a red-flag question."""
        if self.phase == CHECK:
            if yes:
                self.phase = DONE
                self.ended = "better"
                return self._say(self.kb.relief.better)
            self.phase = QUESTIONS
            self.question = 0
            return self._say(f"{self.r.routine_questions_intro} "
                             f"{self.flags[0].question}")
        if self.phase == QUESTIONS:
            flag = self.flags[self.question]
            if yes:
                self.phase = DONE
                self.ended = "emergency"
                return self._say(flag.advice)  # the caller fills in the number
            self.question += 1
            if self.question < len(self.flags):
                return self._say(self.flags[self.question].question)
            self.phase = DONE
            self.ended = "not_enough"
            return self._say(self.kb.relief.not_enough)  # the caller fills in the number
        return self.repeat()

    # -- helpers ----------------------------------------------------------------------------

    def _step(self, now: float) -> str:
        step = self.steps[self.index]
        number = f"Step {self.index + 1} of {len(self.steps)}."
        last = self.index == len(self.steps) - 1
        if last and step.seconds:
            # The last step is timed by the assistant itself, then it checks back.
            self.deadline = now + step.seconds
            tail = self.r.routine_timer.fill(duration=spoken_duration(step.seconds, exact=True))
        else:
            self.deadline = None
            tail = self.r.routine_next_hint
        return self._say(f"{number} {step.say} {tail}")

    def _check(self) -> str:
        self.phase = CHECK
        self.deadline = None
        return self._say(self.kb.relief.check)

    def _say(self, text: str) -> str:
        self.said.append(text)
        return text
