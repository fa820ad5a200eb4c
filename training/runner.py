"""Run many `training.train` jobs (seeds x settings) on a local process pool or on Ray, with progress and ETA.

The multi-seed comparisons, the ablation grid and the curriculum study all use this one job function. Finished
jobs (same settings, summary.json written) are loaded instead of rerun, so an interrupted batch resumes;
a failed job is reported and the others go on.
"""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, replace
from typing import Literal

from tqdm import tqdm

from training.run_outputs import read_metrics
from training.train import Args, run

Backend = Literal["local", "ray"]


def job_spec(args: Args) -> str:
    return json.dumps(asdict(replace(args, progress=False)), default=str, sort_keys=True)


def finished(args: Args) -> bool:
    """The run exists with exactly these settings (so it can be reused instead of rerun)."""
    spec = args.out / "job.json"
    return (args.out / "summary.json").exists() and spec.exists() and spec.read_text() == job_spec(args)


def run_job(args: Args) -> dict:
    """Train one run; returns its summary and its greedy-evaluation curve."""
    run(replace(args, progress=False))
    (args.out / "job.json").write_text(job_spec(args))
    return load_job(args)


def load_job(args: Args) -> dict:
    _, evals = read_metrics(args.out)
    summary = json.loads((args.out / "summary.json").read_text())
    return {"summary": summary, "evals": evals, "out": str(args.out)}


def _local(jobs: dict[int, Args], workers: int) -> Iterator[tuple[int, dict | Exception]]:
    context = multiprocessing.get_context("spawn")  # torch and fork do not mix
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {pool.submit(run_job, job): i for i, job in jobs.items()}
        for future in as_completed(futures):
            try:
                yield futures[future], future.result()
            except Exception as exc:  # report every failure, not only the first
                yield futures[future], exc


def _ray(jobs: dict[int, Args], workers: int, address: str | None) -> Iterator[tuple[int, dict | Exception]]:
    import ray

    if not ray.is_initialized():
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    remote = ray.remote(num_cpus=1)(run_job)
    pending = {remote.remote(job): i for i, job in jobs.items()}
    while pending:
        (done,), _ = ray.wait(list(pending), num_returns=1)
        index = pending.pop(done)
        try:
            yield index, ray.get(done)
        except Exception as exc:
            yield index, exc


def run_jobs(
    jobs: list[Args],
    workers: int = 2,
    *,
    backend: Backend = "local",
    ray_address: str | None = None,
    progress: bool = True,
) -> tuple[list[dict | None], dict[str, str]]:
    """(results in the order of `jobs`, None where a job failed; {run dir: error} of the failures)."""
    results: list[dict | None] = [None] * len(jobs)
    todo = {}
    for i, job in enumerate(jobs):
        if finished(job):
            results[i] = load_job(job)
        else:
            todo[i] = job
    errors: dict[str, str] = {}
    stream = _ray(todo, workers, ray_address) if backend == "ray" else _local(todo, workers)
    bar = tqdm(total=len(jobs), initial=len(jobs) - len(todo), disable=not progress, desc="jobs", unit="job")
    for i, outcome in stream:
        if isinstance(outcome, Exception):
            errors[str(jobs[i].out)] = f"{type(outcome).__name__}: {outcome}"
            bar.write(f"failed: {jobs[i].out}: {errors[str(jobs[i].out)]}")
        else:
            results[i] = outcome
        bar.update(1)
    bar.close()
    return results, errors


def run_many(jobs: list[Args], workers: int = 2, progress: bool = True) -> list[dict]:
    """All results in the order of `jobs`; raises if any job failed (after the others finished)."""
    results, errors = run_jobs(jobs, workers, progress=progress)
    if errors:
        raise RuntimeError("some runs failed:\n" + "\n".join(f"{k}: {v}" for k, v in errors.items()))
    return results
