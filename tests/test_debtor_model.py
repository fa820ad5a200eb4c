"""The debtor model: labels as the DST read the reply, sampling that keeps the odds, learning that beats its start."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
import torch

from agent_runtime.contracts.actions import N_ACTIONS, Action
from agent_runtime.contracts.dst import INTENTS, DSTOutput, Intent, Period
from agent_runtime.contracts.offers import OfferKind, OfferTerms
from agent_runtime.contracts.outcome import OutcomeKind
from agent_runtime.contracts.state import STATE_SIZE
from agent_runtime.dst.tracker import DialogueStateTracker
from simulator import utterances as say
from simulator.env import DebtorEnv
from training.debtor_model import (
    HEADS,
    NO_WORDS,
    DebtorModel,
    FitConfig,
    Padded,
    act_labels,
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
