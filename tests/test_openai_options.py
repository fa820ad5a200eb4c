"""The OpenAI options (STT, TTS, LLM phrasing) against a small local OpenAI-compatible stand-in server: the real
livekit-plugins-openai clients talk HTTP to aiohttp on a free port (no cloud is reachable here)."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest
from aiohttp import web
from livekit import rtc
from livekit.agents import Agent, AgentSession
from livekit.plugins import silero

from agent_runtime.compliance import forbidden_phrases_in
from agent_runtime.contracts.actions import Action
from agent_runtime.phrasing import INSTRUCTIONS, LLMPhrasing, rewrite_problem
from agent_runtime.policy_llm import PolicyLLM
from agent_runtime.settings import Settings, SettingsError, load_settings
from agent_runtime.speech.backends import SpeechSettings
from agent_runtime.voice_sim import audio_session, synthesise

OPENAI_TTS_RATE = 24_000
KEY = "sk-stand-in"
PLAN_REQUEST = "is there some kind of payment plan"


@dataclass
class StandIn:
    """What the stand-in answers, and what it was asked."""

    url: str = ""
    rewrite: Callable[[str], str] = lambda line: f"Okay, here's a thought. {line}"
    chat_delay_s: float = 0.0
    transcript: str = "i can pay fifty dollars a month"
    speech_status: int = 200
    chats: list[dict] = field(default_factory=list)
    uploads: list[dict] = field(default_factory=list)
    speech_requests: list[dict] = field(default_factory=list)

    async def chat_completions(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.chats.append(body)
        await asyncio.sleep(self.chat_delay_s)
        line = self.rewrite(body["messages"][-1]["content"])
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)

        async def send(delta: dict, finish_reason: str | None = None) -> None:
            chunk = {
                "id": "chatcmpl-standin",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": body["model"],
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
            }
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())

        words = line.split(" ")
        await send({"role": "assistant", "content": words[0]})
        for word in words[1:]:
            await send({"content": " " + word})
        await send({}, "stop")
        await response.write(b"data: [DONE]\n\n")
        return response

    async def transcriptions(self, request: web.Request) -> web.Response:
        form = await request.post()
        self.uploads.append({"model": form["model"], "wav": form["file"].file.read()})
        return web.json_response({"text": self.transcript})

    async def speech(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.speech_requests.append(body)
        if self.speech_status != 200:
            return web.json_response({"error": {"message": "stand-in is down"}}, status=self.speech_status)
        wav = subprocess.run(["espeak-ng", "--stdout", body["input"]], capture_output=True, check=True).stdout
        pcm = subprocess.run(
            ["sox", "-t", "wav", "-", "-t", "raw", "-r", str(OPENAI_TTS_RATE), "-e", "signed", "-b", "16", "-"],
            input=wav,
            capture_output=True,
            check=True,
        ).stdout
        return web.Response(body=pcm, content_type="audio/pcm", headers={"x-request-id": "req-standin"})


@pytest.fixture
async def standin(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)  # the key reaches the clients from the settings only
    server = StandIn()
    app = web.Application()
    app.router.add_post("/v1/chat/completions", server.chat_completions)
    app.router.add_post("/v1/audio/transcriptions", server.transcriptions)
    app.router.add_post("/v1/audio/speech", server.speech)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    server.url = f"http://{host}:{port}/v1"
    yield server
    await runner.cleanup()


def _settings(**values) -> Settings:
    return load_settings(openai_api_key=KEY, **values)


def _phrasing(standin: StandIn, budget_ms: int = 300) -> LLMPhrasing:
    return LLMPhrasing.from_settings(
        _settings(nlg_llm_model="stand-in-chat", nlg_llm_base_url=standin.url, nlg_llm_budget_ms=str(budget_ms))
    )


async def _agent_says(constant_call, phrasing: LLMPhrasing, user_text: str = PLAN_REQUEST) -> tuple[str, str]:
    """(what the agent said, what its turn event recorded) for one debtor line in a text-mode AgentSession."""
    call = constant_call(Action.OFFER_PAYMENT_PLAN, phrasing=phrasing)
    async with AgentSession(llm=PolicyLLM(call), vad=None, turn_handling={"turn_detection": None}) as session:
        await session.start(Agent(instructions="unused: the policy chooses"))
        result = await session.run(user_input=user_text)
    await phrasing.aclose()
    (said,) = [e.item.text_content for e in result.events if e.type == "message"]
    return said, call.last_event.agent_text


async def test_phrasing_is_spoken_when_the_model_answers_within_the_budget(standin, constant_call):
    said, logged = await _agent_says(constant_call, _phrasing(standin))
    (request,) = standin.chats
    template = request["messages"][1]["content"]
    assert said == logged == f"Okay, here's a thought. {template}" and "$400 monthly" in said
    assert request["model"] == "stand-in-chat" and request["stream"] is True
    assert [m["role"] for m in request["messages"]] == ["system", "user"]
    assert request["messages"][0]["content"] == INSTRUCTIONS and request["messages"][1]["content"] == template


async def test_the_template_is_spoken_when_the_model_is_slower_than_the_budget(standin, constant_call, caplog):
    caplog.set_level("INFO", logger="agent_runtime.phrasing")
    standin.chat_delay_s = 2.0
    started = time.perf_counter()
    said, logged = await _agent_says(constant_call, _phrasing(standin, budget_ms=300))
    (request,) = standin.chats
    assert said == logged == request["messages"][1]["content"]
    assert time.perf_counter() - started < 1.5  # the budget cut the wait short; the model took 2 s
    assert "template wording kept: over the 300 ms budget" in caplog.text


async def test_the_template_is_spoken_when_the_rewrite_has_a_forbidden_phrase(standin, constant_call, caplog):
    caplog.set_level("INFO", logger="agent_runtime.phrasing")
    standin.rewrite = lambda line: f"{line} Pay up or we will sue you."
    said, logged = await _agent_says(constant_call, _phrasing(standin))
    (request,) = standin.chats
    assert said == logged == request["messages"][1]["content"] and not forbidden_phrases_in(said)
    assert "template wording kept: forbidden phrases ['sue you']" in caplog.text


async def test_guard_answers_are_never_rewritten(standin, constant_call):
    said, logged = await _agent_says(constant_call, _phrasing(standin), user_text="stop calling me")
    assert said == logged and "further" in said and standin.chats == []


def test_a_rewrite_must_keep_every_figure_of_the_template():
    template = "We could set up a payment plan: $400 monthly for 3 payments, starting February 5."
    assert rewrite_problem(template, "How about $400 a month, 3 payments from February 5?") is None
    assert "$400" in rewrite_problem(template, "How about $40 a month, 3 payments from February 5?")
    assert rewrite_problem(template, "") == "empty rewrite"
    assert rewrite_problem(template, "$400 monthly for 3 payments from February 5, or else.") == (
        "forbidden phrases ['or else']"
    )


def test_phrasing_is_off_unless_a_model_is_named_and_needs_a_positive_budget():
    assert LLMPhrasing.from_settings(_settings(nlg_llm_base_url="http://127.0.0.1:1/v1")) is None
    for bad in ("0", "-5", "fast"):
        with pytest.raises(SettingsError, match=r"NLG_LLM_BUDGET_MS: .*positive number of milliseconds"):
            _settings(nlg_llm_model="m", nlg_llm_budget_ms=bad)


async def test_openai_stt_returns_the_stand_ins_transcript(standin):
    speech = synthesise("I can pay fifty dollars a month.")
    frames = [
        rtc.AudioFrame(data=chunk.tobytes(), sample_rate=16_000, num_channels=1, samples_per_channel=len(chunk))
        for chunk in np.array_split(speech, len(speech) // 320)
    ]
    options = {"stt_backend": "openai", "openai_base_url": standin.url, "openai_stt_model": "whisper-1"}
    settings = SpeechSettings.of(_settings(**options))
    recogniser = settings.speech_to_text()
    event = await recogniser.recognize(frames)
    await recogniser.aclose()
    assert event.alternatives[0].text == standin.transcript
    (upload,) = standin.uploads
    with wave.open(io.BytesIO(upload["wav"])) as wav:  # the utterance went up whole, as WAV
        assert wav.getframerate() == 16_000 and wav.getnframes() == sum(f.samples_per_channel for f in frames)
    assert upload["model"] == "whisper-1"


async def test_openai_tts_audio_arrives(standin):
    settings = SpeechSettings.of(_settings(tts_backend="openai", openai_base_url=standin.url, openai_tts_voice="ash"))
    voice = settings.primary_voice()
    text = "We can set up a plan of fifty dollars a month."
    frames = [event.frame async for event in voice.synthesize(text)]
    await voice.aclose()
    (request,) = standin.speech_requests
    assert request["input"] == text and request["response_format"] == "pcm" and request["voice"] == "ash"
    assert all(f.sample_rate == OPENAI_TTS_RATE for f in frames)
    assert sum(f.duration for f in frames) > 1.5  # espeak-ng on the stand-in speaks this in about 3 s


async def test_a_failing_openai_voice_falls_back_to_espeak(standin):
    standin.speech_status = 500
    voice = SpeechSettings.of(_settings(tts_backend="openai", openai_base_url=standin.url)).text_to_speech()
    frames = [event.frame async for event in voice.synthesize("We can set up a plan of fifty dollars a month.")]
    await voice.aclose()
    # the adapter also probes the failed voice in the background, so it may have been asked more than once
    assert standin.speech_requests and sum(f.duration for f in frames) > 1.5


def test_unknown_backends_are_refused_with_the_choices():
    with pytest.raises(SettingsError, match="STT_BACKEND: 'vosk': choose one of whisper, openai"):
        load_settings(stt_backend="vosk")
    with pytest.raises(SettingsError, match="TTS_BACKEND: 'festival': choose one of espeak, piper, openai"):
        load_settings(tts_backend="festival")


async def test_a_voice_call_on_the_openai_options_speaks_the_rewritten_line(standin, constant_call):
    """Debtor audio -> VAD -> OpenAI STT -> policy -> LLM phrasing -> OpenAI TTS, all chosen by the settings."""
    standin.transcript = PLAN_REQUEST
    settings = SpeechSettings.of(_settings(stt_backend="openai", tts_backend="openai", openai_base_url=standin.url))
    call = constant_call(Action.OFFER_PAYMENT_PLAN, phrasing=_phrasing(standin))
    async with audio_session(
        call,
        vad=silero.VAD.load(min_silence_duration=0.2),
        stt=settings.speech_to_text(),
        tts=settings.text_to_speech(),
    ) as (_, audio_in, audio_out):
        audio_out.expect_reply()
        audio_in.say(synthesise("Is there some kind of payment plan I could do?"))
        assert await audio_out.reply_played(30)
    assert call.last_event.user_text == PLAN_REQUEST and len(standin.uploads) == 1
    spoken = " ".join(request["input"] for request in standin.speech_requests)  # one request per sentence
    assert spoken == call.last_event.agent_text and spoken.startswith("Okay, here's a thought. ")
    (reply,) = audio_out.segments
    assert len(reply) / 16_000 > 2.0
