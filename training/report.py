"""Plots of training runs for people without Grafana.

    python -m training.report RUN_DIR [RUN_DIR ...] [--out DIR]

Writes PNGs into DIR (default: the first run's folder):
- learning_curves.png: success, recovery, return and TD loss per episode with 10- and 50-episode moving averages;
  with several runs of one algorithm, the mean and a 95 % band over seeds (runs grouped by algorithm);
- actions_by_persona.png: the share of each action per persona (simulated runs);
- actions_over_training.png: the share of each action over training (exploration to exploitation);
- q_values.png: the distribution of per-episode mean max-Q over training;
- feature_action_values.png: for the first run's checkpoint, the mean Q-value of each action in states where each
  binary state feature is on (greedy rollouts on validation seeds).
"""

from __future__ import annotations

import json
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import tyro

from agent_runtime.contracts.actions import ACTION_NAMES
from agent_runtime.contracts.state import STATE_FEATURES
from training.run_outputs import read_metrics
from training.runs import VALIDATION_SEED_START

WINDOWS = (10, 50)


@dataclass
class Args:
    runs: list[Path] = field(default_factory=list)
    """run directories (each with metrics.jsonl, summary.json, best.pt)"""
    out: Path | None = None
    rollouts: int = 200
    """greedy episodes used for the feature x action value heatmap"""


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    if len(values) < window:
        return np.full(len(values), np.nan)
    kernel = np.ones(window) / window
    return np.concatenate([np.full(window - 1, np.nan), np.convolve(values, kernel, mode="valid")])


def series(episodes: list[dict], key: str) -> np.ndarray:
    if key == "td_loss":
        return np.array([e["losses"].get("losses/td_loss", np.nan) for e in episodes], dtype=float)
    return np.array([np.nan if e.get(key) is None else float(e[key]) for e in episodes], dtype=float)


def learning_curves(groups: dict[str, list[list[dict]]], path: Path) -> None:
    keys = [("success", "success rate"), ("recovery", "recovery rate"), ("return", "return"), ("td_loss", "TD loss")]
    fig, axes = plt.subplots(2, 2, figsize=(12, 7), sharex=True)
    for ax, (key, label) in zip(axes.flat, keys, strict=True):
        for colour, (algo, runs) in zip(plt.cm.tab10.colors, groups.items(), strict=False):
            length = min(len(r) for r in runs)
            for window, style in zip(WINDOWS, ("-", "--"), strict=True):
                curves = np.array([moving_average(series(r[:length], key), window) for r in runs])
                with warnings.catch_warnings():  # the first window-1 points are NaN by design
                    warnings.simplefilter("ignore", RuntimeWarning)
                    mean = np.nanmean(curves, axis=0)
                    half = 1.96 * np.nanstd(curves, axis=0, ddof=1) / np.sqrt(len(runs)) if len(runs) > 1 else None
                ax.plot(
                    np.arange(length),
                    mean,
                    style,
                    color=colour,
                    lw=1.2,
                    label=f"{algo} ({len(runs)} run{'s' * (len(runs) > 1)}), MA{window}",
                )
                if half is not None and window == WINDOWS[-1]:
                    ax.fill_between(np.arange(length), mean - half, mean + half, color=colour, alpha=0.15)
        ax.set(title=label, xlabel="episode")
        if key == "td_loss":
            ax.set_yscale("log")
    axes.flat[0].legend(fontsize=7)
    fig.suptitle("Learning curves (moving averages; band: 95 % CI over seeds)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def action_share(episodes: list[dict]) -> np.ndarray:
    counts = np.zeros(len(ACTION_NAMES))
    for e in episodes:
        for name, n in e["action_counts"].items():
            counts[ACTION_NAMES.index(name)] += n
    return counts / max(1, counts.sum())


def heatmap(ax, matrix: np.ndarray, rows: list[str], cols: list[str], title: str, fmt: str = "{:.0%}") -> None:
    image = ax.imshow(matrix, aspect="auto", cmap="viridis")
    ax.set_xticks(range(len(cols)), cols, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(rows)), rows, fontsize=8)
    if matrix.size <= 120:
        for (i, j), value in np.ndenumerate(matrix):
            ax.text(j, i, fmt.format(value), ha="center", va="center", fontsize=7, color="white")
    ax.set_title(title)
    plt.colorbar(image, ax=ax)


