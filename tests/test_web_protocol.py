"""The web console's WebSocket protocol and the LiveKit room's card topic, without a browser (async tests live here:
the browser tests' Playwright driver owns its module's event loop)."""

from __future__ import annotations

import json

import aiohttp

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
