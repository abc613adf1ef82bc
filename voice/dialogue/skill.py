"""The conversation: turn what the person said into a short, speakable reply, keeping context.

Red flags win over everything: the safety stage (intents/safety.py) hears every utterance first,
in every dialogue state, even one too long to answer. When it is unsure it asks one question, and
only a clear "no" lets the conversation go on ("not sure" is never taken as no). Confidence
drives the turn: a clear match is answered, a middling one is confirmed ("Did you mean ...?"),
and no match gets a menu of three topics, never a shrug. The "I'm not a doctor" notice is said once
per conversation.

Answers are for the ear: the first part says the one thing that matters (knowledge.model.Answer),
then offers more; "yes", "tell me more", "go on" or "next" say the next part, "what should I do?"
the answer's action, and after the last part comes the next topic's offer. Emergency advice is
never split: it is said whole, at once. A one-shot skill (`numb-legs ask`) never ends on a question
it could not take an answer to.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from intents.model import IntentMatcher, Match, Slots
from intents.names import IntentName
from intents.normalize import normalize
from intents.safety import NO, UNSURE, YES, Assessment, SafetyStage, classify_answer, default_safety
from knowledge.diary.store import DiaryStore
from knowledge.model import Answer, KnowledgeBase

from .diary_dialogue import Journal
from .relief_routine import DONE, Routine
from .responses import Responses
from .symptom_check import SymptomCheck

_LOGGER = logging.getLogger(__name__)

MAX_UTTERANCE_CHARS = 1000
# Answers that carry medical content get the one-time notice; commands do not.
_MEDICAL = frozenset({
    IntentName.CAUSES_OVERVIEW, IntentName.CAUSE_INFO, IntentName.SYMPTOM_CHECK, IntentName.RELIEF_NOW,
    IntentName.SEE_DOCTOR, IntentName.DIAGNOSTICS, IntentName.PREVENTION})
SPEECH_CHANGES = frozenset({IntentName.SLOWER, IntentName.FASTER, IntentName.LOUDER, IntentName.QUIETER,
                            IntentName.CHANGE_VOICE})
_YES_NO = (IntentName.YES, IntentName.NO)
# A reply's intent when it asks the safety question: not an intent anyone says, so not an IntentName.
SAFETY_QUESTION = "safety_question"


@dataclass(frozen=True)
class Reply:
    """What to say, and what the runtime should do around it."""

    text: str
    intent: str
    match: Match | None = None
    end: bool = False            # the conversation is over (goodbye)
    stop_speaking: bool = False  # cut any speech in progress
    speech_change: str = ""      # slower, faster, louder, quieter, change_voice: apply first
    limit_text: str = ""         # said instead when the speech change is already at its limit
    usable: bool = True          # False when the input itself could not be used (empty, too long...)

    def to_json(self, fallback: Match | None = None) -> dict[str, Any]:
        """The reply as `numb-legs understand --json` prints it: its intent, the slots, confidence
        and confirm of its match (else of FALLBACK, else none), and its text."""
        match = self.match or fallback or Match(intent=self.intent, confidence=0.0)
        return {**match.to_json(), "intent": self.intent, "reply": self.text}


@dataclass
class _Reading:
    """An answer being given in parts: which parts were said, and the topic offered at the end."""

    intent: str
    answer: Answer
    follow: str = ""  # offered after the last part ("diagnostics"); "" for none
    said: set[int] = field(default_factory=set)

    def next_index(self) -> int | None:
        """The first part not said yet, in order; None when every part was said."""
        return next((i for i in range(len(self.answer.parts)) if i not in self.said), None)


@dataclass
class _Context:
    last_text: str = ""
    last_cause: str = ""
    pending_confirm: Match | None = None
    pending_offer: str = ""
    more_offered: bool = False        # the last reply asked "want to know more?"
    reading: _Reading | None = None   # the answer "tell me more" goes on with
    menu_open: bool = False
    disclaimer_said: bool = False
    routine: Routine | None = None
    symptoms: SymptomCheck | None = None
    journal: Journal | None = None
    history: list[str] = field(default_factory=list)
    safety_question: Assessment | None = None  # asked; waiting for the answer
    safety_text: str = ""                      # the utterance that raised the question
    reduced_said: bool = False                 # "my safety net is reduced" said once
    ending_asked: Match | None = None          # "do you want to stop?" asked; its match


class Skill:
    """One conversation's worth of state around a shared matcher and knowledge base."""

    def __init__(self, matcher: IntentMatcher, kb: KnowledgeBase, responses: Responses,
                 emergency_number: str = "112",
                 clock: Callable[[], float] = time.monotonic,
                 diary: DiaryStore | None = None,
                 now: Callable[[], datetime] = datetime.now,
                 safety: SafetyStage | None = None, one_shot: bool = False) -> None:
        self.matcher = matcher
        self.safety = safety if safety is not None else default_safety()
        self.kb = kb
        self.r = responses
        self.number = emergency_number
        self.clock = clock
        # The diary file is opened on first use only: most conversations never touch it.
        self.diary = diary if diary is not None else DiaryStore()
        self.now = now
        # One question, one answer, then the program ends (`numb-legs ask`): no offers.
        self.one_shot = one_shot
        self._more_words = frozenset(normalize(word) for word in responses.more.words)
        self._action_words = frozenset(normalize(word) for word in responses.more.action_words)
        self.ctx = _Context()
        self._heard = ""  # the utterance as said (digits, punctuation) for the diary's parser
        self._turn: tuple[Match | None, str] = (None, "")

    def reset(self) -> None:
        """Forget the conversation (each `understand` line stands on its own)."""
        self.ctx = _Context()

    def respond(self, text: str, nbest: Sequence[str] = (), sure: bool = True) -> Reply:
        """The reply to one utterance. Never raises for any string.

        NBEST, the recogniser's transcripts most likely first, are all heard by the safety stage:
        a red flag in the most likely one raises the alarm, in another one asks its question.
        SURE is False for speech not confirmed by a second hearing: a goodbye is then asked
        about before the conversation ends."""
        reply = self._respond(text, nbest, sure)
        if self.safety.reduced and not self.ctx.reduced_said:
            self.ctx.reduced_said = True
            notice = self.r.safety_reduced.fill(number=self.number)
            reply = replace(reply, text=f"{reply.text} {notice}")
        return reply

    def _respond(self, text: str, nbest: Sequence[str], sure: bool = True) -> Reply:
        # Safety first: before the length check, the dialogue state or the matcher.
        heard = list(nbest) if text in nbest else [text, *nbest]
        found = self.safety.assess_many(heard)[1]
        pending, self.ctx.safety_question = self.ctx.safety_question, None
        ending, self.ctx.ending_asked = self.ctx.ending_asked, None
        if found.alarm:
            return self._alarm(found, text[:MAX_UTTERANCE_CHARS])
        if ending is not None:
            answer = classify_answer(text)
            if answer == YES:
                return self.handle(ending)
            if answer in (NO, UNSURE):
                return self._say(self.r.carry_on, IntentName.NO, remember=False)
        if len(text) > MAX_UTTERANCE_CHARS:
            return Reply(self.r.too_long, IntentName.UNKNOWN, usable=False)
        norm = normalize(text)
        if not norm:
            message = self.r.not_english if any(ch.isalpha() for ch in text) else self.r.empty
            return Reply(message, IntentName.UNKNOWN, usable=False)
        if pending is not None:
            answer = classify_answer(text)
            if answer in (YES, UNSURE):
                reply = self._alarm(pending, self.ctx.safety_text)
                if answer == UNSURE:
                    reply = replace(reply, text=self._remember(f"{self.r.safety_unsure} {reply.text}"))
                return reply
            if answer == NO:
                text = self.ctx.safety_text  # now answer what they first said
                norm = normalize(text)
        match = self.matcher.match(text)
        if not sure and match.intent == IntentName.GOODBYE:
            self.ctx.ending_asked = match
            return self._say(self.r.confirm_end, IntentName.GOODBYE, match=match, remember=False)
        if pending is None and found.ask and match.intent != IntentName.EMERGENCY:
            # (An explicit "call an ambulance" is answered as the emergency it is, not asked.)
            self.ctx.safety_question = found
            self.ctx.safety_text = text
            question = self.kb.red_flag(found.flag).question if found.flag else self.r.safety_question
            if self.one_shot:  # no answer can come: say what a "yes" would have led to
                question += " " + self.r.safety_one_shot.fill(number=self.number)
            return self._say(question, SAFETY_QUESTION)
        routine = self.ctx.routine
        if routine is not None and routine.active and routine.phase in ("check", "questions") \
                and classify_answer(text) == UNSURE:
            # "Not sure" if the feeling came back is not a yes: the safety questions follow.
            # "Not sure" to a safety question is taken the cautious way.
            match = Match(intent=IntentName.NO if routine.phase == "check" else IntentName.YES,
                          confidence=1.0, text=norm, guess="unsure")
            self._heard = text
            return self.handle(match)
        if routine is not None and routine.active and match.intent != IntentName.EMERGENCY:
            # "pause" and "wait" share the stop intent; in the routine they mean "hold on".
            if norm in self.r.pause_words:
                return self._say(routine.pause(), IntentName.STOP, match=match)
        if match.intent != IntentName.EMERGENCY:
            chosen = self._menu_choice(norm)
            if chosen:
                match = Match(intent=chosen, confidence=1.0, text=norm, guess=chosen)
        _LOGGER.debug("Heard %r -> %s (%.2f) %s", text, match.intent, match.confidence, match.slots)
        self._heard = text
        return self.handle(match)

    def _alarm(self, found: Assessment, heard: str) -> Reply:
        """Emergency advice for what the safety stage found, whatever the dialogue was doing."""
        slots = Slots(red_flags=[found.flag] if found.flag else [],
                      evidence=list(found.evidence), layer=found.layer)
        self._heard = heard
        return self.handle(Match(intent=IntentName.EMERGENCY, confidence=1.0, slots=slots,
                                 text=normalize(heard[:MAX_UTTERANCE_CHARS]), guess=IntentName.EMERGENCY))

    def handle(self, match: Match) -> Reply:
        ctx = self.ctx
        pending, ctx.pending_confirm = ctx.pending_confirm, None
        offer, ctx.pending_offer = ctx.pending_offer, ""
        more_offered, ctx.more_offered = ctx.more_offered, False
        menu_open, ctx.menu_open = ctx.menu_open, False
        heard, self._heard = self._heard or match.text, ""
        self._turn = (match, heard)
        if match.intent == IntentName.EMERGENCY:
            ctx.routine = None  # nothing else matters now
            ctx.symptoms = None
            ctx.reading = None
            return self._journal_emergency(self._emergency(match), heard)
        if match.intent == IntentName.REPEAT:  # what was asked still stands once it is said again
            ctx.pending_confirm, ctx.pending_offer = pending, offer
            ctx.more_offered, ctx.menu_open = more_offered, menu_open
        # "Repeat" repeats the last reply, unless a save just failed: then "try again" (which
        # the matcher hears as repeat) is for the diary.
        if ctx.journal is not None and ctx.journal.active and (
                match.intent != IntentName.REPEAT or ctx.journal.failed):
            said = ctx.journal.turn(heard, match.intent)
            if said is not None:
                return self._say(said, IntentName.JOURNAL_LOG, match=match)
            journal, ctx.journal = ctx.journal, None
            self._heard = heard
            reply = self.handle(match)
            if journal.failed and ctx.journal is None and not reply.end:
                # An entry whose saving failed was meant to be saved: it waits for "try again"
                # whatever is asked meanwhile, and is offered again after each answer.
                ctx.journal = journal
                return replace(reply, text=f"{reply.text} {journal.waiting()}")
            # They moved on from an entry still being written: answer that, and say it was not
            # saved.
            return replace(reply, text=f"{self.r.journal.dropped} {reply.text}")
        if ctx.routine is not None and ctx.routine.active:
            routed = self._routine_turn(ctx.routine, match)
            if routed is not None:
                return routed
        check, ctx.symptoms = ctx.symptoms, None
        if check is not None and check.current is not None and match.intent in _YES_NO:
            check.answer(match.intent == IntentName.YES)
            return self._symptom_turn(check, match)
        if (check is not None and check.current is not None
                and match.intent in (IntentName.HELP, IntentName.REPEAT)):
            ctx.symptoms = check  # still waiting for the answer
            text = self.r.help_question if match.intent == IntentName.HELP else check.current.question
            return self._say(text, match.intent, match=match)
        if pending is not None and match.intent in _YES_NO:
            if match.intent == IntentName.YES:
                return self._answer(Match(intent=pending.intent, confidence=1.0, slots=pending.slots,
                                          text=pending.text, guess=pending.intent))
            return self._menu(self.r.declined)
        wanted = self._wanted_part(match, more_offered)
        if wanted:
            return self._more(match, wanted)
        if offer and match.intent == IntentName.YES:
            return self._answer(Match(intent=offer, confidence=1.0, guess=offer,
                                      slots={"cause": ctx.last_cause} if ctx.last_cause else {}))
        if (offer or more_offered) and match.intent == IntentName.NO:
            return self._say(self.r.no_nothing, IntentName.NO, remember=False)
        if match.intent == IntentName.UNKNOWN:
            return self._menu(self.r.unknown)
        if match.needs_confirmation:
            topic = self._topic(match)
            if self.one_shot:  # no "yes" can come: answer the best guess, saying what it was
                reply = self._answer(match)
                guess = self.r.one_shot_guess.fill(topic=topic)
                return replace(reply, text=self._remember(f"{guess} {reply.text}"))
            ctx.pending_confirm = match
            return self._say(self.r.confirm.fill(topic=topic), match.intent,
                             match=match, remember=False)
        return self._answer(match)

    def tick(self) -> Reply | None:
        """What to say unprompted now (a timer ran out), or None. Call it every second or so."""
        routine = self.ctx.routine
        if routine is None or not routine.active:
            return None
        text = routine.tick(self.clock())
        return self._say(text, IntentName.RELIEF_NOW) if text else None

    def _routine_turn(self, routine: Routine, match: Match) -> Reply | None:
        """The routine's answer to MATCH, or None when the turn is not about the routine."""
        now = self.clock()
        intent = match.intent
        if intent == IntentName.NEXT:
            text = routine.next(now)
        elif intent == IntentName.PREVIOUS:
            text = routine.previous(now)
        elif intent == IntentName.REPEAT:
            text = routine.repeat()
        elif intent == IntentName.STOP:
            return Reply(self._remember(routine.stop()), IntentName.STOP, match, stop_speaking=True)
        elif intent in _YES_NO and routine.phase in ("check", "questions"):
            text = routine.answer(intent == IntentName.YES).replace("{number}", self.number)
            emergency = routine.phase == DONE and routine.ended == "emergency"
            follow = self.r.routine_offers.get(routine.ended, "")
            if follow and not self.one_shot:  # relief is over: offer what helps next
                self.ctx.pending_offer = follow
                text = f"{text} {self.r.offer_questions[follow]}"
            return Reply(self._remember(text), IntentName.EMERGENCY if emergency else intent, match,
                         stop_speaking=emergency)
        elif intent == IntentName.RELIEF_NOW:
            text = routine.start(now)
        elif intent == IntentName.HELP:
            text = self.r.help_routine
        else:
            return None
        return self._say(text, IntentName.RELIEF_NOW, match=match)

    # -- answers ------------------------------------------------------------------------------

    def _answer(self, match: Match) -> Reply:
        intent = match.intent
        kb = self.kb
        r = self.r
        if intent == IntentName.REPEAT:
            return Reply(self.ctx.last_text or r.nothing_to_repeat, intent, match)
        if intent == IntentName.STOP:
            return Reply(r.stopped, intent, match, stop_speaking=True)
        if intent in SPEECH_CHANGES:
            said = {IntentName.SLOWER: r.speech_slower, IntentName.FASTER: r.speech_faster,
                    IntentName.LOUDER: r.speech_louder, IntentName.QUIETER: r.speech_quieter,
                    IntentName.CHANGE_VOICE: r.speech_change_voice}[IntentName(intent)]
            return Reply(said, intent, match, speech_change=intent,
                         limit_text=r.speech_limit)
        if intent == IntentName.GOODBYE:
            return Reply(r.goodbye, intent, match, end=True, stop_speaking=True)
        if intent == IntentName.HELP:
            return self._give(intent, r.help, match)
        if intent in (IntentName.NEXT, IntentName.PREVIOUS):
            return self._say(r.no_list, intent, match=match, remember=False)
        if intent == IntentName.YES:
            return self._say(r.yes_nothing, intent, match=match, remember=False)
        if intent == IntentName.NO:
            return self._say(r.no_nothing, intent, match=match, remember=False)
        if intent in (IntentName.JOURNAL_LOG, IntentName.JOURNAL_SUMMARY):
            # The words as said when this is the turn's own match, not a confirmed older one.
            said = self._turn[1] if self._turn[0] is match else match.text
            if intent == IntentName.JOURNAL_SUMMARY:
                return self._give(intent, self._journal().summary_answer(said), match)
            if self.one_shot:  # its questions and read-back need a conversation
                return self._say(r.journal.one_shot, intent, match=match)
            self.ctx.reading = None
            self.ctx.journal = self._journal()
            return self._say(self.ctx.journal.start(said), intent, match=match)
        if intent == IntentName.CAUSES_OVERVIEW:
            return self._give(intent, kb.overview, match, follow=r.offers.get(intent, ""))
        if intent == IntentName.CAUSE_INFO:
            cause_id = str(match.slots.get("cause") or self.ctx.last_cause)
            if not cause_id:
                return self._say(r.which_cause, intent, match=match, remember=False)
            cause = kb.cause(cause_id)
            self.ctx.last_cause = cause.id
            follow = r.cause_offers.get(cause.id, r.offers.get(intent, ""))
            return self._give(intent, cause.answer, match, follow=follow)
        if intent == IntentName.SYMPTOM_CHECK:
            features = match.names("features")
            mentioned = match.names("mentioned")
            self.ctx.reading = None
            return self._symptom_turn(SymptomCheck(kb, present=features, mentioned=mentioned), match,
                                      first=True)
        if intent == IntentName.RELIEF_NOW:
            self.ctx.reading = None
            if self.one_shot:  # nobody will say "next": every step at once, and no timer
                steps = " ".join(step.say for step in kb.relief.steps)
                return self._say(self._disclaimed(f"{kb.relief.intro} {steps}", intent), intent,
                                 match=match)
            # Led one step at a time; the first words are the first thing to do.
            self.ctx.routine = Routine(kb, r)
            return self._say(self._disclaimed(self.ctx.routine.start(self.clock()), intent), intent,
                             match=match)
        answers: dict[str, Answer] = {IntentName.SEE_DOCTOR: kb.see_doctor_soon.answer,
                                      IntentName.DIAGNOSTICS: kb.diagnosis,
                                      IntentName.PREVENTION: kb.prevention}
        if intent in answers:
            return self._give(intent, answers[intent], match, follow=r.offers.get(intent, ""))
        return self._menu(r.unknown)  # pragma: no cover - every contract intent is handled above

    # -- answers in parts ---------------------------------------------------------------------

    def _give(self, intent: str, answer: Answer, match: Match | None, follow: str = "") -> Reply:
        """The answer's first part, then the offer of more (or, if there is no more, of FOLLOW)."""
        reading = _Reading(intent, answer, follow, said={0})
        self.ctx.reading = reading
        first = self._disclaimed(self._filled(answer.first), intent)
        return self._say(self._with_offer(first, reading), intent, match=match)

    def _wanted_part(self, match: Match, more_offered: bool) -> str:
        """"action" or "more" when MATCH asks for more of the answer being given; "nothing" when it
        asks for more with no answer to go on with; else ""."""
        reading = self.ctx.reading
        if reading is None:
            return "nothing" if match.text in self._more_words and match.intent != IntentName.NEXT else ""
        if match.text in self._action_words and reading.answer.action:
            return "action"
        if match.text in self._more_words or match.intent == IntentName.NEXT or (
                more_offered and match.intent == IntentName.YES):
            return "more"
        return ""

    def _more(self, match: Match, wanted: str) -> Reply:
        """The next part of the answer being given (its action for "action"); when every part
        was said, that there is no more, and the next topic's offer again."""
        reading = self.ctx.reading
        if reading is None:
            return self._say(self.r.more.texts.nothing, match.intent, match=match, remember=False)
        index = reading.answer.action_index if wanted == "action" else reading.next_index()
        if index is None:
            return self._say(self._with_offer(self.r.more.texts.none, reading), reading.intent,
                             match=match)
        reading.said.add(index)
        part = self._filled(reading.answer.parts[index])
        return self._say(self._with_offer(part, reading), reading.intent, match=match)

    def _with_offer(self, text: str, reading: _Reading) -> str:
        """TEXT and what to ask after it: more of READING, or at its end the topic it leads to."""
        if self.one_shot:
            return text
        index = reading.next_index()
        if index is None:
            if not reading.follow:
                return text
            self.ctx.pending_offer = reading.follow
            return f"{text} {self.r.offer_questions[reading.follow]}"
        self.ctx.more_offered = True
        texts = self.r.more.texts
        action = reading.answer.action_index
        # "...or what to do?" only while the action is still to come after other parts.
        with_action = action is not None and action not in reading.said and index != action
        if reading.said == {0}:
            offer = texts.offer_action if with_action else (reading.answer.offer or texts.offer)
        else:
            offer = texts.again_action if with_action else texts.again
        return f"{text} {offer}"

    def _filled(self, text: str) -> str:
        return text.replace("{number}", self.number)

    def _disclaimed(self, text: str, intent: str) -> str:
        """TEXT with the "I'm not a doctor" notice after it, the first time medical content is
        said: after the first part, so it never delays the one thing that matters."""
        if self.ctx.disclaimer_said or intent not in _MEDICAL:
            return text
        self.ctx.disclaimer_said = True
        return f"{text} {self.kb.disclaimer}"

    def _symptom_turn(self, check: SymptomCheck, match: Match, first: bool = False) -> Reply:
        """Ask the next telling question, or name the possible causes."""
        flag = check.red_flag()
        if flag is not None:
            return Reply(self._remember(f"{flag.advice_for(self.number)} "
                                        f"{self.r.emergency_operator}{self._repeat_offer()}"),
                         IntentName.EMERGENCY, match, stop_speaking=True)
        # A one-shot answer cannot ask: it names causes from what was said.
        question = None if self.one_shot else check.next_question()
        if question is not None:
            lead = self.r.symptom_questions_intro + " " if first else ""
            if first and not self.ctx.disclaimer_said:
                self.ctx.disclaimer_said = True
                lead = f"{self.kb.disclaimer} {lead}"
            self.ctx.symptoms = check
            return self._say(f"{lead}{question.question}", IntentName.SYMPTOM_CHECK, match=match)
        answer, ranked = check.result(self.r.symptom_intro, self.r.symptom_reason)
        self.ctx.last_cause = ranked[0]
        return self._give(IntentName.SYMPTOM_CHECK, answer, match,
                          follow=self.r.offers.get(IntentName.SYMPTOM_CHECK, ""))

    def _emergency(self, match: Match) -> Reply:
        flags = match.names("red_flags")
        advice = (self.kb.red_flag(flags[0]).advice_for(self.number) if flags
                  else self.r.emergency_generic.fill(number=self.number))
        # Said whole and at once, never in parts: nothing is more important than this.
        text = f"{advice} {self.r.emergency_operator}{self._repeat_offer()}"
        # Speech in progress is cut.
        return Reply(self._remember(text), IntentName.EMERGENCY, match, stop_speaking=True)

    def _repeat_offer(self) -> str:
        """" Say repeat to hear this again." after emergency advice; nothing when no "repeat" can
        come (one-shot), so the advice ends on what to do."""
        return "" if self.one_shot else f" {self.r.emergency_repeat_offer}"

    # -- the diary ----------------------------------------------------------------------------

    def _journal(self) -> Journal:
        return Journal(self.diary, self.r, self.now)

    def _journal_emergency(self, reply: Reply, heard: str) -> Reply:
        """After the emergency advice (always first), keep the episode being logged, marked with
        warning signs; a sentence that logs an episode and has a red flag in it starts one."""
        journal = self.ctx.journal
        if self.one_shot:  # keeping the episode would need a "yes" that cannot come
            return reply
        if journal is None or not journal.active:
            journal = self._journal()
            found = journal.hear(heard)
            if not (found.logging_cue or (found.legs and found.duration_s is not None)):
                return reply
            self.ctx.journal = journal
            extra = journal.after_emergency(heard)
        else:
            # The warning words join the entry's note, so the diary (and the report a doctor
            # reads) shows what was said, not only that emergency advice was given.
            extra = journal.after_emergency(heard, add_words=True)
        return replace(reply, text=self._remember(f"{reply.text} {extra}"))

    # -- helpers ------------------------------------------------------------------------------

    def _topic(self, match: Match) -> str:
        cause = match.slots.get("cause")
        return self._name(match.intent, self.kb.cause(str(cause)).name if cause else "")

    def _name(self, intent: str, cause: str = "") -> str:
        """How INTENT is named ("when to see a doctor"), with CAUSE's name for {cause}."""
        name = self.r.names.get(intent)
        if name is None:
            return intent.replace("_", " ")
        return name.fill(cause=cause or "one of the causes")

    def _menu_choice(self, norm: str) -> str:
        if not self.ctx.menu_open:
            return ""
        for index, words in enumerate(self.r.menu_words):
            if norm in words:
                return self.r.menu[index]
        return ""

    def _menu(self, lead: str) -> Reply:
        if self.one_shot:  # "one, two or three" cannot be said back: name the topics instead
            names = [self._name(intent) for intent in self.r.menu]
            topics = f"{', '.join(names[:-1])}, or {names[-1]}"
            return self._say(f"{lead} {self.r.one_shot_menu.fill(topics=topics)}", IntentName.UNKNOWN,
                             remember=False)
        numbered = [f"{i + 1}: {self._name(intent)}." for i, intent in enumerate(self.r.menu)]
        text = f"{lead} {self.r.menu_intro} {' '.join(numbered)}"
        reply = self._say(text, IntentName.UNKNOWN, remember=False)
        self.ctx.menu_open = True
        return reply

    def _remember(self, text: str) -> str:
        self.ctx.last_text = text
        self.ctx.history.append(text)
        return text

    def _say(self, text: str, intent: str, *, match: Match | None = None,
             remember: bool = True) -> Reply:
        return Reply(self._remember(text) if remember else text, intent, match)
