"""Sounds that do not take the turn while the agent is speaking.

A debtor who says "uh-huh" or "okay" while the agent talks is listening, not interrupting; a cough or a click on
the line is not speech at all. The session pauses the agent's audio as soon as its VAD hears anything (so that a
real barge-in stops it at once), then a final transcript cuts the reply short, and none lets it resume. This
recogniser wrapper withholds the transcript of such a sound while a reply is playing or paused, so the reply
resumes; outside the agent's speech every transcript goes through ("okay" can answer a question).
"""

from __future__ import annotations

import re
from collections.abc import Callable

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


def holds_the_turn(text: str) -> bool:
    """False for what a listener says or makes while the other one talks: a backchannel, repeated or not
    ("Okay, okay.", "Mm mm"), or a recogniser's note of a non-speech sound."""
    if NON_SPEECH.match(text):
        return False
    phrases = [" ".join(_WORDS.findall(p)) for p in re.split(r"[.,!?;]+", text.lower().replace("-", " "))]
    phrases = [phrase for phrase in phrases if phrase]
    return bool(phrases) and not all(phrase in BACKCHANNELS or set(phrase.split()) <= FILLERS for phrase in phrases)


class OverlapFilter(stt.STT):
    """`inner`'s transcripts, except those that do not hold the turn while `agent_speaking()` (they come back
    empty, which the session treats as no words)."""

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
        if text and self.agent_speaking() and not holds_the_turn(text):
            self.withheld.append(text)
            return stt.SpeechEvent(
                type=stt.SpeechEventType.FINAL_TRANSCRIPT,
                alternatives=[stt.SpeechData(language=event.alternatives[0].language, text="")],
            )
        return event

    async def aclose(self) -> None:
        await self.inner.aclose()
