"""Writers of the run outputs defined in training.runs (metrics.jsonl, summary.json)."""

from __future__ import annotations

import json
from pathlib import Path

from training.runs import EpisodeRecord, EvalRecord, RunSummary


class MetricsWriter:
    """A training callback that validates each record against the contract and appends it to metrics.jsonl."""

    def __init__(self, run_dir: Path):
        run_dir.mkdir(parents=True, exist_ok=True)
        self.path = run_dir / "metrics.jsonl"
        self._file = self.path.open("w")

    def _write(self, line: str) -> None:
        self._file.write(line + "\n")
        self._file.flush()

    def on_episode(self, record: dict) -> None:
        self._write(EpisodeRecord.model_validate(record).model_dump_json(by_alias=True, exclude_none=True))

    def on_eval(self, record: dict) -> None:
        self._write(EvalRecord.model_validate(record).model_dump_json(exclude_none=True))

    def close(self) -> None:
        self._file.close()


def write_summary(run_dir: Path, summary: RunSummary) -> Path:
    path = run_dir / "summary.json"
    path.write_text(summary.model_dump_json(indent=2, exclude_none=True) + "\n")
    return path


def read_metrics(run_dir: Path) -> tuple[list[dict], list[dict]]:
    """(episode records, eval records) of a run directory."""
    episodes, evals = [], []
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        (episodes if record["kind"] == "episode" else evals).append(record)
    return episodes, evals
