"""Deep Dyna-Q over the debtor model: imagined turns from branches of real calls' engines.

`policy.dqn.train` takes any imagination; this one is the paper's: the world model imagines only the debtor
(`training.debtor_model`), and the engine, the DST, the state builder and the reward compute the rest. Per real step
once learning has started:
1. the engine of the call in progress joins a pool of recent real states (MBPO: rollouts branch from real states);
2. every `refit_every` real steps the debtor model is refit on the finished real calls, and it is trusted only while
   its held-out NLL (every `holdout_every`-th call) beats the class frequencies per action; until then nothing is
   imagined and the learner takes its usual gradient steps;
3. K branches of pooled states, each `horizon` turns long (stopping where the imagined call ends), with actions
   epsilon-greedy from the current Q-network, feed the imagined buffer, and the Q-network takes its usual steps
   (`gradient_steps x (1 + K)` with `planning_updates`) on batches of `real_ratio` real and `1 - real_ratio`
   imagined transitions.
The pool keeps engines, not the calls' earlier turns, so a branch is imagined with the default debtor model (the
current state and action), not the GRU.

`simulated_debtor` swaps the model for the simulated debtor itself, copied with the call's engine and given the
imagination's luck: a perfect debtor model, trusted from the start. A real call has no such copy; it measures the
most any learned debtor model can give this scheme (the diagnostic `--world-model simulator`).
"""

from __future__ import annotations

import copy
from collections import deque
from dataclasses import dataclass

import numpy as np
import torch

from agent_runtime.contracts.actions import N_ACTIONS
from agent_runtime.contracts.state import STATE_SIZE
from agent_runtime.engine import DialogueEngine
from policy.buffers import Batch, ReplayBuffer
from policy.ddq import DDQConfig, mixed_sample, updates_per_real_step
from policy.dqn import QLearner, TrainResult, train
from simulator.debtor import SimulatedDebtor
from simulator.env import play_turn
from simulator.personas import Persona
from training.debtor_model import (
    DebtorModel,
    FitConfig,
    ImaginedStep,
    Padded,
    RecordingDebtorEnv,
    evaluate,
    fit,
    frequency_logits,
    imagine_step,
)
from training.evaluate import greedy_evaluator


@dataclass
class DebtorDynaConfig:
    k: int = 5
    """imagined turns per real step"""
    horizon: int = 1
    """turns per imagined branch"""
    real_ratio: float = 0.75
    """share of real transitions in each Q-network batch"""
    pool_size: int = 2_000
    """recent real states (engines) that branches start from"""
    refit_every: int = 500
    """real steps between refits of the debtor model"""
    min_calls: int = 50
    """finished real calls before the first fit"""
    holdout_every: int = 10
    """every n-th finished call is held out to decide whether the model is trusted"""
    fit_epochs: int = 10
    ensemble: int = 1
    """debtor models, each fit on a bootstrap resample of the calls; with more than one, a branch imagines with a
    member drawn at random and an imagined turn is dropped where the members disagree (MBPO, PETS)"""
    disagreement_quantile: float = 0.9
    """drop an imagined turn where the members disagree more than on this share of held-out real turns"""
    imagined_buffer_size: int = 20_000
    simulated_debtor: bool = False
    """imagine with a copy of the call's simulated debtor instead of a fitted model (a diagnostic ceiling)"""
    planning_updates: bool = False
    """K extra gradient steps per real step once imagining (DDQConfig.planning_updates)"""
    seed: int = 0


