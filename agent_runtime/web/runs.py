"""The console's training view: what training runs and study reports left on disk, ready to chart.

A run is a folder with `metrics.jsonl` (one JSON object per episode and per greedy evaluation) and `summary.json`,
the run-output contract of training/runs.py; the files are read as plain JSON so that the console loads no training
code. Long runs are thinned to at most MAX_POINTS points per series. Study reports (`results.json` of
`training.ablation` and `training.curriculum`) are passed through as they are.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

MAX_POINTS = 400
WINDOW = 50  # episodes in the moving averages of training success and return


def _thin(points: list, limit: int = MAX_POINTS) -> list:
    step = max(1, -(-len(points) // limit))
    return points[::step] if step > 1 else points


def _moving(values: list[float], window: int = WINDOW) -> list[float]:
    out, total = [], 0.0
    for i, value in enumerate(values):
        total += value
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def read_run(folder: Path) -> dict | None:
    """A run's series: greedy evaluations, moving averages of training episodes, actions per persona, Q-values."""
    metrics = folder / "metrics.jsonl"
    if not metrics.is_file():
        return None
    summary_file = folder / "summary.json"
    summary = json.loads(summary_file.read_text()) if summary_file.is_file() else {}
    evals, episodes = [], []
    for line in metrics.read_text().splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        (evals if record.get("kind") == "eval" else episodes).append(record)
    success = [float(bool(e.get("success"))) for e in episodes]
    returns = [float(e["return"]) for e in episodes]
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for episode in episodes:
        for action, n in episode.get("action_counts", {}).items():
            counts[episode.get("persona") or "all"][action] += n
    q_stats = [(e["real_steps"], e["q_stats"]) for e in episodes if e.get("q_stats")]
    return {
        "name": str(folder),
        "algo": summary.get("algo"),
        "env": summary.get("env"),
        "seed": summary.get("seed"),
        "eval": [
            {
                "real_episodes": e["real_episodes"],
                "success": e.get("eval_success_rate"),
                "return": e["eval_mean_return"],
            }
            for e in evals
        ],
        "training": _thin(
            [
                {"episode": i + 1, "success": s, "return": r}
                for i, (s, r) in enumerate(zip(_moving(success), _moving(returns), strict=True))
            ]
        ),
        "actions_by_persona": {persona: dict(actions) for persona, actions in sorted(counts.items())},
        "q": _thin([{"real_steps": steps, **q} for steps, q in q_stats]),  # mean, std, min, max of each episode
        "final": {key: summary.get(key) for key in ("eval_success_rate", "eval_mean_return", "real_episodes")},
    }


def find_runs(roots: list[Path], limit: int = 40) -> list[dict]:
    """Every run below the roots (a run folder holds metrics.jsonl), most recently written first."""
    folders = sorted(
        {path.parent for root in roots if root.is_dir() for path in root.rglob("metrics.jsonl")},
        key=lambda folder: (folder / "metrics.jsonl").stat().st_mtime,
        reverse=True,
    )
    return [run for folder in folders[:limit] if (run := read_run(folder))]


def find_reports(roots: list[Path]) -> list[dict]:
    """The ablation and curriculum reports below the roots (results.json next to a report.md)."""
    reports = []
    for root in roots:
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("results.json")):
            if (path.parent / "report.md").is_file():
                reports.append({"name": str(path.parent), **json.loads(path.read_text())})
    return reports
