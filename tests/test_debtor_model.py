"""The debtor model: labels as the DST read the reply, sampling that keeps the odds, learning that beats its start."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pytest
import torch

from agent_runtime.contracts.actions import N_ACTIONS, Action
from agent_runtime.contracts.dst import INTENTS, DSTOutput, Intent, Period
from agent_runtime.contracts.expectation import act_labels
from agent_runtime.contracts.offers import OfferKind, OfferTerms
from agent_runtime.contracts.outcome import OutcomeKind
from agent_runtime.contracts.state import STATE_SIZE
from agent_runtime.dst.tracker import DialogueStateTracker
from simulator import utterances as say
from simulator.env import DebtorEnv
from training.debtor_model import (
    HEADS,
    NO_WORDS,
    Call,
    DebtorModel,
    FitConfig,
    Padded,
    collect_calls,
    evaluate,
    fit,
    frequency_logits,
    imagine_step,
    render,
)


def plan(instalment: float) -> OfferTerms:
    return OfferTerms(
        kind=OfferKind.PLAN,
        instalment=instalment,
        period=Period.MONTHLY,
        n_payments=10,
        total=instalment * 10,
        first_due=date(2026, 1, 1),
        discount_pct=0,
    )


def test_amounts_are_bucketed_against_the_offer_on_the_table_or_else_the_balance():
    said = DSTOutput(intent=Intent.WILLING, sentiment=0.0, amount=50.0)
    assert act_labels(said, 0.0, plan(100.0), balance=1000.0, ended=False)["amount"] == 2  # 50 % of the payment
    assert act_labels(said, 0.0, plan(48.0), balance=1000.0, ended=False)["amount"] == 3  # about the payment
    assert act_labels(said, 0.0, None, balance=1000.0, ended=False)["amount"] == 1  # 5 % of the balance
    nothing = DSTOutput(intent=Intent.STALL, sentiment=0.0)
    assert act_labels(nothing, 0.0, plan(100.0), balance=1000.0, ended=False)["amount"] == 0


def test_sentiment_change_and_silence():
    calmer = DSTOutput(intent=Intent.OTHER, sentiment=0.3)
    assert act_labels(calmer, 0.0, None, 1000.0, False)["sentiment"] == 2
    assert act_labels(calmer, 0.25, None, 1000.0, False)["sentiment"] == 1
    assert act_labels(calmer, 0.6, None, 1000.0, False)["sentiment"] == 0
    silence = act_labels(None, 0.0, None, 1000.0, True)
    assert silence == {"intent": NO_WORDS, "amount": 0, "sentiment": 1, "ends": 1}
    assert act_labels(calmer, 0.0, None, 1000.0, True)["intent"] == INTENTS.index(Intent.OTHER)


def test_sampling_keeps_the_odds_instead_of_taking_the_most_likely_act():
    model = DebtorModel(hidden=4, recurrent=False)
    with torch.no_grad():
        for head in model.heads.values():
            head.weight.zero_()
            head.bias.fill_(-20.0)
        model.heads["ends"].bias.copy_(torch.log(torch.tensor([0.7, 0.3])))
    inputs = torch.zeros(20_000, 1, STATE_SIZE + N_ACTIONS)
    draws = model.sample(inputs, np.random.default_rng(0))
    assert draws["ends"].mean() == pytest.approx(0.3, abs=0.02)  # the argmax would end no call at all
    assert set(draws) == set(HEADS)


def test_a_fit_debtor_model_beats_its_untrained_start_and_the_overall_frequencies_on_held_out_calls():
    def choose(state, rng):
        return int(rng.integers(9))

    train, heldout = collect_calls(120, 0, choose), collect_calls(40, 10_000, choose)
    batch = Padded.of(heldout)
    config = FitConfig(epochs=8, seed=0)
    untrained = evaluate(DebtorModel(config.hidden)(batch.inputs), batch)["nll_total"]
    model = fit(train, config)
    trained = evaluate(model(batch.inputs), batch)["nll_total"]
    frequencies = evaluate(frequency_logits(train, batch, per_action=False), batch)["nll_total"]
    assert trained < untrained
    assert trained < frequencies
    assert model(batch.inputs)["intent"].equal(fit(train, config)(batch.inputs)["intent"])  # seeded


def certain(model: DebtorModel, **classes: int) -> DebtorModel:
    """The model made sure of one class per head (the others' logits far below)."""
    with torch.no_grad():
        for head, layer in model.heads.items():
            layer.weight.zero_()
            layer.bias.fill_(-30.0)
            layer.bias[classes.get(head, 0)] = 0.0
    return model


def test_an_imagined_reply_is_read_by_a_branch_of_the_engine_and_leaves_the_real_call_alone():
    env = DebtorEnv()
    env.reset(seed=3)
    env.step(int(Action.EMPATHETIC_LISTENING))
    real_turns, real_state = env.engine.turns, env.engine.state().copy()
    yes = certain(DebtorModel(hidden=8), intent=INTENTS.index(Intent.COMMIT))
    branched = env.engine.branch()
    nothing_yet = torch.zeros(1, 0, STATE_SIZE + N_ACTIONS)
    offer = int(Action.OFFER_PAYMENT_PLAN)
    step, call_so_far = imagine_step(branched, yes, nothing_yet, offer, np.random.default_rng(0))
    assert step.ended and branched.outcome.kind is OutcomeKind.COMMITMENT  # a yes to the offer books it
    assert step.reward > 0 and step.text in say.COMMON[Intent.COMMIT]
    assert call_so_far.shape == (1, 1, STATE_SIZE + N_ACTIONS)
    assert env.engine.turns == real_turns and np.array_equal(env.engine.state(), real_state)
    assert branched.tracker is env.engine.tracker

    silent = certain(DebtorModel(hidden=8), intent=NO_WORDS, ends=1)
    step, _ = imagine_step(env.engine.branch(), silent, nothing_yet, 0, np.random.default_rng(0))
    assert step.ended and step.text == "" and step.next_state.shape == (STATE_SIZE,)


def test_a_sum_is_rendered_from_its_bucket_against_the_offer():
    rng = np.random.default_rng(0)
    act = {"intent": INTENTS.index(Intent.WILLING), "amount": 3, "sentiment": 1, "ends": 0}
    for _ in range(20):
        text, hang_up = render(act, plan(100.0), balance=5000.0, rng=rng)
        reading = DialogueStateTracker().read(text, True)
        assert not hang_up and reading.amount is not None and 70 <= reading.amount <= 115, text


def test_the_recurrent_encoder_reads_only_the_call_so_far():
    """Padding a call at its end (as batches do) or what comes later cannot change a turn's prediction."""
    model = DebtorModel(hidden=8, recurrent=True)
    call = torch.randn(1, 5, STATE_SIZE + N_ACTIONS)
    later_changed = call.clone()
    later_changed[:, 3:] = 0.0
    with torch.no_grad():
        before, after = model(call)["intent"], model(later_changed)["intent"]
    assert torch.equal(before[:, :3], after[:, :3]) and not torch.equal(before[:, 3:], after[:, 3:])


def two_kinds_of_debtor(calls: int, seed: int) -> list[Call]:
    """Calls whose states and actions say nothing of the debtor, where one kind always stalls and the other always
    asks: which kind a call has is hidden, yet its first reply shows it."""
    rng = np.random.default_rng(seed)
    made = []
    for _ in range(calls):
        intent = INTENTS.index(Intent.STALL if rng.random() < 0.5 else Intent.QUESTION)
        turns = int(rng.integers(3, 7))
        labels = {head: np.zeros(turns, np.int64) for head in HEADS}
        labels["intent"][:] = intent
        labels["sentiment"][:] = 1
        made.append(Call(np.zeros((turns, STATE_SIZE), np.float32), rng.integers(N_ACTIONS, size=turns), labels))
    return made


def test_a_mixture_learns_the_kind_of_debtor_from_the_acts_so_far():
    train, heldout = two_kinds_of_debtor(300, 0), Padded.of(two_kinds_of_debtor(100, 1))
    config = FitConfig(epochs=40, lr=0.03, hidden=8, seed=0)
    per_turn_model, mixture = fit(train, config), fit(train, replace(config, components=2))
    with torch.no_grad():
        per_turn = evaluate(per_turn_model.filtered_logits(heldout), heldout)["nll"]["intent"]
        filtered = mixture.filtered_logits(heldout)["intent"]
    assert per_turn > 0.6  # a coin flip at every turn: log 2 = 0.69
    first, later = filtered[:, 0], filtered[:, 1:][heldout.mask[:, 1:]]
    labels_later = heldout.labels["intent"][:, 1:][heldout.mask[:, 1:]]
    assert torch.exp(first).max(dim=-1).values.max() < 0.7  # before any reply the kinds are a coin flip
    assert torch.exp(later.gather(1, labels_later[:, None])).min() > 0.9  # after one, the call's kind is known
    assert evaluate(mixture.filtered_logits(heldout), heldout)["nll"]["intent"] < per_turn - 0.4
    with pytest.raises(ValueError, match="depends on the acts so far"):
        mixture.sample(heldout.inputs[:1], np.random.default_rng(0))


def test_the_runtime_belief_follows_the_model_turn_by_turn_in_a_simulated_call():
    """The runtime's numpy reader and per-call belief give, at every turn of a real engine's call, what the trained
    mixture gives for that call as the trainer records it: the acts are read the same way on both sides."""
    from agent_runtime.expectation import DebtorBelief, DebtorExpectation
    from training.debtor_model import RecordingDebtorEnv

    def choose(state, rng):
        return int(rng.integers(N_ACTIONS))

    mixture = fit(collect_calls(60, 0, choose), FitConfig(epochs=2, hidden=8, components=3, seed=0))
    expectation = DebtorExpectation({k: v.numpy() for k, v in mixture.state_dict().items()}, "test")
    env, rng = RecordingDebtorEnv(), np.random.default_rng(5)
    for seed in range(3):
        state, _ = env.reset(seed=50 + seed)
        belief, predicted, ended = DebtorBelief(expectation), [], False
        while not ended:
            action = choose(state, rng)
            belief.update(env.engine)
            predicted.append(expectation.probabilities(state, action, belief)["intent"])
            belief.turn(state, action, env.engine)
            state, _, terminated, truncated, _ = env.step(action)
            ended = terminated or truncated
        with torch.no_grad():
            filtered = torch.exp(mixture.filtered_logits(Padded.of(env.calls[-1:]))["intent"][0]).numpy()
        assert len(predicted) == len(filtered) > 1
        assert np.allclose(np.array(predicted), filtered, atol=1e-5)
        assert not np.allclose(belief.log_weights, expectation.log_prior)  # the replies moved the belief
