import json
import os

import pytest

from training.ablation import Args, cell_name, cells_of, load_grid, main, parse_grid
from training.curriculum_env import STAGES, WINDOW, CurriculumDebtorEnv
from training.runner import run_jobs
from training.train import Args as TrainArgs

TINY = dict(seeds=1, episodes=6, eval_every=3, eval_episodes=3, workers=2, progress=False)


def test_grid_parsing_and_cells():
    grid = parse_grid("algo=ddq k=2,5,10 real_ratio=0.5,0.75,0.9 world_model=mlp")
    assert grid == {"algo": ["ddq"], "k": [2, 5, 10], "real_ratio": [0.5, 0.75, 0.9], "world_model": ["mlp"]}
    cells = cells_of(grid)
    assert [c["algo"] for c in cells].count("dqn") == 1 and len(cells) == 10
    assert cell_name(cells[1]) == "ddq_k2_real_ratio0.5_world_modelmlp"
    with pytest.raises(ValueError, match="bad grid entry"):
        parse_grid("gamma=0.9")
    assert parse_grid("planning_updates=true,false") == {"planning_updates": [True, False]}
    with pytest.raises(ValueError, match="true or false"):
        parse_grid("planning_updates=yes")


def test_a_toml_grid_takes_booleans(tmp_path):
    config = tmp_path / "grid.toml"
    config.write_text("[grid]\nalgo = ['ddq']\nplanning_updates = [true, false]\nk = 2\n")
    grid, _ = load_grid(Args(config=config))
    assert grid == {"algo": ["ddq"], "planning_updates": [True, False], "k": [2]}


def test_failed_job_is_reported_others_finish_and_a_rerun_resumes(tmp_path):
    report = main(Args(grid="algo=ddq k=2 world_model=mlp,bogus", out=tmp_path, **TINY))
    assert len(report["failed_jobs"]) == 1 and "bogus" in next(iter(report["failed_jobs"]))
    assert set(report["cells"]) == {"dqn", "ddq_k2_world_modelmlp"}
    assert (tmp_path / "report.md").read_text().startswith("# DQN vs DDQ ablation")
    assert (tmp_path / "learning_curves.png").stat().st_size > 10_000
    summaries = sorted(tmp_path.glob("runs/*/seed0/summary.json"))
    stamps = [os.stat(p).st_mtime_ns for p in summaries]
    again = main(Args(grid="algo=ddq k=2 world_model=mlp,bogus", out=tmp_path, **TINY))
    assert [os.stat(p).st_mtime_ns for p in summaries] == stamps  # finished jobs were not rerun
    assert again["cells"]["dqn"]["final_success_rate"] == report["cells"]["dqn"]["final_success_rate"]


def test_changed_settings_are_rerun_not_reused(tmp_path):
    job = TrainArgs(episodes=4, eval_every=2, eval_episodes=2, out=tmp_path / "run", progress=False)
    (first,), _ = run_jobs([job], 1, progress=False)
    (second,), _ = run_jobs([TrainArgs(**{**job.__dict__, "episodes": 5})], 1, progress=False)
    assert first["summary"]["real_episodes"] == 4 and second["summary"]["real_episodes"] == 5


def test_curriculum_widens_the_persona_mix_when_the_threshold_is_met():
    easy = CurriculumDebtorEnv(thresholds=(0.0, 0.0, 0.0, 0.0))
    hard = CurriculumDebtorEnv(thresholds=(1.01, 1.01, 1.01, 1.01))
    seen = {id(easy): set(), id(hard): set()}
    for env in (easy, hard):
        for episode in range(WINDOW * 2):
            _, info = env.reset(seed=episode)
            seen[id(env)].add(info["persona"])
            done = False
            while not done:
                _, _, done, _, _ = env.step(3)
    assert easy.stage == 2 and easy.personas == STAGES[2] and easy.advanced_at == [WINDOW, 2 * WINDOW]
    assert seen[id(easy)] == {p.value for p in STAGES[1]}  # stage 2 begins only after the last reset
    assert hard.stage == 0 and seen[id(hard)] == {"cooperative"}


@pytest.mark.slow
def test_ray_backend_runs_the_same_jobs_with_the_same_results(tmp_path):
    import ray

    jobs = [
        TrainArgs(episodes=5, seed=s, eval_every=0, eval_episodes=3, out=tmp_path / "local" / str(s), progress=False)
        for s in range(2)
    ]
    local, errors = run_jobs(jobs, 2, progress=False)
    assert not errors
    remote_jobs = [TrainArgs(**{**j.__dict__, "out": tmp_path / "ray" / str(i)}) for i, j in enumerate(jobs)]
    try:
        remote, errors = run_jobs(remote_jobs, 2, backend="ray", progress=False)
    finally:
        ray.shutdown()
    assert not errors
    for a, b in zip(local, remote, strict=True):
        assert json.dumps(a["evals"]) == json.dumps(b["evals"])
        assert a["summary"]["eval_mean_return"] == b["summary"]["eval_mean_return"]


def test_the_ratio_of_means_has_a_bootstrap_interval_that_holds_it_and_narrows_with_more_seeds():
    from training.stats import ratio_ci

    few = ratio_ci([100, 140, 120], [200, 260, 240])
    assert few["ratio"] == pytest.approx(120 / 233.333, rel=1e-4) and few["low"] < few["ratio"] < few["high"]
    many = ratio_ci([100, 140, 120] * 10, [200, 260, 240] * 10)
    assert many["high"] - many["low"] < few["high"] - few["low"]
    assert ratio_ci([100, 140, 120], [200, 260, 240]) == few  # seeded
