"""Plots of training runs for people without Grafana.

    python -m training.report --runs RUN [RUN ...] [--out DIR]

Writes PNGs into DIR (default: the first run's folder):
- learning_curves.png: success and recovery (debtor runs), return and TD loss per episode with 10- and 50-episode
  moving averages; with several runs of one algorithm, the mean and a 95 % band over seeds (runs grouped by
  algorithm);
- q_values.png: the distribution of per-episode mean max-Q over training;
and from the debtor runs only (a gymnasium env such as CartPole has no personas and other actions; a note on stderr
says what was left out):
- actions_by_persona.png: the share of each action per persona;
- actions_over_training.png: the share of each action over training (exploration to exploitation);
- feature_action_values.png: for the first run's checkpoint (env debtor), the mean Q-value of each action in states
  where each binary state feature is on (greedy rollouts on validation seeds).
"""

from __future__ import annotations

import json
import sys
import warnings
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import tyro

from agent_runtime.contracts.actions import ACTION_NAMES
from agent_runtime.contracts.state import STATE_FEATURES
from training.cli import within
from training.run_outputs import read_metrics
from training.runs import VALIDATION_SEED_START
from training.train import is_debtor

WINDOWS = (10, 50)
DEBTOR_CURVES = (("success", "success rate"), ("recovery", "recovery rate"))
CURVES = (("return", "return"), ("td_loss", "TD loss"))


@dataclass
class Args:
    runs: list[Path]
    """run directories (each with metrics.jsonl and summary.json; best.pt for the feature x action heatmap)"""
    out: Path | None = None
    """folder for the PNGs (default: the first run's folder)"""
    rollouts: Annotated[int, within(int, 1)] = 200
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


def learning_curves(groups: dict[str, list[list[dict]]], path: Path, *, debtor: bool) -> None:
    """Without debtor runs (`debtor` False) only return and TD loss: other envs have no success or recovery."""
    keys = [*DEBTOR_CURVES, *CURVES] if debtor else list(CURVES)
    fig, axes = plt.subplots(len(keys) // 2, 2, figsize=(12, 3.5 * (len(keys) // 2)), sharex=True)
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


def consecutive_chunks(count: int, bins: int) -> list[np.ndarray]:
    """range(count) cut into `bins` consecutive chunks, fewer for a run shorter than that: none is empty."""
    return np.array_split(np.arange(count), min(bins, count))


def actions_over_training(episodes: list[dict], path: Path, bins: int = 10) -> None:
    chunks = consecutive_chunks(len(episodes), bins)
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
    for chunk in consecutive_chunks(len(episodes), bins):
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


def read_run(run: Path) -> tuple[dict, list[dict]]:
    """A run's summary and episode records; a folder that holds no finished run is refused in one line."""
    if not (run / "summary.json").is_file() or not (run / "metrics.jsonl").is_file():
        raise SystemExit(f"error: {run} holds no finished training run (metrics.jsonl and summary.json)")
    episodes, _ = read_metrics(run)
    return json.loads((run / "summary.json").read_text()), episodes


def main(args: Args) -> list[Path]:
    if not args.runs:
        raise SystemExit("error: --runs: give at least one run directory")
    runs = [read_run(run) for run in args.runs]
    first_summary, first_episodes = runs[0]
    out = args.out or args.runs[0]
    out.mkdir(parents=True, exist_ok=True)
    groups: dict[str, list[list[dict]]] = defaultdict(list)
    for summary, episodes in runs:
        groups[summary["algo"]].append(episodes)
    debtor_runs = [episodes for summary, episodes in runs if is_debtor(summary["env"])]
    written = [out / "learning_curves.png"]
    learning_curves(groups, written[-1], debtor=bool(debtor_runs))
    if debtor_runs:
        written += [out / "actions_by_persona.png", out / "actions_over_training.png"]
        actions_by_persona([e for run in debtor_runs for e in run], written[-2])
        actions_over_training(debtor_runs[0], written[-1])
    written.append(out / "q_values.png")
    q_values(first_episodes, written[-1])
    checkpoint = args.runs[0] / "best.pt"
    if checkpoint.exists() and first_summary["env"] == "debtor":
        written.append(out / "feature_action_values.png")
        feature_action_values(checkpoint, written[-1], args.rollouts)
    others = sorted({summary["env"] for summary, _ in runs if not is_debtor(summary["env"])})
    if others:
        print(
            f"note: no actions_by_persona.png, actions_over_training.png or feature_action_values.png for the "
            f"{', '.join(others)} runs: their env has no debtor personas or actions",
            file=sys.stderr,
        )
    for path in written:
        print(path)
    return written


if __name__ == "__main__":
    main(tyro.cli(Args, description=__doc__))
