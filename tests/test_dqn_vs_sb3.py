"""The CartPole comparison's bookkeeping: variants with list values, and the wall-time ratio seed by seed."""

from __future__ import annotations

import pytest

from benchmarks.dqn_vs_sb3 import parse_variant, summary


def test_a_variant_keeps_the_commas_of_a_list_value():
    assert parse_variant("hidden=[256,256],gamma=0.999,double_q=false") == {
        "hidden": [256, 256],
        "gamma": 0.999,
        "double_q": False,
    }
    with pytest.raises(SystemExit, match="DQNConfig fields"):
        parse_variant("hidden_units=[64]")


def test_summary_pairs_each_seeds_runs_for_the_wall_time_ratio():
    def saved(impl: str, seed: int, final: float, seconds: float) -> dict:
        return {
            "run": {"impl": impl, "preset": "speed", "seed": seed, "steps": 100, "config": {}},
            "final": final,
            "training_seconds": seconds,
        }

    report = summary([saved("project", 0, 500.0, 10.0), saved("sb3", 0, 120.0, 40.0),
                      saved("project", 1, 300.0, 30.0), saved("sb3", 1, 500.0, 60.0)])  # fmt: skip
    speed = report["speed"]
    assert speed["project"]["seeds_solved"] == "1/2" and speed["sb3"]["seeds_solved"] == "1/2"
    assert speed["wall_time_ratio_project_to_sb3"]["mean"] == pytest.approx((10 / 40 + 30 / 60) / 2)
    assert speed["project"]["training_seconds"]["mean"] == pytest.approx(20.0)
