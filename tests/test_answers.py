"""Answer what was asked: each kind of question, in several phrasings, gets an answer from the call facts before the
strategy's words, whatever the policy chose."""

import pytest

from agent_runtime.contracts.actions import Action
from agent_runtime.contracts.dst import QuestionKind
from agent_runtime.contracts.outcome import FollowUp

# kind -> (phrasings, what the answer must contain, from the facts of the `facts` fixture)
QUESTIONS = {
    QuestionKind.WHO_IS_CALLING: (["who is this", "who are you?", "sorry, who's calling?"], ["Jordan"]),
    QuestionKind.WHICH_COMPANY: (
        ["which company did you say?", "who do you work for", "what company is this"],
        ["Fairway Partners", "Northwind Bank"],
    ),
    QuestionKind.HOW_MUCH: (["how much do i owe?", "what's the balance", "how much is it"], ["$1,200"]),
    QuestionKind.DEBT_ORIGIN: (
        ["where did this debt come from?", "what is this about", "what account is this"],
        ["Northwind Bank", "October 1, 2025"],
    ),
    QuestionKind.HOW_TO_PAY: (["how do i pay", "where can i send the money", "can i pay online"], ["1-800-555-0142"]),
    QuestionKind.ARE_YOU_A_ROBOT: (["are you a robot?", "is this a recording", "am i talking to a real person"],
                                   ["automated assistant", "recorded"]),
    QuestionKind.REPEAT: (["sorry, say that again?", "can you repeat that", "what did you say"],
                          ["This is an attempt"]),
}  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "phrasing", "facts_in_answer"),
    [(kind, phrasing, facts) for kind, (phrasings, facts) in QUESTIONS.items() for phrasing in phrasings],
)
async def test_a_question_is_answered_from_the_facts_before_the_strategy(constant_call, kind, phrasing,
                                                                         facts_in_answer):  # fmt: skip
    call = constant_call(Action.OFFER_PAYMENT_PLAN, verify=True)
    await call.open()
    await call.respond("yes, speaking")  # the disclosure is the last reply before the question
    reply = await call.respond(phrasing)
    assert reply.event.dst.question is kind, (phrasing, reply.event.dst.question)
    for fact in facts_in_answer:
        assert fact in reply.text, (phrasing, reply.text)
    assert "$400 monthly" in reply.text  # and the policy's strategy is still said


async def test_a_request_for_a_supervisor_gets_a_promised_callback_recorded_at_the_end(constant_call):
    call = constant_call(Action.EMPATHETIC_LISTENING)
    reply = await call.respond("i want to talk to your supervisor")
    assert "supervisor" in reply.text and "call you back" in reply.text
    await call.respond("stop calling me")
    assert FollowUp.SUPERVISOR_CALLBACK in call.engine.outcome.follow_ups
