"""World-model accuracy on held-out real transitions of the debtor simulator, every kind side by side.

    python -m training.worldmodel_eval [--kinds mlp ensemble ...] [--seeds 0 1 2] [--train-episodes 2000]
        [--test-episodes 500] [--updates 4000] [--out results/worldmodel_eval]

Transitions come from an epsilon-greedy behaviour policy (the committed checkpoint, epsilon 0.3, the kind of data
DDQ's world model sees): training calls on seeds 0.., held-out calls on the validation seeds. Each kind is fit
with the same number of minibatch updates per seed and scored on every held-out transition:
- next-state MSE (mean over the state features) and reward MSE / MAE,
- episode-end AUC and Brier score,
- for the kinds with a predictive spread (probabilistic, ensemble): the share of held-out targets inside the
  central 50/68/90/95 % Gaussian intervals (calibration: a calibrated model matches the nominal share), the mean
  absolute calibration error, and the reward's Gaussian negative log-likelihood.
Writes OUT.json (mean and 95 % CI over seeds per metric) and OUT.png.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
import tyro
from scipy import stats as scipy_stats
from tqdm import tqdm

from agent_runtime.contracts.actions import N_ACTIONS
from agent_runtime.contracts.state import STATE_SIZE
from policy.buffers import ReplayBuffer
from policy.dqn import play_into
from policy.world_models import WORLD_MODELS, Prediction, make_world_model
from simulator.env import DebtorEnv
from training.baselines import make_policy
from training.runs import VALIDATION_SEED_START
from training.stats import mean_ci

NOMINAL_COVERAGE = (0.5, 0.68, 0.9, 0.95)


@dataclass
class Args:
    kinds: list[str] = field(default_factory=lambda: sorted(WORLD_MODELS))
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    train_episodes: int = 2000
    test_episodes: int = 500
    updates: int = 4000
    """minibatch updates per fit (DDQ refits 200 updates every 250 real steps)"""
    batch_size: int = 64
    behaviour: str = "checkpoints/debtor_policy.pt"
    epsilon: float = 0.3
    out: Path = Path("results/worldmodel_eval")


def collect(behaviour: str, episodes: int, seed_start: int, epsilon: float, rng: np.random.Generator) -> ReplayBuffer:
    env = DebtorEnv()
    policy = make_policy(behaviour, env, seed_start)  # a Q-network or script: no per-call state to reset
    buffer = ReplayBuffer(episodes * 16, STATE_SIZE)

    def choose(obs: np.ndarray) -> int:
        return int(rng.integers(env.action_space.n)) if rng.random() < epsilon else policy.act(obs)[0]

    play_into(buffer, env, choose, episodes, seed_start)
    return buffer


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (the Mann-Whitney U statistic over positives x negatives)."""
    positives = labels > 0.5
    ranks = scipy_stats.rankdata(scores)
    n_pos, n_neg = positives.sum(), (~positives).sum()
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def coverage(errors: np.ndarray, std: np.ndarray) -> list[float]:
    """Share of |target - mean| inside each nominal central Gaussian interval."""
    z = np.abs(errors) / np.maximum(std, 1e-6)
    return [float(np.mean(z <= scipy_stats.norm.ppf(0.5 + level / 2))) for level in NOMINAL_COVERAGE]


def score(prediction: Prediction, test: ReplayBuffer) -> dict:
    n = len(test)
    next_obs, rewards, dones = test.next_obs[:n], test.rewards[:n], test.dones[:n]
    state_errors, reward_errors = prediction.next_obs - next_obs, prediction.reward - rewards
    result = {
        "next_state_mse": float(np.mean(state_errors**2)),
        "reward_mse": float(np.mean(reward_errors**2)),
        "reward_mae": float(np.mean(np.abs(reward_errors))),
        "end_auc": auc(dones, prediction.done_probability),
        "end_brier": float(np.mean((prediction.done_probability - dones) ** 2)),
    }
    if prediction.next_obs_std is not None:
        state_cover = coverage(state_errors.ravel(), prediction.next_obs_std.ravel())
        reward_cover = coverage(reward_errors, prediction.reward_std)
        variance = np.maximum(prediction.reward_std, 1e-6) ** 2
        result |= {
            "next_state_coverage": state_cover,
            "reward_coverage": reward_cover,
            "calibration_error": float(
                np.mean(np.abs(np.array(state_cover + reward_cover) - np.array(NOMINAL_COVERAGE * 2)))
            ),
            "reward_nll": float(np.mean(0.5 * (np.log(2 * np.pi * variance) + reward_errors**2 / variance))),
        }
    return result


