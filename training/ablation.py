"""Ablation grids: every cell x seed is an independent `training.train` job.

    python -m training.ablation (--config FILE.toml | --grid "algo=ddq k=2,5,10 real_ratio=0.5,0.75,0.9
        world_model=mlp") --seeds 5 --workers N [--backend local|ray] [--ray-address ADDR] --out DIR

DQN runs once per seed as the reference (it is not crossed with K or real_ratio). Each job gets the same budget of
real episodes (default 400: DQN reaches the 60 % target in about 200). Finished jobs are skipped on a rerun; a failed
job is reported and the others go on. Writes DIR/results.json, DIR/report.md and PNGs (learning curves with seed
bands, action shares per persona). A TOML config holds a [grid] table of lists and optional scalar settings
(seeds, episodes, eval_every, eval_episodes).
"""

from __future__ import annotations

import itertools
import json
import time
import tomllib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import tyro

from training.report import actions_by_persona
from training.run_outputs import read_metrics
from training.runner import run_jobs
from training.runs import TARGET_SUCCESS_RATE
from training.stats import compare, curve_band, episodes_to_target, mean_ci
from training.train import Args as TrainArgs

DEFAULT_GRID = "algo=ddq k=2,5,10 real_ratio=0.5,0.75,0.9 world_model=mlp"


def parse_bool(value: str | bool) -> bool:
    """`true` or `false` from --grid, or a TOML boolean."""
    if isinstance(value, bool):
        return value
    if value not in ("true", "false"):
        raise ValueError(f"expected true or false, got {value!r}")
    return value == "true"


GRID_KEYS = {
    "algo": str,
    "k": int,
    "real_ratio": float,
    "world_model": str,
    "horizon": int,
    "lr": float,
    "planning_updates": parse_bool,
}


@dataclass
class Args:
    grid: str | None = None
    """cells as key=v1,v2 ... (keys: algo, k, real_ratio, world_model, horizon, lr, planning_updates=true,false);
    default: the standard grid"""
    config: Path | None = None
    """a TOML file with a [grid] table instead of --grid"""
    seeds: int = 5
    episodes: int = 400
    eval_every: int = 25
    eval_episodes: int = 200
    workers: int = 2
    backend: Literal["local", "ray"] = "local"
    ray_address: str | None = None
    out: Path = Path("runs/ablation")
    progress: bool = True


def parse_grid(text: str) -> dict[str, list]:
    grid: dict[str, list] = {}
    for part in text.split():
        key, _, values = part.partition("=")
        if key not in GRID_KEYS or not values:
            raise ValueError(f"bad grid entry {part!r}: use key=v1,v2 with key in {sorted(GRID_KEYS)}")
        grid[key] = [GRID_KEYS[key](v) for v in values.split(",")]
    return grid


def cells_of(grid: dict[str, list]) -> list[dict]:
    """The DQN reference plus every combination of the grid (DQN is never crossed with DDQ settings)."""
    keys = list(grid)
    cells = [{"algo": "dqn"}]
    for combo in itertools.product(*(grid[k] for k in keys)):
        cell = dict(zip(keys, combo, strict=True))
        if cell.get("algo", "ddq") != "dqn":
            cells.append({"algo": "ddq", **cell})
    return cells


def cell_name(cell: dict) -> str:
    if cell["algo"] == "dqn":
        return "dqn"
    return "ddq_" + "_".join(f"{k}{v}" for k, v in cell.items() if k != "algo")


def jobs_for(
    cells: list[dict], seeds: int, episodes: int, eval_every: int, eval_episodes: int, out: Path
) -> list[tuple[str, TrainArgs]]:
    jobs = []
    for cell in cells:
        settings = {k: v for k, v in cell.items() if k != "algo"}
        for seed in range(seeds):
            jobs.append(
                (
                    cell_name(cell),
                    TrainArgs(
                        algo=cell["algo"],
                        episodes=episodes,
                        seed=seed,
                        eval_every=eval_every,
                        eval_episodes=eval_episodes,
                        out=out / "runs" / cell_name(cell) / f"seed{seed}",
                        **settings,
                    ),
                )
            )
    return jobs


def summarise(name: str, runs: list[dict], budget: int) -> dict:
    reached = [episodes_to_target(r["evals"], TARGET_SUCCESS_RATE) for r in runs]
    return {
        "cell": name,
        "seeds": len(runs),
        "final_success_rate": mean_ci([r["summary"]["eval_success_rate"] for r in runs]),
        "final_recovery_rate": mean_ci([r["summary"]["eval_recovery_rate"] for r in runs]),
        "auc_success": mean_ci([float(np.mean([e["eval_success_rate"] for e in r["evals"]])) for r in runs]),
        "episodes_to_target": mean_ci([e if e is not None else budget for e in reached]),
        "episodes_to_target_per_seed": reached,
        "seeds_reaching_target": sum(e is not None for e in reached),
        "wall_seconds": mean_ci([r["summary"]["wall_seconds"] for r in runs]),
        "curve": curve_band([r["evals"] for r in runs]),
    }


