"""Run many `training.train` jobs (seeds x settings) on a local process pool, with progress.

The multi-seed comparisons here and the ablation jobs use this one job function.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace

from tqdm import tqdm

from training.run_outputs import read_metrics
from training.train import Args, run


def run_job(args: Args) -> dict:
    """Train one run; returns its summary and its greedy-evaluation curve."""
    summary = run(replace(args, progress=False))
    _, evals = read_metrics(args.out)
    return {"summary": summary.model_dump(exclude_none=True), "evals": evals, "out": str(args.out)}


def run_many(jobs: list[Args], workers: int = 2, progress: bool = True) -> list[dict]:
    """Results in the order of `jobs`. A failed job raises after the others finished."""
    results: list[dict | None] = [None] * len(jobs)
    errors = []
    context = multiprocessing.get_context("spawn")  # torch and fork do not mix
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {pool.submit(run_job, job): i for i, job in enumerate(jobs)}
        for future in tqdm(as_completed(futures), total=len(jobs), disable=not progress, desc="runs", unit="run"):
            i = futures[future]
            try:
                results[i] = future.result()
            except Exception as exc:  # report every failure, not only the first
                errors.append(f"{jobs[i].out}: {type(exc).__name__}: {exc}")
    if errors:
        raise RuntimeError("some runs failed:\n" + "\n".join(errors))
    return results