def evaluate_kind(kind: str, train: ReplayBuffer, test: ReplayBuffer, args: Args, seed: int) -> dict:
    torch.manual_seed(seed)
    model = make_world_model(kind, STATE_SIZE, N_ACTIONS)
    start = time.perf_counter()
    model.fit(train, args.updates, args.batch_size, np.random.default_rng(seed))
    fit_seconds = time.perf_counter() - start
    indices = np.arange(len(test))
    prediction = model.predict(test.histories(indices, model.window), test.actions[indices])
    return {**score(prediction, test), "fit_seconds": fit_seconds}


def summarise(per_seed: list[dict]) -> dict:
    summary = {}
    for metric, first in per_seed[0].items():
        if isinstance(first, list):
            summary[metric] = [mean_ci([run[metric][i] for run in per_seed]) for i in range(len(first))]
        else:
            summary[metric] = mean_ci([run[metric] for run in per_seed])
    return summary


def plot(results: dict, path: Path) -> None:
    kinds = list(results)
    fig, axes = plt.subplots(1, 4, figsize=(18, 4))
    for ax, (metric, title) in zip(
        axes[:3],
        (("next_state_mse", "next-state MSE (lower is better)"), ("reward_mse", "reward MSE"), ("end_auc", "end AUC")),
        strict=True,
    ):
        means = [results[k][metric]["mean"] for k in kinds]
        errors = [
            [m - results[k][metric]["low"] for k, m in zip(kinds, means, strict=True)],
            [results[k][metric]["high"] - m for k, m in zip(kinds, means, strict=True)],
        ]
        ax.bar(kinds, means, yerr=errors, capsize=4, color="tab:blue")
        ax.set_title(title)
        ax.tick_params(axis="x", rotation=30)
    ax = axes[3]
    ax.plot(NOMINAL_COVERAGE, NOMINAL_COVERAGE, "k--", label="calibrated")
    for kind in kinds:
        for metric, style in (("next_state_coverage", "-o"), ("reward_coverage", ":s")):
            if metric in results[kind]:
                observed = [c["mean"] for c in results[kind][metric]]
                ax.plot(NOMINAL_COVERAGE, observed, style, label=f"{kind} {metric.split('_coverage')[0]}")
    ax.set_xlabel("nominal interval")
    ax.set_ylabel("observed share inside")
    ax.set_title("calibration")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(args: Args) -> dict:
    unknown = set(args.kinds) - set(WORLD_MODELS)
    if unknown:
        raise SystemExit(f"unknown world model(s) {sorted(unknown)}; choose from {sorted(WORLD_MODELS)}")
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    train = collect(args.behaviour, args.train_episodes, 0, args.epsilon, rng)
    test = collect(args.behaviour, args.test_episodes, VALIDATION_SEED_START, args.epsilon, rng)
    per_kind: dict[str, list[dict]] = {kind: [] for kind in args.kinds}
    for kind in tqdm(args.kinds, desc="world models"):
        for seed in args.seeds:
            per_kind[kind].append(evaluate_kind(kind, train, test, args, seed))
    results = {kind: summarise(runs) for kind, runs in per_kind.items()}
    report = {
        "train_transitions": len(train),
        "test_transitions": len(test),
        "test_end_rate": float(test.dones[: len(test)].mean()),
        "reward_variance": float(test.rewards[: len(test)].var()),
        "nominal_coverage": NOMINAL_COVERAGE,
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "results": results,
        "per_seed": per_kind,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    plot(results, args.out.with_suffix(".png"))
    for kind, result in results.items():
        line = ", ".join(f"{m} {result[m]['mean']:.4f}" for m in ("next_state_mse", "reward_mse", "end_auc"))
        calibration = (
            f", calibration error {result['calibration_error']['mean']:.3f}" if "calibration_error" in result else ""
        )
        print(f"{kind}: {line}{calibration}")
    return report


if __name__ == "__main__":
    main(tyro.cli(Args))
