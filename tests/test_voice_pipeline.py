"""The full audio path in a real AgentSession: debtor speech (espeak-ng, en-gb voice) as 20 ms frames -> silero VAD ->
faster-whisper tiny.en -> dialogue engine + policy -> NLG -> espeak-ng (en-us) -> captured agent audio."""

import asyncio
import time

import numpy as np
import pytest
from livekit.plugins import silero

from agent_runtime.contracts.actions import Action
from agent_runtime.events.outbox import Outbox
from agent_runtime.events.store import EventStore, read_events
from agent_runtime.speech.plugins import EspeakTTS, WhisperSTT
from agent_runtime.speech.whisper import default_model
from agent_runtime.voice import VoiceCall
from agent_runtime.voice_sim import AgentAudioCapture, DebtorAudioInput, audio_session, synthesise


def _voice_session(call, errors: list | None = None, paced: bool = False):
    """A real AgentSession for `call` on the local speech stack (tiny.en, espeak-ng)."""
    return audio_session(
        call,
        vad=silero.VAD.load(min_silence_duration=0.2),
        stt=WhisperSTT(default_model()),
        tts=EspeakTTS(),
        errors=errors,
        paced=paced,
    )


async def _hear(call, pcm, wait: float) -> tuple[DebtorAudioInput, AgentAudioCapture]:
    """Play `pcm` as the debtor into a real AgentSession; wait up to `wait` s for the spoken reply."""
    async with _voice_session(call) as (_, audio_in, audio_out):
        audio_out.expect_reply()
        audio_in.say(pcm)
        deadline = time.monotonic() + wait
        while not audio_out.finished.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    return audio_in, audio_out


async def test_debtor_speech_gets_a_spoken_answer_with_the_policys_strategy(constant_call):
    call = constant_call(Action.OFFER_PAYMENT_PLAN)
    audio_in, audio_out = await _hear(call, synthesise("Is there some kind of payment plan I could do?"), wait=60)
    assert call.engine.history.readings[0].intent.value == "willing"
    assert call.engine.history.actions == [Action.OFFER_PAYMENT_PLAN]
    assert call.last_event.agent_text.count("$400 monthly") == 1
    (reply,) = audio_out.segments
    assert len(reply) / 16_000 > 1.0  # the offer was synthesised and played
    assert 0 < audio_out.first_frame_at - audio_in.speech_ended_at < 5.0


async def test_a_failing_voice_falls_back_to_the_other():
    from livekit.agents import APIConnectionError, tts

    from agent_runtime.speech.plugins import EspeakTTS

    broken = EspeakTTS(binary="/nonexistent/espeak-ng")  # cannot start: every synthesis fails
    fallback = tts.FallbackAdapter([broken, EspeakTTS("en-us")], max_retry_per_tts=0)
    with pytest.raises(APIConnectionError):
        [event async for event in broken.synthesize("hello")]
    frames = [event.frame async for event in fallback.synthesize("We can set up a plan of fifty dollars a month.")]
    assert sum(f.duration for f in frames) > 1.0
    await fallback.aclose()


async def test_silence_and_noise_do_not_crash_or_end_the_call(constant_call):
    call = constant_call(Action.EMPATHETIC_LISTENING)
    rng = np.random.default_rng(0)
    await _hear(call, np.zeros(16_000 * 3, np.int16), wait=4)
    assert call.turns_answered == 0  # nothing was said, nothing was answered
    noise = (rng.normal(0, 600, 16_000 * 2)).astype(np.int16)
    await _hear(call, noise, wait=6)
    assert not call.ended  # whatever the recogniser made of the hiss, the call goes on


async def test_clipped_speech_gets_an_answer_and_is_logged(constant_call):
    call = constant_call(Action.OFFER_PAYMENT_PLAN)
    speech = synthesise("Is there some kind of payment plan I could do?").astype(np.int32) * 8
    clipped = np.clip(speech, -32768, 32767).astype(np.int16)
    _, audio_out = await _hear(call, clipped, wait=30)
    assert call.turns_answered == 1 and audio_out.segments  # heard (however badly) and answered aloud
    assert not call.ended and call.last_event.executed_action is Action.OFFER_PAYMENT_PLAN


async def test_an_empty_transcript_gets_an_answer_and_keeps_the_call_open(constant_call):
    call = constant_call(Action.ASK_ABOUT_SITUATION)
    reply = await call.respond("")
    assert reply.text and not reply.ends_call and reply.event.dst.intent.value == "other"


MONOLOGUE = (
    "Look, I know I owe the money, I am not trying to hide from it, but you have to understand what this year has "
    "been like for me. First the plant cut my hours in the spring, then they let half of us go in the summer, and I "
    "was one of them. My wife works part time at the school but that barely covers the rent and the groceries, and "
    "the car needed a new transmission in August, which I had to put on a credit card because I cannot get to "
    "interviews without it. I have been sending out applications every single week, I had two interviews last month "
    "and one of them called me back, so maybe something starts in January, but nothing is certain and I do not want "
    "to promise you money I do not have. On top of that my mother has been in and out of the hospital and I have "
    "been driving her to appointments three times a week. I am not asking you to forget about the debt, I just need "
    "some time, or something small each month that I could actually keep up with, because the last thing I want is "
    "to agree to something today and then miss it and make everything worse. So tell me what you can do."
)


