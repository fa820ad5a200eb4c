"""Statistics shared by the multi-seed comparisons, ablations and curricula: means with 95 % CIs, learning-curve
bands, episodes to target and a significance test."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from scipy import stats as scipy_stats

CONFIDENCE = 0.95


def mean_ci(values: Sequence[float], confidence: float = CONFIDENCE) -> dict:
    """Mean and the Student-t confidence interval over seeds (n = 1 gives a zero-width interval)."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        raise ValueError("mean_ci of no values")
    mean = float(x.mean())
    if x.size == 1:
        return {"mean": mean, "low": mean, "high": mean, "n": 1}
    half = float(scipy_stats.t.ppf(0.5 + confidence / 2, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size))
    return {"mean": mean, "low": mean - half, "high": mean + half, "n": int(x.size)}


def compare(a: Sequence[float], b: Sequence[float]) -> dict:
    """Welch's t-test and the Mann-Whitney U test of a vs b (two-sided); significant at p < 0.05 by Welch."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    with warnings.catch_warnings():  # identical samples (e.g. every run censored at the budget) warn; p is then 1
        warnings.simplefilter("ignore", RuntimeWarning)
        welch = scipy_stats.ttest_ind(a, b, equal_var=False)
        mann_whitney = scipy_stats.mannwhitneyu(a, b, alternative="two-sided")
    p = float(welch.pvalue) if np.isfinite(welch.pvalue) else 1.0
    return {
        "welch_t": float(welch.statistic) if np.isfinite(welch.statistic) else 0.0,
        "welch_p": p,
        "mann_whitney_u": float(mann_whitney.statistic),
        "mann_whitney_p": float(mann_whitney.pvalue),
        "significant": p < 0.05,
        "test": "Welch's t-test (two-sided), alpha 0.05; Mann-Whitney U alongside",
    }


def episodes_to_target(evals: list[dict], target: float, key: str = "eval_success_rate") -> int | None:
    """Real episodes at the first evaluation whose `key` reached the target, or None if none did."""
    for evaluation in evals:
        value = evaluation.get(key)
        if value is not None and value >= target:
            return int(evaluation["real_episodes"])
    return None


def curve_band(curves: list[list[dict]], key: str = "eval_success_rate") -> dict:
    """Mean and 95 % CI of `key` at each evaluation point shared by every seed's curve."""
    points = sorted(set.intersection(*({e["real_episodes"] for e in c} for c in curves)))
    by_point = [[next(e[key] for e in c if e["real_episodes"] == p) for c in curves] for p in points]
    bands = [mean_ci(values) for values in by_point]
    return {
        "real_episodes": points,
        "mean": [b["mean"] for b in bands],
        "low": [b["low"] for b in bands],
        "high": [b["high"] for b in bands],
    }


def ratio_ci(a: Sequence[float], b: Sequence[float], confidence: float = CONFIDENCE, seed: int = 0) -> dict:
    """mean(a) / mean(b) and its percentile bootstrap interval, seeds resampled within each group (10,000 draws)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    result = scipy_stats.bootstrap(
        (a, b),
        lambda x, y, axis: x.mean(axis=axis) / y.mean(axis=axis),
        vectorized=True,
        paired=False,
        n_resamples=10_000,
        confidence_level=confidence,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    interval = result.confidence_interval
    return {"ratio": float(a.mean() / b.mean()), "low": float(interval.low), "high": float(interval.high)}
