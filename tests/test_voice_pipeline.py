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


async def _hear(call, pcm, wait: float) -> tuple[DebtorAudioInput, AgentAudioCapture]:
    """Play `pcm` as the debtor into a real AgentSession; wait up to `wait` s for the spoken reply."""
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
        audio_in.say(pcm)
        deadline = time.monotonic() + wait
        while not audio_out.finished.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    finally:
        audio_in.closed = True
        await session.aclose()
    return audio_in, audio_out


async def test_debtor_speech_gets_a_spoken_answer_with_the_policys_strategy(facts, tracker):
    def policy(state):
        return int(Action.OFFER_PAYMENT_PLAN), None

    call = CallController(facts, policy, "test", tracker, TemplateNLG(seed=0), date(2026, 1, 5))
    audio_in, audio_out = await _hear(call, synthesise("Is there some kind of payment plan I could do?"), wait=60)
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


async def test_silence_and_noise_do_not_crash_or_end_the_call(facts, tracker):
    import numpy as np

    call = CallController(
        facts,
        lambda s: (int(Action.EMPATHETIC_LISTENING), None),
        "test",
        tracker,
        TemplateNLG(seed=0),
        date(2026, 1, 5),
    )
    rng = np.random.default_rng(0)
    await _hear(call, np.zeros(16_000 * 3, np.int16), wait=4)
    assert call.turns_answered == 0  # nothing was said, nothing was answered
    noise = (rng.normal(0, 600, 16_000 * 2)).astype(np.int16)
    await _hear(call, noise, wait=6)
    assert not call.ended  # whatever the recogniser made of the hiss, the call goes on


async def test_clipped_speech_gets_an_answer_and_is_logged(facts, tracker):
    import numpy as np

    call = CallController(
        facts, lambda s: (int(Action.OFFER_PAYMENT_PLAN), None), "test", tracker, TemplateNLG(seed=0), date(2026, 1, 5)
    )
    speech = synthesise("Is there some kind of payment plan I could do?").astype(np.int32) * 8
    clipped = np.clip(speech, -32768, 32767).astype(np.int16)
    _, audio_out = await _hear(call, clipped, wait=30)
    assert call.turns_answered == 1 and audio_out.segments  # heard (however badly) and answered aloud
    assert not call.ended and call.last_event.executed_action is Action.OFFER_PAYMENT_PLAN


async def test_an_empty_transcript_gets_an_answer_and_keeps_the_call_open(facts, tracker):
    call = CallController(
        facts, lambda s: (int(Action.ASK_ABOUT_SITUATION), None), "test", tracker, TemplateNLG(seed=0), date(2026, 1, 5)
    )
    reply = await call.respond("")
    assert reply.text and not reply.ends_call and reply.event.dst.intent.value == "other"
