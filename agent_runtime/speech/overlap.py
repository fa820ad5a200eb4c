"""Sounds that do not take the turn while the agent is speaking.

A debtor who says "uh-huh" or "okay" while the agent talks is listening, not interrupting; a cough or a click on
the line is not speech at all. The session pauses the agent's audio as soon as its VAD hears anything (so that a
real barge-in stops it at once), then a final transcript cuts the reply short, and none lets it resume. This
recogniser wrapper withholds the transcript of such a sound while a reply is playing or paused, so the reply
resumes; outside the agent's speech every transcript goes through ("okay" can answer a question).

A hum is often not heard as a hum: tiny.en turns "mm-hmm" into "and anthem" or "Then I can...". So where the
recogniser can score readings of the same audio (`ReadingScorer`), a transcript heard over the agent is also held back
when a backchannel reading is nearly as likely as the words heard: within `BACKCHANNEL_LOG_LIKELIHOOD_MARGIN` nats.
Only transcripts of up to `MAX_BACKCHANNEL_WORDS` words are compared, and only with the readings they do not start
with (`rival_readings`). The margin was chosen on the development sounds of `python -m benchmarks.overlap_confidence`
(short words and hums apart from the barge-in benchmark's), between the groups: real words heard as words lie
4.3-16.7 nats below their likeliest rival (and one "what?" heard as "Welcome." 2.7), hums heard as words 1.0-4.2 (and
three 6.1-7.6; Piper's audio varies a little from run to run).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from livekit.agents import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, stt, utils

# words that, however often repeated, only say "go on" ("mm mm", "yeah yeah yeah", a hum spelled out as "M-H-M");
# not "uh": "uh-uh" is a no
FILLERS = frozenset(
    {"ah", "h", "hm", "hmm", "m", "mhm", "mm", "mmm", "n", "oh", "ok", "okay", "right", "um", "yeah", "yep"}
)
# the other things a listener says once while the other one talks
BACKCHANNELS = frozenset({"aha", "alright", "all right", "go on", "got it", "i see", "sure", "uh", "uh huh"})
# whisper's notes of non-speech sounds: "(coughs)", "[BLANK_AUDIO]", "*clears throat*", "♪"
NON_SPEECH = re.compile(r"^(?:\s*(?:\([^)]*\)|\[[^\]]*\]|\*[^*]*\*|♪+))+\s*$")
_WORDS = re.compile(r"[a-z']+")
# how the recogniser writes what a listener says (each one is a backchannel to holds_the_turn)
BACKCHANNEL_READINGS = (
    "Uh-huh.", "Mm-hmm.", "Mhm.", "Hmm.", "Mm.", "Okay.", "Yeah.", "Right.", "Sure.", "I see.", "All right.", "Uh.",
)  # fmt: skip
BACKCHANNEL_LOG_LIKELIHOOD_MARGIN = 4.2
# a listener's sound is short: longer transcripts are never taken for one (and on longer audio tiny.en ends a
# transcript too readily for the comparison to mean anything)
MAX_BACKCHANNEL_WORDS = 4


def _words(text: str) -> list[str]:
    return _WORDS.findall(text.lower().replace("-", " "))


def rival_readings(heard: str) -> list[str]:
    """The backchannel readings that could explain the sound instead of `heard`: not those that `heard` starts with
    ("Okay." is no rival of "Okay, no.": the words after it hold the turn, and Whisper ends a transcript early
    too readily to tell)."""
    words = _words(heard)
    return [r for r in BACKCHANNEL_READINGS if words[: len(_words(r))] != _words(r)]


@runtime_checkable
class ReadingScorer(Protocol):
    async def reading_log_likelihoods(self, buffer: utils.AudioBuffer, readings: list[str]) -> list[float]:
        """Each reading's log-probability as the transcript of `buffer`."""
        ...


def holds_the_turn(text: str) -> bool:
    """False for what a listener says or makes while the other one talks: a backchannel, repeated or not
    ("Okay, okay.", "Mm mm"), or a recogniser's note of a non-speech sound."""
    if NON_SPEECH.match(text):
        return False
    phrases = [" ".join(_words(p)) for p in re.split(r"[.,!?;]+", text)]
    phrases = [phrase for phrase in phrases if phrase]
    return bool(phrases) and not all(phrase in BACKCHANNELS or set(phrase.split()) <= FILLERS for phrase in phrases)


class OverlapFilter(stt.STT):
    """`inner`'s transcripts, except those that do not hold the turn while `agent_speaking()` (they come back
    empty, which the session treats as no words): a backchannel or a sound's note, or, where `inner` is a
    `ReadingScorer`, words that a backchannel reading explains nearly as well."""

    def __init__(self, inner: stt.STT, agent_speaking: Callable[[], bool]):
        super().__init__(capabilities=inner.capabilities)
        self.inner, self.agent_speaking = inner, agent_speaking
        self.withheld: list[str] = []  # what was withheld, in order (the barge-in benchmark reports it)

    @property
    def model(self) -> str:
        return self.inner.model

    @property
    def provider(self) -> str:
        return self.inner.provider

    async def _recognize_impl(
        self, buffer: utils.AudioBuffer, *, language=NOT_GIVEN, conn_options=DEFAULT_API_CONNECT_OPTIONS
    ) -> stt.SpeechEvent:
        event = await self.inner.recognize(buffer, language=language, conn_options=conn_options)
        text = event.alternatives[0].text if event.alternatives else ""
        if text and self.agent_speaking() and not await self._holds_the_turn(buffer, text):
            self.withheld.append(text)
            return stt.SpeechEvent(
                type=stt.SpeechEventType.FINAL_TRANSCRIPT,
                alternatives=[stt.SpeechData(language=event.alternatives[0].language, text="")],
            )
        return event

    async def _holds_the_turn(self, buffer: utils.AudioBuffer, text: str) -> bool:
        if not holds_the_turn(text):
            return False
        if not isinstance(self.inner, ReadingScorer) or len(_words(text)) > MAX_BACKCHANNEL_WORDS:
            return True
        heard, *rivals = await self.inner.reading_log_likelihoods(buffer, [text, *rival_readings(text)])
        return max(rivals) < heard - BACKCHANNEL_LOG_LIKELIHOOD_MARGIN

    async def aclose(self) -> None:
        await self.inner.aclose()