class DebtorImagination:
    def __init__(self, env: RecordingDebtorEnv, config: DebtorDynaConfig):
        self.env, self.config, self.k = env, config, config.k
        self.updates_per_real_step = updates_per_real_step(config.k, config.planning_updates)
        # an engine, and with `simulated_debtor` a copy of the call's debtor at that point
        self.pool: deque[tuple[DialogueEngine, SimulatedDebtor | None]] = deque(maxlen=config.pool_size)
        self.imagined = ReplayBuffer(config.imagined_buffer_size, STATE_SIZE)
        self.model: DebtorModel | None = None  # the first member: the one a checkpoint keeps
        self.members: list[DebtorModel] = []
        self.disagreement_limit = float("inf")
        self.dropped_steps = 0
        self.trusted = config.simulated_debtor
        self.imagined_steps = 0
        self.real_seen = 0
        self.losses: dict[str, float] = {}

    def after_real_step(self, real: ReplayBuffer, learner: QLearner, epsilon: float, rng: np.random.Generator) -> int:
        if not self.k:
            return 1  # DDQ(0) is DQN: no model, no pool, no random number drawn
        self.real_seen += 1
        if not self.env.call_ended:
            debtor = copy.deepcopy(self.env.debtor) if self.config.simulated_debtor else None
            self.pool.append((self.env.engine.branch(), debtor))
        fitting = not self.config.simulated_debtor
        if fitting and (self.real_seen % self.config.refit_every == 0 or (self.model is None and self._enough_calls())):
            self._refit()
        if not (self.trusted and self.pool):
            return 1
        self._imagine(learner, epsilon, rng)
        return self.updates_per_real_step

    def _enough_calls(self) -> bool:
        return len(self.env.calls) >= self.config.min_calls

    def _refit(self) -> None:
        if not self._enough_calls():
            return
        config, calls = self.config, self.env.calls
        held = [call for i, call in enumerate(calls) if i % config.holdout_every == 0]
        train = [call for i, call in enumerate(calls) if i % config.holdout_every]
        resample = np.random.default_rng([config.seed, len(calls)])  # its own stream: the training loop's is untouched
        samples = (
            [train]
            if config.ensemble == 1
            else [[train[i] for i in resample.integers(len(train), size=len(train))] for _ in range(config.ensemble)]
        )
        self.members = [
            fit(sample, FitConfig(epochs=config.fit_epochs, seed=config.seed + len(calls) + 1_000 * member))
            for member, sample in enumerate(samples)
        ]
        self.model = self.members[0]
        batch = Padded.of(held)
        with torch.no_grad():
            model_nll = evaluate(self._mixture(batch.inputs), batch)["nll_total"]
            if config.ensemble > 1:
                held_disagreement = self._disagreement(batch.inputs)[batch.mask]
                self.disagreement_limit = float(torch.quantile(held_disagreement, config.disagreement_quantile))
        baseline_nll = evaluate(frequency_logits(train, batch, per_action=True), batch)["nll_total"]
        self.trusted = model_nll < baseline_nll
        self.losses = {
            "losses/debtor_model_nll": model_nll,
            "losses/debtor_frequency_nll": baseline_nll,
            "charts/debtor_model_trusted": float(self.trusted),
        }

    def _mixture(self, inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        """The members' mean distribution per head, as log-probabilities (the one member's logits when alone)."""
        if len(self.members) == 1:
            return self.members[0](inputs)
        outputs = [member(inputs) for member in self.members]
        return {
            head: torch.log(torch.stack([torch.softmax(o[head], -1) for o in outputs]).mean(0)) for head in outputs[0]
        }

    def _disagreement(self, inputs: torch.Tensor) -> torch.Tensor:
        """Per turn, the members' mean total-variation distance from their mean next-intent distribution."""
        odds = torch.stack([torch.softmax(member(inputs)["intent"], -1) for member in self.members])
        return 0.5 * (odds - odds.mean(0)).abs().sum(-1).mean(0)

    def _imagine(self, learner: QLearner, epsilon: float, rng: np.random.Generator) -> None:
        nothing_yet = torch.zeros(1, 0, STATE_SIZE + N_ACTIONS)
        for start in rng.integers(len(self.pool), size=self.k):
            engine, debtor = self.pool[start]
            engine = engine.branch()
            if debtor is not None:
                debtor = copy.deepcopy(debtor, {id(debtor.rng): rng})  # the same debtor, with the imagination's luck
            model = self.members[int(rng.integers(len(self.members)))] if len(self.members) > 1 else self.model
            call_so_far = nothing_yet
            for _ in range(self.config.horizon):
                state = engine.state()
                greedy = int(learner.q_values(state).argmax())
                action = int(rng.integers(N_ACTIONS)) if rng.random() < epsilon else greedy
                if debtor is None:
                    step, call_so_far = imagine_step(engine, model, call_so_far, action, rng)
                else:
                    turn = play_turn(engine, debtor, action, state)
                    step = ImaginedStep(turn.observation.state, turn.reward, turn.observation.ended, turn.reply.text)
                if len(self.members) > 1 and self._disagrees(call_so_far):
                    self.dropped_steps += 1
                    break
                self.imagined.add(state, action, step.reward, step.next_state, step.ended)
                self.imagined_steps += 1
                if step.ended:
                    break

    def _disagrees(self, call_so_far: torch.Tensor) -> bool:
        with torch.no_grad():
            return float(self._disagreement(call_so_far)[0, -1]) > self.disagreement_limit

    def sample(self, real: ReplayBuffer, batch_size: int, rng: np.random.Generator) -> Batch:
        return mixed_sample(real, self.imagined, batch_size, self.config.real_ratio, rng)


def train_debtor_ddq(
    config: DDQConfig,
    *,
    ensemble: int = 1,
    simulated_debtor: bool = False,
    refit_every: int = DebtorDynaConfig.refit_every,
    stt_noise: float = 0.0,
    personas: tuple[Persona, ...] | None = None,
    **kwargs,
) -> tuple[TrainResult, DebtorImagination]:
    """`policy.dqn.train` on the debtor simulator with this imagination, DDQConfig's k, horizon and real_ratio (as
    `policy.ddq.train_ddq` does for the next-state models) and `ensemble` debtor models refit every `refit_every`
    real steps (or `simulated_debtor`); `kwargs` go to `train`."""
    env = RecordingDebtorEnv(stt_noise=stt_noise, personas=personas)
    dyna = DebtorDynaConfig(
        k=config.k,
        horizon=config.horizon,
        real_ratio=config.real_ratio,
        ensemble=ensemble,
        simulated_debtor=simulated_debtor,
        refit_every=refit_every,
        planning_updates=config.planning_updates,
        seed=config.seed,
    )
    imagination = DebtorImagination(env, dyna)
    # on an env of its own: the training env records every call it plays as the debtor model's data
    kwargs.setdefault("evaluate", greedy_evaluator(config.eval_episodes, config.eval_seed, stt_noise))
    return train(lambda: env, config, imagination=imagination, **kwargs), imagination
