"""While the agent speaks, a backchannel or a non-speech sound does not take the turn; real words do."""

import numpy as np
from livekit import rtc
from livekit.agents import stt

from agent_runtime.speech.overlap import (
    BACKCHANNEL_LOG_LIKELIHOOD_MARGIN,
    BACKCHANNEL_READINGS,
    MAX_BACKCHANNEL_WORDS,
    OverlapFilter,
    holds_the_turn,
    rival_readings,
)


def test_backchannels_and_sound_notes_do_not_hold_the_turn_but_words_do():
    for listening in (
        "Uh-huh.",
        "Mm-hmm",
        "Mm mm",
        "M-H-N.",
        "M H M",
        "Okay, okay.",
        "Yeah, yeah, yeah",
        "I see.",
        "(coughs)",
        "[BLANK_AUDIO]",
        " *clears throat* ",
        "♪",
        "",
        "  ",
    ):
        assert not holds_the_turn(listening), listening
    for speaking in (
        "Wait, I already paid.",
        "Uh-uh.",
        "No.",
        "Okay, but I can't pay that much",
        "Yeah, I lost my job",
        "stop",
    ):
        assert holds_the_turn(speaking), speaking
    for reading in BACKCHANNEL_READINGS:  # what the likelihood rule compares with must be a backchannel itself
        assert not holds_the_turn(reading), reading


class Heard(stt.STT):
    """A recogniser that hears the given text whatever the audio."""

    def __init__(self, text: str):
        super().__init__(capabilities=stt.STTCapabilities(streaming=False, interim_results=False))
        self.text = text

    async def _recognize_impl(self, buffer, *, language, conn_options) -> stt.SpeechEvent:
        return stt.SpeechEvent(
            type=stt.SpeechEventType.FINAL_TRANSCRIPT,
            alternatives=[stt.SpeechData(language="en", text=self.text, confidence=0.9)],
        )


class HeardAndScored(Heard):
    """Hears the given text; scores it `heard` and every other reading `other` (log-likelihoods)."""

    def __init__(self, text: str, heard: float, other: float):
        super().__init__(text)
        self.scores = {text: heard}
        self.other = other
        self.asked: list[list[str]] = []

    async def reading_log_likelihoods(self, buffer, readings: list[str]) -> list[float]:
        self.asked.append(readings)
        return [self.scores.get(reading, self.other) for reading in readings]


async def _recognised(text: str, agent_speaking: bool, recogniser: stt.STT | None = None) -> tuple[str, list[str]]:
    recogniser = OverlapFilter(recogniser or Heard(text), lambda: agent_speaking)
    frame = rtc.AudioFrame(np.zeros(1600, np.int16).tobytes(), 16_000, 1, 1600)
    event = await recogniser.recognize([frame])
    return event.alternatives[0].text, recogniser.withheld


async def test_the_filter_holds_back_a_backchannel_only_while_the_agent_speaks():
    assert await _recognised("Okay.", agent_speaking=True) == ("", ["Okay."])
    assert await _recognised("Okay.", agent_speaking=False) == ("Okay.", [])  # it may answer a question
    assert await _recognised("Wait, I already paid.", agent_speaking=True) == ("Wait, I already paid.", [])


async def test_words_a_backchannel_reading_explains_nearly_as_well_are_held_back_while_the_agent_speaks():
    margin = BACKCHANNEL_LOG_LIKELIHOOD_MARGIN
    misheard_hum = HeardAndScored("and anthem.", heard=-4.0, other=-4.0 - margin + 0.5)
    assert await _recognised("and anthem.", True, misheard_hum) == ("", ["and anthem."])
    assert misheard_hum.asked == [["and anthem.", *BACKCHANNEL_READINGS]]
    real_word = HeardAndScored("stop.", heard=-1.0, other=-1.0 - margin - 0.5)
    assert await _recognised("stop.", True, real_word) == ("stop.", [])
    quiet_agent = HeardAndScored("and anthem.", heard=-4.0, other=-4.0)
    assert await _recognised("and anthem.", False, quiet_agent) == ("and anthem.", [])
    assert quiet_agent.asked == []  # nothing is scored while the agent is silent
    sentence = "and then I can pay you on Friday."
    assert len(sentence.split()) > MAX_BACKCHANNEL_WORDS
    long_speech = HeardAndScored(sentence, heard=-4.0, other=-4.0)
    assert await _recognised(sentence, True, long_speech) == (sentence, [])
    assert long_speech.asked == []


def test_a_backchannel_that_starts_the_words_heard_is_no_rival_reading():
    assert "Okay." not in rival_readings("Okay, no.") and "Yeah." in rival_readings("Okay, no.")
    assert "Right." not in rival_readings("right stop") and "All right." in rival_readings("right stop")
    assert "Uh-huh." in rival_readings("Uh-uh.") and "Uh." not in rival_readings("Uh-uh.")
    assert rival_readings("and anthem.") == list(BACKCHANNEL_READINGS)
