"""Jobs per minute on Ray with 1 and 2 workers (a real local Ray cluster each time), the same training job as the
ablation grid. `python -m benchmarks.ablation_scale [--jobs 6] [--episodes 150]`

Writes results/ablation_scale.json, together with the wall time of the default grid if runs/ablation_default holds
its report (`python -m training.ablation --seeds 5 --workers 2 --out runs/ablation_default`).
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from training.runner import run_jobs
from training.train import Args


def jobs_per_minute(workers: int, jobs: int, episodes: int, folder: Path) -> dict:
    import ray

    shutil.rmtree(folder, ignore_errors=True)
    batch = [
        Args(
            algo="ddq",
            k=5,
            episodes=episodes,
            seed=s,
            eval_every=0,
            eval_episodes=50,
            out=folder / str(s),
            progress=False,
        )
        for s in range(jobs)
    ]
    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    try:
        started = time.perf_counter()
        _, errors = run_jobs(batch, workers, backend="ray", progress=False)
        seconds = time.perf_counter() - started
    finally:
        ray.shutdown()
    return {
        "workers": workers,
        "jobs": jobs,
        "episodes_per_job": episodes,
        "seconds": round(seconds, 1),
        "jobs_per_minute": round(60 * jobs / seconds, 2),
        "failed": len(errors),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=6)
    parser.add_argument("--episodes", type=int, default=150)
    parser.add_argument("--out", type=Path, default=Path("results/ablation_scale.json"))
    args = parser.parse_args()
    report = {
        "ray": [jobs_per_minute(w, args.jobs, args.episodes, Path("runs/ablation_scale") / f"w{w}") for w in (1, 2)]
    }
    default = Path("runs/ablation_default/results.json")
    if default.exists():
        grid = json.loads(default.read_text())
        report["default_grid"] = {
            "jobs": grid["jobs"],
            "workers": grid["workers"],
            "backend": grid["backend"],
            "wall_seconds": grid["wall_seconds_total"],
            "per_cell_mean_job_seconds": {
                name: round(c["wall_seconds"]["mean"], 1) for name, c in grid["cells"].items()
            },
        }
    report["command"] = f"python -m benchmarks.ablation_scale --jobs {args.jobs} --episodes {args.episodes}"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
