"""The full audio path in a real AgentSession: debtor speech (espeak-ng, en-gb voice) as 20 ms frames -> silero VAD ->
faster-whisper tiny.en -> dialogue engine + policy -> NLG -> espeak-ng (en-us) -> captured agent audio."""

import asyncio
import time
from datetime import date

from livekit.agents import Agent, AgentSession
from livekit.plugins import silero

from agent_runtime.call import CallController
from agent_runtime.contracts.actions import Action
from agent_runtime.nlg import TemplateNLG
from agent_runtime.policy_llm import PolicyLLM
from agent_runtime.speech.plugins import EspeakTTS, WhisperSTT
from agent_runtime.speech.whisper import default_model
from agent_runtime.voice_sim import TURN_HANDLING, AgentAudioCapture, DebtorAudioInput, synthesise


async def test_debtor_speech_gets_a_spoken_answer_with_the_policys_strategy(facts, tracker):
    def policy(state):
        return int(Action.OFFER_PAYMENT_PLAN), None

    call = CallController(facts, policy, "test", tracker, TemplateNLG(seed=0), date(2026, 1, 5))
    audio_in, audio_out = DebtorAudioInput(), AgentAudioCapture()
    session = AgentSession(
        vad=silero.VAD.load(min_silence_duration=0.2),
        stt=WhisperSTT(default_model()),
        llm=PolicyLLM(call),
        tts=EspeakTTS(),
        turn_handling=TURN_HANDLING,
    )
    session.input.audio, session.output.audio = audio_in, audio_out
    await session.start(Agent(instructions="unused: the policy chooses"))
    try:
        audio_out.expect_reply()
        audio_in.say(synthesise("Is there some kind of payment plan I could do?"))
        deadline = time.monotonic() + 60
        while not audio_out.finished.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    finally:
        audio_in.closed = True
        await session.aclose()
    assert call.engine.history.readings[0].intent.value == "willing"
    assert call.engine.history.actions == [Action.OFFER_PAYMENT_PLAN]
    assert call.last_event.agent_text.count("$400 monthly") == 1
    (reply,) = audio_out.segments
    assert len(reply) / 16_000 > 1.0  # the offer was synthesised and played
    assert 0 < audio_out.first_frame_at - audio_in.speech_ended_at < 5.0


async def test_a_failing_voice_falls_back_to_the_other(facts, tracker):
    import pytest
    from livekit.agents import APIConnectionError, tts

    from agent_runtime.speech.plugins import EspeakTTS

    broken = EspeakTTS(binary="/nonexistent/espeak-ng")  # cannot start: every synthesis fails
    fallback = tts.FallbackAdapter([broken, EspeakTTS("en-us")], max_retry_per_tts=0)
    with pytest.raises(APIConnectionError):
        [event async for event in broken.synthesize("hello")]
    frames = [event.frame async for event in fallback.synthesize("We can set up a plan of fifty dollars a month.")]
    assert sum(f.duration for f in frames) > 1.0
    await fallback.aclose()