def actions_by_persona(episodes: list[dict], path: Path) -> None:
    by_persona = defaultdict(list)
    for e in episodes:
        by_persona[e.get("persona", "all")].append(e)
    personas = sorted(by_persona)
    matrix = np.array([action_share(by_persona[p]) for p in personas])
    fig, ax = plt.subplots(figsize=(10, 1.2 + 0.6 * len(personas)))
    heatmap(ax, matrix, personas, list(ACTION_NAMES), "Share of actions per persona (all training episodes)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def actions_over_training(episodes: list[dict], path: Path, bins: int = 10) -> None:
    chunks = np.array_split(np.arange(len(episodes)), bins)
    matrix = np.array([action_share([episodes[i] for i in chunk]) for chunk in chunks]).T
    labels = [f"{chunk[0]}-{chunk[-1]}" for chunk in chunks]
    fig, ax = plt.subplots(figsize=(11, 5))
    heatmap(
        ax, matrix, list(ACTION_NAMES), labels, "Share of actions over training (episodes), exploration to exploitation"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def q_values(episodes: list[dict], path: Path, bins: int = 5) -> None:
    fig, ax = plt.subplots(figsize=(8, 4))
    chunks = np.array_split(np.arange(len(episodes)), bins)
    for chunk in chunks:
        values = [episodes[i]["q_stats"]["mean"] for i in chunk if episodes[i].get("q_stats")]
        ax.hist(values, bins=40, alpha=0.45, label=f"episodes {chunk[0]}-{chunk[-1]}")
    ax.set(title="Distribution of the per-episode mean max-Q", xlabel="Q", ylabel="episodes")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def feature_action_values(checkpoint: Path, path: Path, rollouts: int) -> None:
    from agent_runtime.contracts.state import CHECKPOINT_SPACES
    from policy.inference import GreedyPolicy
    from simulator.env import DebtorEnv

    policy = GreedyPolicy.load(checkpoint, **CHECKPOINT_SPACES)
    env, states, qs = DebtorEnv(), [], []
    for episode in range(rollouts):
        state, _ = env.reset(seed=VALIDATION_SEED_START + episode)
        done = False
        while not done:
            action, q = policy.act(state)
            states.append(state)
            qs.append(q)
            state, _, done, _, _ = env.step(action)
    states, qs = np.array(states), np.array(qs)
    binary = [
        i for i, name in enumerate(STATE_FEATURES) if set(np.unique(states[:, i])) <= {0.0, 1.0} and states[:, i].any()
    ]
    matrix = np.array([qs[states[:, i] > 0.5].mean(axis=0) for i in binary])
    fig, ax = plt.subplots(figsize=(10, 0.28 * len(binary) + 2))
    heatmap(
        ax,
        matrix,
        [STATE_FEATURES[i] for i in binary],
        list(ACTION_NAMES),
        f"Mean Q per action where a binary feature is on ({len(states)} states, greedy)",
        fmt="{:.1f}",
    )
    for row, best in enumerate(matrix.argmax(axis=1)):
        ax.add_patch(plt.Rectangle((best - 0.5, row - 0.5), 1, 1, fill=False, edgecolor="red", lw=1.5))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(args: Args) -> list[Path]:
    if not args.runs:
        raise SystemExit("give at least one run directory")
    out = args.out or args.runs[0]
    out.mkdir(parents=True, exist_ok=True)
    groups: dict[str, list[list[dict]]] = defaultdict(list)
    all_episodes = []
    for run in args.runs:
        episodes, _ = read_metrics(run)
        summary = json.loads((run / "summary.json").read_text())
        groups[summary["algo"]].append(episodes)
        all_episodes.append(episodes)
    written = [
        out / "learning_curves.png",
        out / "actions_by_persona.png",
        out / "actions_over_training.png",
        out / "q_values.png",
    ]
    learning_curves(groups, written[0])
    actions_by_persona([e for run in all_episodes for e in run], written[1])
    actions_over_training(all_episodes[0], written[2])
    q_values(all_episodes[0], written[3])
    checkpoint = args.runs[0] / "best.pt"
    summary = json.loads((args.runs[0] / "summary.json").read_text())
    if checkpoint.exists() and summary["env"] == "debtor":
        written.append(out / "feature_action_values.png")
        feature_action_values(checkpoint, written[-1], args.rollouts)
    for path in written:
        print(path)
    return written


if __name__ == "__main__":
    main(tyro.cli(Args, description=__doc__))
