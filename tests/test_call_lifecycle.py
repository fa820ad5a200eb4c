"""One owner of a call: every way out of a call writes exactly one call_closed, a call that ended stays ended, and the
call's metrics come from the same controller that writes its events."""

import asyncio
import json

import pytest
from livekit.agents.voice.events import CloseEvent, CloseReason
from prometheus_client import CollectorRegistry

from agent_runtime.compliance import DISCLOSURE, RECORDING_NOTICE, unheard_notices
from agent_runtime.contracts.actions import Action
from agent_runtime.contracts.events import CallClosed, CallOpened, TurnEvent, read_event
from agent_runtime.contracts.outcome import OutcomeKind
from agent_runtime.dst.tracker import DialogueStateTracker
from agent_runtime.policy_source import load_policy
from agent_runtime.services import CallServices
from agent_runtime.voice import VoiceCall
from simulator.calls import simulated_debtor, talk
from telemetry.metrics import RuntimeMetrics


class Collected(list):
    """An event sink that keeps what it gets."""

    async def add(self, event) -> None:
        self.append(event)

    def closed(self) -> list[CallClosed]:
        return [e for e in self if isinstance(e, CallClosed)]


@pytest.fixture
def sink():
    return Collected()


async def test_a_closing_rule_ends_the_call_and_later_words_get_no_answer(constant_call, sink):
    call = constant_call(Action.OFFER_PAYMENT_PLAN, sinks=(sink,))
    await call.open()
    await call.respond("what are my options")
    closing = await call.respond("stop calling me")
    assert closing.ends_call and "further" in closing.text
    logged = len(sink)
    late = await call.respond("hello? are you still there?")
    assert (late.text, late.ends_call, late.event) == ("", True, None) and len(sink) == logged
    await call.hang_up()
    await call.close(OutcomeKind.INTERRUPTED)
    (closed,) = sink.closed()
    assert closed.outcome.kind is OutcomeKind.CEASE and closed.outcome.do_not_contact
    assert closed.turns == sum(isinstance(e, TurnEvent) for e in sink) == 2


async def test_a_hang_up_closes_the_call_once(constant_call, sink):
    call = constant_call(Action.FIRM_REMINDER, sinks=(sink,))
    await call.open()
    await call.respond("what are my options")
    await call.hang_up()
    await call.hang_up()
    await call.close(OutcomeKind.ERROR, reason="late error")
    (closed,) = sink.closed()
    assert closed.outcome.kind is OutcomeKind.HANG_UP and closed.reason is None
    assert sink[-2].ends_call and sink[-2].user_text == ""  # the hang-up is the last turn event


@pytest.mark.parametrize("kind", [OutcomeKind.INTERRUPTED, OutcomeKind.ERROR])
async def test_a_call_cut_short_by_the_agent_side_closes_once_with_its_reason(constant_call, sink, kind):
    call = constant_call(Action.EMPATHETIC_LISTENING, sinks=(sink,))
    await call.open()
    await call.respond("i lost my job")
    await call.close(kind, reason="x" * 2000)
    await call.close(OutcomeKind.INTERRUPTED)
    await call.hang_up()
    (closed,) = sink.closed()
    assert closed.outcome.kind is kind and not closed.outcome.success and len(closed.reason) == 500
    assert closed.turns == 1


async def test_a_call_that_never_opened_logs_nothing(constant_call, sink):
    call = constant_call(Action.EMPATHETIC_LISTENING, sinks=(sink,))
    await call.close(OutcomeKind.INTERRUPTED)
    await call.hang_up()
    assert sink == []


def _voice_call(constant_call, sink, action=Action.OFFER_PAYMENT_PLAN) -> VoiceCall:
    """The worker's voice session in text mode (no audio, no room)."""
    call = constant_call(action, sinks=(sink,))
    return VoiceCall(call, vad=None, stt=None, tts=None, turn_handling={"turn_detection": None})


async def test_the_voice_session_ends_itself_after_the_closing_line(constant_call, sink):
    voice = _voice_call(constant_call, sink)
    closed = asyncio.Event()
    voice.session.on("close", lambda event: closed.set())
    await voice.start()
    await voice.open()
    offer = await voice.session.run(user_input="is there some kind of payment plan")
    assert any(e.type == "message" for e in offer.events) and not closed.is_set()
    goodbye = await voice.session.run(user_input="stop calling me")
    (text,) = [e.item.text_content for e in goodbye.events if e.type == "message"]
    assert "further" in text or "not receive" in text
    await asyncio.wait_for(closed.wait(), timeout=10)  # nobody but the call closed the session
    await asyncio.wait_for(voice.ended.wait(), timeout=10)
    await voice.aclose()
    (call_closed,) = sink.closed()
    assert call_closed.outcome.kind is OutcomeKind.CEASE and isinstance(sink[0], CallOpened)


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        (CloseReason.PARTICIPANT_DISCONNECTED, OutcomeKind.HANG_UP),
        (CloseReason.JOB_SHUTDOWN, OutcomeKind.INTERRUPTED),
        (CloseReason.USER_INITIATED, OutcomeKind.INTERRUPTED),
        (CloseReason.ERROR, OutcomeKind.ERROR),
    ],
)
async def test_however_the_session_closes_the_call_closes_once(constant_call, sink, reason, kind):
    voice = _voice_call(constant_call, sink, Action.EMPATHETIC_LISTENING)
    await voice.start()
    await voice.open()
    await voice.session.run(user_input="i lost my job")
    voice.session.emit("close", CloseEvent(reason=reason))  # as the framework reports the session's end
    await asyncio.wait_for(voice.ended.wait(), timeout=10)
    await voice.aclose()
    (closed,) = sink.closed()
    assert closed.outcome.kind is kind