@pytest.mark.slow
async def test_a_sixty_second_monologue_is_heard_through_and_every_turn_is_logged(constant_call, tmp_path):
    """About a minute of debtor speech with only sentence pauses: the agent may answer in the pauses and be talked
    over; the session must survive it, hear all of it, and log every answer (or close the call cleanly)."""
    store = await EventStore.open(tmp_path / "events.db")
    call = constant_call(Action.EMPATHETIC_LISTENING, sinks=(Outbox(store),))
    monologue, errors = synthesise(MONOLOGUE), []
    assert 55 < len(monologue) / 16_000 < 70
    async with _voice_session(call, errors) as (voice, audio_in, _):
        audio_in.say(monologue)
        while audio_in.speech_ended_at is None:  # real time: about a minute
            await asyncio.sleep(0.1)
        # then until the agent has been listening, with no new answer, for 3 s (the last sentence's answer played)
        quiet_since, answered, deadline = time.monotonic(), call.turns_answered, time.monotonic() + 30
        while time.monotonic() < deadline and time.monotonic() - quiet_since < 3 and not call.ended:
            if call.turns_answered != answered or voice.session.agent_state != "listening":
                quiet_since, answered = time.monotonic(), call.turns_answered
            await asyncio.sleep(0.1)
    await store.close()
    assert errors == []
    events = list(read_events(tmp_path / "events.db"))
    turns = [e for e in events if e.type == "turn"]
    assert len(turns) == call.turns_answered >= 1
    heard = " ".join(t.user_text for t in turns).lower()
    for word in ("spring", "transmission", "january", "hospital", "what you can do"):  # beginning to end
        assert word in heard, heard
    closed = [e for e in events if e.type == "call_closed"]
    assert len(closed) == (1 if call.ended else 0)


@pytest.mark.slow
async def test_through_the_audio_path_the_debt_is_disclosed_only_to_the_debtor(constant_call):
    """Right-party contact heard through VAD and tiny.en: the debtor's "yes" gets the disclosure; an answering
    machine's greeting gets the limited-content message and nothing about the debt."""
    from agent_runtime.contracts.guard import GuardRule
    from agent_runtime.contracts.outcome import OutcomeKind

    debtor = constant_call(Action.EMPATHETIC_LISTENING, verify=True)
    _, audio_out = await _hear(debtor, synthesise("Yes, speaking."), wait=60)
    assert debtor.last_event.guard_rule is GuardRule.DISCLOSURE and not debtor.ended
    assert "attempt to collect a debt" in debtor.last_event.agent_text and len(audio_out.segments[-1]) > 16_000 * 5
    machine = constant_call(Action.EMPATHETIC_LISTENING, verify=True)
    await _hear(machine, synthesise("Hi, you've reached Sam, please leave a message after the tone."), wait=60)
    assert machine.engine.outcome.kind is OutcomeKind.VOICEMAIL
    message = machine.last_event.agent_text
    assert machine.last_event.guard_rule is GuardRule.VOICEMAIL and "1-800-555-0142" in message
    assert "Northwind" not in message and "debt" not in message.lower() and "$" not in message
    # A greeting with a sentence pause: whether the pause ends a turn depends on the timing of endpointing (it did
    # on a loaded machine, not on an idle one). Ended there, tiny.en hears the first sentence alone ("Hi, you reach
    # some."), which is no machine, so the debtor is asked for again; heard whole, it is a machine. Neither is told
    # anything of the debt.
    split = constant_call(Action.EMPATHETIC_LISTENING, verify=True)
    await _hear(split, synthesise("Hi, you've reached Sam. Please leave a message after the tone."), wait=60)
    said = split.last_event.agent_text
    assert split.last_event.guard_rule in (GuardRule.RIGHT_PARTY_CHECK, GuardRule.VOICEMAIL)
    assert "Northwind" not in said and "debt" not in said.lower() and "$" not in said


async def _over_the_opening(call, pcm, *, settle: float) -> tuple[DebtorAudioInput, AgentAudioCapture, VoiceCall, str]:
    """The agent's opening plays in real time; 1 s into it the debtor's `pcm` comes in over it."""
    async with _voice_session(call, paced=True) as (voice, audio_in, audio_out):
        text, opening = await voice.open()
        while audio_out.first_frame_at is None:
            await asyncio.sleep(0.01)
        await asyncio.sleep(1.0)
        audio_in.say(pcm)
        deadline = time.monotonic() + settle
        while time.monotonic() < deadline and not (opening.done() and (call.turns_answered or audio_out.segments)):
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
    return audio_in, audio_out, voice, text


async def test_the_debtor_speaking_over_a_reply_stops_it_and_their_turn_records_what_was_heard(constant_call):
    call = constant_call(Action.EMPATHETIC_LISTENING)
    words = synthesise("Hold on, I lost my job last month and I cannot pay anything right now.")
    audio_in, audio_out, _, opening = await _over_the_opening(call, words, settle=20)
    (stop, *_) = [at for at in audio_out.stops if at >= audio_in.speech_started_at]
    last_agent_sample = max(end for start, end in audio_out.played if start <= stop)
    assert last_agent_sample < audio_in.speech_started_at + len(words) / 16_000 / 2  # silent long before they ended
    assert len(audio_out.interruptions) == 1 and 0.5 < audio_out.interruptions[0] < 3.0
    event = call.last_event
    assert event.user_text and event.interrupted_reply is not None
    heard = event.interrupted_reply
    assert heard.heard_ms == pytest.approx(audio_out.interruptions[0] * 1000)
    assert heard.heard_text and opening.startswith(heard.heard_text) and len(heard.heard_text) < len(opening)


async def test_a_backchannel_over_a_reply_pauses_it_and_the_reply_goes_on(constant_call):
    call = constant_call(Action.EMPATHETIC_LISTENING)
    audio_in, audio_out, voice, _ = await _over_the_opening(call, synthesise("okay"), settle=15)
    assert voice.recogniser.withheld == ["Okay."]
    assert [at for at in audio_out.stops if at >= audio_in.speech_started_at]  # it paused for the sound
    assert not audio_out.interruptions and len(audio_out.segments) == 1  # and played the whole opening after
    assert call.turns_answered == 0
