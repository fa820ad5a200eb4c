"""While the agent speaks, a backchannel or a non-speech sound does not take the turn; real words do."""

import numpy as np
from livekit import rtc
from livekit.agents import stt

from agent_runtime.speech.overlap import OverlapFilter, holds_the_turn


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


async def _recognised(text: str, agent_speaking: bool) -> tuple[str, list[str]]:
    recogniser = OverlapFilter(Heard(text), lambda: agent_speaking)
    frame = rtc.AudioFrame(np.zeros(1600, np.int16).tobytes(), 16_000, 1, 1600)
    event = await recogniser.recognize([frame])
    return event.alternatives[0].text, recogniser.withheld


async def test_the_filter_holds_back_a_backchannel_only_while_the_agent_speaks():
    assert await _recognised("Okay.", agent_speaking=True) == ("", ["Okay."])
    assert await _recognised("Okay.", agent_speaking=False) == ("Okay.", [])  # it may answer a question
    assert await _recognised("Wait, I already paid.", agent_speaking=True) == ("Wait, I already paid.", [])
