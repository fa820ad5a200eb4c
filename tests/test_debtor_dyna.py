"""Deep Dyna-Q over the debtor model: nothing imagined for K = 0 or an untrusted model, K turns from real branches
otherwise, and the real call never touched."""

from __future__ import annotations

import numpy as np

from agent_runtime.contracts.actions import N_ACTIONS, Action
from agent_runtime.contracts.state import STATE_SIZE
from policy.buffers import ReplayBuffer
from policy.dqn import DQNConfig, QLearner
from tests.test_debtor_model import certain
from training.debtor_dyna import DebtorDynaConfig, DebtorImagination
from training.debtor_model import DebtorModel, RecordingDebtorEnv, collect_calls


def started_call() -> RecordingDebtorEnv:
    env = RecordingDebtorEnv()
    env.reset(seed=5)
    env.step(int(Action.ASK_ABOUT_SITUATION))
    return env


def test_k_zero_is_plain_dqn_and_an_untrusted_model_imagines_nothing():
    env, learner, rng = started_call(), QLearner(STATE_SIZE, N_ACTIONS, DQNConfig()), np.random.default_rng(0)
    real = ReplayBuffer(100, STATE_SIZE)
    plain = DebtorImagination(env, DebtorDynaConfig(k=0, min_calls=1))
    env.calls = collect_calls(3, 0, lambda state, rng: 0)
    assert plain.after_real_step(real, learner, 0.1, rng) == 1
    assert plain.model is None and not plain.pool and plain.imagined_steps == 0
    untrusted = DebtorImagination(env, DebtorDynaConfig(k=4, min_calls=10_000))
    assert untrusted.after_real_step(real, learner, 0.1, rng) == 1
    assert untrusted.imagined_steps == 0 and len(untrusted.pool) == 1


def test_a_trusted_model_imagines_k_turns_from_real_branches_and_leaves_the_real_call_alone():
    env, learner, rng = started_call(), QLearner(STATE_SIZE, N_ACTIONS, DQNConfig()), np.random.default_rng(0)
    turns, state = env.engine.turns, env.engine.state().copy()
    imagination = DebtorImagination(env, DebtorDynaConfig(k=4, min_calls=10_000))
    imagination.model, imagination.trusted = certain(DebtorModel(hidden=8), intent=0, ends=1), True
    assert imagination.after_real_step(ReplayBuffer(100, STATE_SIZE), learner, 0.0, rng) == 5
    imagined = imagination.imagined.all()
    assert imagination.imagined_steps == len(imagined) == 4
    assert np.allclose(imagined.obs, state) and imagined.dones.all() and np.isfinite(imagined.rewards).all()
    assert env.engine.turns == turns and np.array_equal(env.engine.state(), state)