def comparisons(by_cell: dict[str, list[dict]], reference: str, budget: int) -> dict:
    """Every other cell against the reference: final success, AUC and episodes to target (Welch, alpha 0.05)."""

    def metric(runs: list[dict], key: str) -> list[float]:
        if key == "final":
            return [r["summary"]["eval_success_rate"] for r in runs]
        if key == "auc":
            return [float(np.mean([e["eval_success_rate"] for e in r["evals"]])) for r in runs]
        return [episodes_to_target(r["evals"], TARGET_SUCCESS_RATE) or budget for r in runs]

    out = {}
    for name, runs in by_cell.items():
        if name != reference and len(runs) > 1 and len(by_cell[reference]) > 1:
            out[f"{name} vs {reference}"] = {
                key: compare(metric(runs, key), metric(by_cell[reference], key))
                for key in ("final", "auc", "episodes_to_target")
            }
    return out


def grouped(summaries: dict[str, dict], cells: dict[str, dict], key: str) -> dict:
    """Mean final success and episodes to target of the DDQ cells, grouped by one setting (K, real_ratio, ...)."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for name, cell in cells.items():
        if cell["algo"] != "dqn" and key in cell and name in summaries:
            groups[str(cell[key])].append(summaries[name])
    return {
        value: {
            "cells": len(rows),
            "final_success_rate": float(np.mean([r["final_success_rate"]["mean"] for r in rows])),
            "episodes_to_target": float(np.mean([r["episodes_to_target"]["mean"] for r in rows])),
        }
        for value, rows in sorted(groups.items(), key=lambda item: _numeric_first(item[0]))
    }


def _numeric_first(value: str) -> tuple:
    try:
        return (0, float(value), "")
    except ValueError:
        return (1, 0.0, value)


def plot_curves(summaries: dict[str, dict], path: Path, title: str) -> None:
    fig, ax = plt.subplots(figsize=(10, 5.5))
    for colour, (name, summary) in zip(itertools.cycle(plt.cm.tab20.colors), summaries.items(), strict=False):
        band = summary["curve"]
        ax.plot(band["real_episodes"], band["mean"], color=colour, label=name, lw=2 if name == "dqn" else 1)
        ax.fill_between(band["real_episodes"], band["low"], band["high"], color=colour, alpha=0.12)
    ax.axhline(TARGET_SUCCESS_RATE, color="grey", ls="--", label="target")
    ax.set(xlabel="real episodes", ylabel="validation success (greedy)", ylim=(0, 1), title=title)
    ax.legend(fontsize=7, ncol=2, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(out: Path, title: str, summaries: dict[str, dict], tests: dict, groups: dict, extra: dict) -> None:
    lines = [
        f"# {title}",
        "",
        f"Target success rate {TARGET_SUCCESS_RATE:.0%}; 95 % confidence intervals over seeds "
        "(Student t); a run that never reaches the target counts as the budget. Significance: Welch's t-test, "
        "two-sided, alpha 0.05 (Mann-Whitney U in results.json).",
        "",
        "| cell | seeds | final success | final recovery | AUC (mean validation success) | episodes to target "
        "| reached | wall s |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def ci(d: dict, pct: bool = True) -> str:
        return (
            f"{d['mean']:.1%} [{d['low']:.1%}, {d['high']:.1%}]"
            if pct
            else f"{d['mean']:.0f} [{d['low']:.0f}, {d['high']:.0f}]"
        )

    for name, s in summaries.items():
        lines.append(
            f"| {name} | {s['seeds']} | {ci(s['final_success_rate'])} | {ci(s['final_recovery_rate'])} | "
            f"{ci(s['auc_success'])} | {ci(s['episodes_to_target'], pct=False)} | "
            f"{s['seeds_reaching_target']}/{s['seeds']} | {s['wall_seconds']['mean']:.0f} |"
        )
    lines += [
        "",
        "## Differences",
        "",
        "| comparison | final success p | AUC p | episodes-to-target p | significant |",
        "|---|---|---|---|---|",
    ]
    for label, t in tests.items():
        significant = [k for k, v in t.items() if v["significant"]]
        lines.append(
            f"| {label} | {t['final']['welch_p']:.3f} | {t['auc']['welch_p']:.3f} | "
            f"{t['episodes_to_target']['welch_p']:.3f} | {', '.join(significant) or 'none'} |"
        )
    for key, table in groups.items():
        if table:
            lines += [
                "",
                f"## By {key}",
                "",
                f"| {key} | cells | mean final success | mean episodes to target |",
                "|---|---|---|---|",
            ]
            lines += [
                f"| {v} | {g['cells']} | {g['final_success_rate']:.1%} | {g['episodes_to_target']:.0f} |"
                for v, g in table.items()
            ]
    lines += ["", "![learning curves](learning_curves.png)", "", "![actions per persona](actions_by_persona.png)", ""]
    lines += [f"- {k}: {v}" for k, v in extra.items()]
    (out / "report.md").write_text("\n".join(lines) + "\n")


def run_study(
    out: Path,
    title: str,
    named_jobs: list[tuple[str, TrainArgs]],
    cells: dict[str, dict],
    budget: int,
    reference: str | tuple[str, ...],
    workers: int,
    backend: str = "local",
    ray_address: str | None = None,
    progress: bool = True,
) -> dict:
    """Run (or resume) the jobs, then write results.json, report.md and the PNGs; shared with training.curriculum
    and benchmarks/world_models.py. Every cell is tested against each reference cell."""
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    results, errors = run_jobs(
        [job for _, job in named_jobs], workers, backend=backend, ray_address=ray_address, progress=progress
    )
    wall = time.perf_counter() - started
    previous = out / "results.json"
    total = wall + (json.loads(previous.read_text()).get("wall_seconds_total", 0.0) if previous.exists() else 0.0)
    by_cell: dict[str, list[dict]] = defaultdict(list)
    for (name, _), result in zip(named_jobs, results, strict=True):
        if result is not None:
            by_cell[name].append(result)
    summaries = {name: summarise(name, runs, budget) for name, runs in by_cell.items()}
    references = (reference,) if isinstance(reference, str) else reference
    tests = {k: v for ref in references if ref in by_cell for k, v in comparisons(by_cell, ref, budget).items()}
    groups = {key: grouped(summaries, cells, key) for key in ("k", "real_ratio", "world_model", "horizon")}
    report = {
        "title": title,
        "cells": summaries,
        "comparisons": tests,
        "groups": groups,
        "failed_jobs": errors,
        "jobs": len(named_jobs),
        "wall_seconds_this_invocation": round(wall, 1),
        "wall_seconds_total": round(total, 1),
        "backend": backend,
        "workers": workers,
    }
    (out / "results.json").write_text(json.dumps(report, indent=2) + "\n")
    plot_curves(summaries, out / "learning_curves.png", title)
    episodes = [e for runs in by_cell.values() for r in runs for e in read_metrics(Path(r["out"]))[0]]
    if episodes:
        actions_by_persona(episodes, out / "actions_by_persona.png")
    write_report(
        out,
        title,
        summaries,
        tests,
        groups,
        {
            "jobs": len(named_jobs),
            "failed": len(errors),
            "wall time of this invocation (s)": round(wall, 1),
            "wall time of all invocations (s)": round(total, 1),
        },
    )
    return report


def load_grid(args: Args) -> tuple[dict[str, list], dict]:
    if args.config is not None:
        config = tomllib.loads(args.config.read_text())
        grid = {
            k: [GRID_KEYS[k](v) for v in (vals if isinstance(vals, list) else [vals])]
            for k, vals in config.get("grid", {}).items()
        }
        unknown = set(grid) - set(GRID_KEYS)
        if unknown:
            raise ValueError(f"unknown grid keys {sorted(unknown)} in {args.config}")
        return grid, {k: v for k, v in config.items() if k != "grid"}
    return parse_grid(args.grid or DEFAULT_GRID), {}


def main(args: Args) -> dict:
    grid, settings = load_grid(args)
    seeds, episodes = settings.get("seeds", args.seeds), settings.get("episodes", args.episodes)
    cells = cells_of(grid)
    named = jobs_for(
        cells,
        seeds,
        episodes,
        settings.get("eval_every", args.eval_every),
        settings.get("eval_episodes", args.eval_episodes),
        args.out,
    )
    report = run_study(
        args.out,
        "DQN vs DDQ ablation",
        named,
        {cell_name(c): c for c in cells},
        episodes,
        "dqn",
        args.workers,
        args.backend,
        args.ray_address,
        args.progress,
    )
    print(f"{len(named)} jobs, {len(report['failed_jobs'])} failed; report: {args.out / 'report.md'}")
    return report


if __name__ == "__main__":
    main(tyro.cli(Args, description=__doc__))
