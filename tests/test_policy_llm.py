"""The policy inside a real LiveKit AgentSession, in text mode (no room, no audio)."""

import asyncio
from datetime import date

from livekit.agents import Agent, AgentSession

from agent_runtime.call import CallController
from agent_runtime.events.outbox import Outbox
from agent_runtime.events.store import EventStore, read_events
from agent_runtime.nlg import TemplateNLG
from agent_runtime.policy_llm import PolicyLLM
from agent_runtime.policy_source import load_policy


def _controller(facts, tracker, outbox=None) -> CallController:
    policy = load_policy("constant:offer_payment_plan")
    sinks = (outbox,) if outbox else ()
    return CallController(facts, policy, tracker, TemplateNLG(seed=0), date(2026, 1, 5), sinks=sinks, verify=False)


async def test_agent_session_answers_with_the_worded_strategy(facts, tracker, tmp_path):
    store = await EventStore.open(tmp_path / "events.db")
    call = _controller(facts, tracker, Outbox(store))
    await call.open()
    async with AgentSession(llm=PolicyLLM(call), vad=None, turn_handling={"turn_detection": None}) as session:
        await session.start(Agent(instructions="unused: the policy chooses"))
        result = await session.run(user_input="is there some kind of payment plan")
        result.expect.next_event().is_message(role="assistant")
        result.expect.no_more_events()
        (text,) = [e.item.text_content for e in result.events if e.type == "message"]
        assert "$400 monthly for 3 payments" in text
        closing = await session.run(user_input="stop calling me")
        (goodbye,) = [e.item.text_content for e in closing.events if e.type == "message"]
        assert "further calls" in goodbye or "stop calling" in goodbye.lower()
    await asyncio.sleep(0)
    await store.close()
    kinds = [e.type for e in read_events(tmp_path / "events.db")]
    assert kinds.count("turn") == 2 and "call_opened" in kinds and "call_closed" in kinds


async def test_the_same_user_message_updates_the_state_once(facts, tracker):
    call = _controller(facts, tracker)
    first = await call.respond("what are my options", message_id="m1")
    again = await call.respond("what are my options", message_id="m1")
    assert again is first and call.engine.turns == 1