async def test_the_calls_metrics_come_from_its_controller():
    registry = CollectorRegistry()
    services = CallServices(load_policy("scripted:best_practice"), DialogueStateTracker(), RuntimeMetrics(registry))
    events = Collected()
    who = simulated_debtor(11)
    call = who.controller(services, "metrics-call", sinks=(events,))
    await talk(call, who)
    value = registry.get_sample_value
    turns = [e for e in events if isinstance(e, TurnEvent)]
    decisions = [e for e in turns if e.executed_action is not None]
    (closed,) = events.closed()
    assert value("agent_calls_total", {"outcome": closed.outcome.kind.value}) == 1
    executed = [s.value for m in registry.collect() for s in m.samples if s.name == "agent_actions_total"]
    assert sum(executed) == len(decisions) > 0
    assert value("agent_stage_latency_seconds_count", {"stage": "engine"}) == len(turns)
    assert value("agent_stage_latency_seconds_count", {"stage": "e2e"}) == len(turns)
    assert value("agent_open_calls") == 0


async def test_a_call_cancelled_between_its_last_turn_and_its_close_still_closes_once(constant_call, sink):
    """A stop signal can cancel the driver while the closing turn's event is being written; the driver's cleanup
    (`close`) then writes the call_closed that the closing rule did not get to."""

    class Cancelling(Collected):
        async def add(self, event) -> None:
            await super().add(event)
            if isinstance(event, TurnEvent) and event.ends_call:
                raise asyncio.CancelledError

    cancelling = Cancelling()
    call = constant_call(Action.EMPATHETIC_LISTENING, sinks=(sink, cancelling))
    await call.open()
    with pytest.raises(asyncio.CancelledError):
        await call.respond("stop calling me")
    assert sink.closed() == []
    await call.close(OutcomeKind.INTERRUPTED, reason="stopped")
    await call.close(OutcomeKind.INTERRUPTED)
    (closed,) = sink.closed()
    assert closed.outcome.kind is OutcomeKind.CEASE and closed.reason is None


async def test_a_stop_signal_while_the_call_closed_event_is_written_waits_for_it(constant_call, sink):
    """The driver cancelled while call_closed is on its way to a slow sink (a database write): the event still
    reaches every sink, once, and then the cancellation goes on."""

    class Slow(Collected):
        def __init__(self):
            super().__init__()
            self.writing = asyncio.Event()

        async def add(self, event) -> None:
            if isinstance(event, CallClosed):
                self.writing.set()
                await asyncio.sleep(0.05)
            await super().add(event)

    slow = Slow()
    call = constant_call(Action.EMPATHETIC_LISTENING, sinks=(slow, sink))
    await call.open()
    driver = asyncio.create_task(call.respond("stop calling me"))
    await slow.writing.wait()
    driver.cancel()
    with pytest.raises(asyncio.CancelledError):
        await driver
    await call.close(OutcomeKind.INTERRUPTED, reason="stopped")
    assert len(slow.closed()) == len(sink.closed()) == 1
    assert sink.closed()[0].outcome.kind is OutcomeKind.CEASE


async def test_the_words_that_cut_a_reply_short_record_how_much_of_it_was_heard(constant_call, sink):
    call = constant_call(Action.OFFER_PAYMENT_PLAN, sinks=(sink,))
    await call.open()
    first = await call.respond("what are my options")
    call.reply_cut_short(1.25, "  We can set up a plan of ")  # the debtor spoke over the offer
    cut = await call.respond("hold on, I lost my job")
    after = await call.respond("money is really tight right now")
    assert first.event.interrupted_reply is None and after.event.interrupted_reply is None
    assert cut.event.interrupted_reply.heard_ms == 1250.0
    assert cut.event.interrupted_reply.heard_text == "We can set up a plan of"
    older = json.loads(cut.event.model_dump_json(exclude={"interrupted_reply"})) | {"schema_version": 7}
    event, upgraded = read_event(json.dumps(older))
    assert upgraded and event.interrupted_reply is None and event.agent_text == cut.event.agent_text
    assert read_event(cut.event.model_dump_json())[0] == cut.event


async def test_notices_the_debtor_cut_off_before_hearing_them_are_said_again(constant_call, sink):
    call = constant_call(Action.OFFER_PAYMENT_PLAN, sinks=(sink,), verify=True)
    opening = await call.open()
    assert "recorded" in opening
    call.reply_cut_short(0.8, opening.split(",")[0])  # "Hello" / "Hi": the recording notice had not played
    after_opening = await call.respond("who is this")
    assert after_opening.text.startswith(RECORDING_NOTICE)
    heard_whole = await call.respond("what do you want")  # nothing cut: nothing owed
    assert not heard_whole.text.startswith(RECORDING_NOTICE)


def test_a_notice_counts_as_heard_only_when_its_words_played():
    line = f"Thank you, Sam. {DISCLOSURE} I'm calling about your account."
    assert unheard_notices(line, "Thank you, Sam.") == [DISCLOSURE]
    assert unheard_notices(line, None) == [DISCLOSURE]  # not known: say it again
    assert unheard_notices(line, f"Thank you, Sam. {DISCLOSURE}") == []
    assert unheard_notices("Hi, this is Jordan, on a recorded line.", "Hi, this is") == [RECORDING_NOTICE]
    assert unheard_notices("I've recorded your dispute.", "I've") == []  # not the recording notice
