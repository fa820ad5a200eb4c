"""The web console's WebSocket protocol and the LiveKit room's card topic, without a browser (async tests live here:
the browser tests' Playwright driver owns its module's event loop)."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from agent_runtime.events.store import read_events
from tests.test_web_console import Console


async def _socket(session: aiohttp.ClientSession, url: str):
    return await session.ws_connect(url.replace("http", "ws") + "/ws")


async def test_a_bad_message_closes_only_its_own_socket(tmp_path):
    console = Console(tmp_path).start()
    try:
        await _bad_messages(console)
    finally:
        console.stop()


async def _bad_messages(console: Console) -> None:
    async with aiohttp.ClientSession() as session:
        healthy = await _socket(session, console.url)
        for message, code, reason in [
            ('{"type": "party"}', 1008, "type"),
            ('{"type": "start", "mode": "voice", "policy": "/etc/passwd"}', 1008, "not one the console offers"),
            ('{"type": "text", "text": ""}', 1008, "at least 1 character"),
            ("not json", 1008, "JSON"),
        ]:
            bad = await _socket(session, console.url)
            await bad.send_str(message)
            closing = await bad.receive()
            assert closing.type is aiohttp.WSMsgType.CLOSE and closing.data == code, message
            assert reason in closing.extra, (message, closing.extra)
        odd = await _socket(session, console.url)
        await odd.send_bytes(b"\x01\x02\x03")
        assert (await odd.receive()).data == 1003
        huge = await _socket(session, console.url)
        await huge.send_bytes(b"\x00" * 200_000)
        assert (await huge.receive()).data == 1009  # over the message size limit
        await healthy.send_str('{"type": "start", "mode": "text"}')
        cards = [json.loads((await healthy.receive()).data) for _ in range(2)]
        assert [card["kind"] for card in cards] == ["opened", "agent_line"]
        await healthy.close()


async def test_the_worker_publishes_each_turn_card_on_the_rooms_topic(constant_call):
    from agent_runtime.cards import CARD_TOPIC, CardSink, room_publisher
    from agent_runtime.contracts.actions import Action

    class Participant:
        def __init__(self):
            self.sent: list[tuple[str, str]] = []

        async def send_text(self, text: str, *, topic: str):
            self.sent.append((topic, text))

    class Room:
        local_participant = Participant()

    room = Room()
    call = constant_call(Action.OFFER_PAYMENT_PLAN, sinks=(CardSink(room_publisher(room)),))
    await call.open()
    await call.respond("is there a payment plan")
    await call.respond("stop calling me")
    sent = room.local_participant.sent
    assert {topic for topic, _ in sent} == {CARD_TOPIC}
    kinds = [json.loads(text)["kind"] for _, text in sent]
    assert kinds == ["opened", "turn", "turn", "closed"]
    assert json.loads(sent[1][1])["executed"] == "offer_payment_plan"


def _browser_speaker():
    """A console speaker whose messages to the page and finished playbacks are kept: (speaker, sent, finished)."""
    from agent_runtime.web.audio import BrowserAudioOutput

    sent: list = []

    async def send(message) -> None:
        sent.append(message)

    speaker = BrowserAudioOutput(send)
    finished: list = []
    speaker.on("playback_finished", finished.append)
    return speaker, sent, finished


def _audio(seconds: float):
    from livekit import rtc

    from agent_runtime.web.audio import SAMPLE_RATE

    samples = int(SAMPLE_RATE * seconds)
    return rtc.AudioFrame(b"\x01\x00" * samples, sample_rate=SAMPLE_RATE, num_channels=1, samples_per_channel=samples)


async def test_the_browser_speaker_reports_what_was_heard_and_drops_the_rest_on_barge_in():
    speaker, sent, finished = _browser_speaker()
    second = _audio(1.0)
    await speaker.capture_frame(second)
    speaker.flush()
    await asyncio.sleep(0.05)
    assert sent[0] == bytes(second.data) and {"type": "flush"} in sent
    speaker.page_played()  # the page's buffer ran dry
    await asyncio.sleep(0.05)
    assert finished[-1].playback_position == 1.0 and not finished[-1].interrupted
    await speaker.capture_frame(second)
    speaker.clear_buffer()  # the debtor spoke over the reply
    await asyncio.sleep(0.05)
    assert sent[-1] == {"type": "clear"}
    assert finished[-1].interrupted and finished[-1].playback_position < 0.5


async def test_the_browser_speaker_holds_a_paused_reply_and_counts_only_what_played():
    from agent_runtime.web.audio import PLAYOUT_MARGIN_S

    speaker, sent, finished = _browser_speaker()
    tenth = _audio(0.1)
    await speaker.capture_frame(tenth)
    speaker.flush()
    speaker.pause()  # the debtor started speaking
    await asyncio.sleep(0.1 + PLAYOUT_MARGIN_S + 0.2)
    assert {"type": "pause"} in sent and not finished  # held past its own length: the page is holding it
    speaker.resume()  # it was a cough
    await asyncio.sleep(0.05)
    assert sent[-1] == {"type": "resume"}
    speaker.page_played()
    await asyncio.sleep(0.05)
    assert finished[-1].playback_position == pytest.approx(0.1) and not finished[-1].interrupted
    await speaker.capture_frame(tenth)
    speaker.pause()
    await asyncio.sleep(0.3)
    speaker.clear_buffer()  # their words cut it short
    await asyncio.sleep(0.05)
    assert finished[-1].interrupted and finished[-1].playback_position < 0.05  # the pause was not heard


async def test_speaking_over_the_agent_in_the_console_pauses_the_page_and_its_card_says_what_was_heard(tmp_path):
    console = Console(tmp_path).start()
    try:
        controls, card = await _barge_in_over_the_opening(console)
    finally:
        console.stop()
    assert controls.index({"type": "pause"}) < controls.index({"type": "clear"})  # held at once, then dropped
    cut = card["interrupted_reply"]
    assert 0 < cut["heard_ms"] < 3000 and cut["heard_text"]


async def _barge_in_over_the_opening(console: Console) -> tuple[list[dict], dict]:
    """Start a voice call over the socket as the page does; once the opening's audio arrives, speak over it in
    real time (20 ms blocks, never saying it played). The control messages to the page, and the first turn card."""
    import numpy as np

    from agent_runtime.voice_sim import FRAME, synthesise

    words = synthesise("Hold on, I lost my job last month and I cannot pay anything right now.")
    speech = np.concatenate([np.zeros(FRAME * 25, np.int16), words, np.zeros(16_000 * 2, np.int16)])
    controls: list[dict] = []
    async with aiohttp.ClientSession() as session:
        socket = await _socket(session, console.url)
        await socket.send_str('{"type": "start", "mode": "voice"}')
        while (message := await socket.receive(timeout=60)).type is not aiohttp.WSMsgType.BINARY:
            controls.append(json.loads(message.data))

        async def speak() -> None:
            for start in range(0, len(speech), FRAME):
                await socket.send_bytes(speech[start : start + FRAME].tobytes())
                await asyncio.sleep(FRAME / 16_000)

        speaking = asyncio.create_task(speak())
        while True:
            message = await socket.receive(timeout=60)
            if message.type is aiohttp.WSMsgType.TEXT:
                controls.append(data := json.loads(message.data))
                if data.get("kind") == "turn":
                    break
        speaking.cancel()
        await socket.close()
    return controls, data


async def _text_call(session: aiohttp.ClientSession, url: str):
    """A page with a typed call whose debtor has confirmed who they are."""
    socket = await _socket(session, url)
    await socket.send_str('{"type": "start", "mode": "text"}')
    await socket.send_str('{"type": "text", "text": "yes speaking"}')
    while json.loads((await socket.receive()).data).get("kind") != "turn":
        pass
    return socket


async def test_on_sigterm_the_console_lets_a_call_finish_then_closes_the_rest(tmp_path):
    console = Console(tmp_path, DRAIN_SECONDS="3").start()
    async with aiohttp.ClientSession() as session:
        finishing = await _text_call(session, console.url)
        await _text_call(session, console.url)  # a call nobody ends: closed when the drain is over
        console.process.terminate()
        await asyncio.sleep(0.5)
        await finishing.send_str('{"type": "text", "text": "stop calling me"}')  # ends its call during the drain
        ended = await asyncio.get_running_loop().run_in_executor(None, console.process.wait, 15)
    assert ended == 0
    calls = {e.call_id: e.outcome for e in read_events(console.events) if e.type == "call_closed"}
    assert sorted(outcome.kind.value for outcome in calls.values()) == ["cease", "interrupted"]
