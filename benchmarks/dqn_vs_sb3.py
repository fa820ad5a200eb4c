"""The project's DQN beside Stable-Baselines3's DQN on CartPole-v1: same presets, same seeds, final weights only.

    python -m benchmarks.dqn_vs_sb3 [--sb3-python /tmp/sb3env/bin/python] [--seeds 0 1 2 3 4]
        [--presets project rlzoo] [--workers 2]
    python -m benchmarks.dqn_vs_sb3 --variant double_q=false [--variant ...] --out results/cartpole_variants.json

Each run trains for its preset's budget and its FINAL weights (no best snapshot) are scored greedily on 100 episodes
seeded from 20,000 with the project's evaluator, for both implementations. Presets: `project` is the project's
CartPole preset (training/train.py) for 100k steps, `rlzoo` is RL Zoo's CartPole-v1 DQN preset for its 50k steps.

SB3 is no project dependency: it runs in its own interpreter, which runs this same file as a worker. Make one with

    python3 -m venv /tmp/sb3env && /tmp/sb3env/bin/pip install torch==2.13.0
    /tmp/sb3env/bin/pip install stable-baselines3 gymnasium tqdm

(torch first and pinned, or pip pulls a multi-GB build). Without --sb3-python, or where it cannot import
stable_baselines3, the SB3 runs are skipped with a message. Every run is saved as one file under --runs and reused
while its settings are unchanged, so an interrupted comparison resumes. Writes results/dqn_vs_sb3.json and
results/dqn_vs_sb3.png and prints a table.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import gymnasium as gym
import numpy as np

from policy.dqn import DQNConfig, mean_return_evaluator, train

ENV = "CartPole-v1"
SOLVED = 475.0
EVAL_EPISODES = 100
EVAL_SEED = 20_000
# RL Zoo's CartPole-v1 preset (rl-baselines3-zoo hyperparams/dqn.yml) in DQNConfig's names, with its budget.
RL_ZOO = {
    "learning_rate": 2.3e-3,
    "batch_size": 64,
    "buffer_size": 100_000,
    "learning_starts": 1000,
    "gamma": 0.99,
    "target_update_interval": 10,
    "tau": 1.0,
    "train_frequency": 256,
    "gradient_steps": 128,
    "exploration_fraction": 0.16,
    "end_epsilon": 0.04,
    "hidden": (256, 256),
}
BUDGETS = {"project": 100_000, "rlzoo": 50_000, "speed": 20_000}
# The learner's speed: the project's preset with one gradient step per env step, where the learner dominates.
SPEED = {"train_frequency": 1, "gradient_steps": 1}


@dataclass(frozen=True)
class Run:
    impl: str  # "project" or "sb3"
    preset: str
    seed: int
    steps: int
    config: dict  # DQNConfig fields of the preset (hidden as a list)

    def path(self, runs: Path) -> Path:
        return runs / self.preset / f"{self.impl}-seed{self.seed}.json"


def preset_config(name: str) -> dict:
    """The preset's DQNConfig fields, evaluated on the comparison's episodes and only at the end."""
    if name in ("project", "speed"):
        from training.train import PRESETS  # the project's side only: the SB3 interpreter lacks the trainer's deps

        values = dict(PRESETS[f"gymnasium:{ENV}"]) | (SPEED if name == "speed" else {})
    else:
        values = dict(RL_ZOO)
    values.update(eval_every_episodes=0, eval_episodes=EVAL_EPISODES, eval_seed=EVAL_SEED)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}


def sb3_kwargs(config: DQNConfig) -> dict:
    """SB3 DQN's arguments for the same settings. Both count target_update_interval and train_frequency in env
    steps and both use Huber loss, gradient-norm clipping and a linear epsilon over a fraction of the budget; what
    SB3 has no switch for is refused, not dropped. SB3's targets are plain max-Q, the project's double-Q."""
    if config.advantage_learning:
        raise ValueError("SB3's DQN has no advantage learning")
    schedule: float | Callable[[float], float] = config.learning_rate
    if config.end_learning_rate is not None:
        start, end = config.learning_rate, config.end_learning_rate

        def schedule(remaining: float) -> float:  # SB3 passes the fraction of the budget left, 1 -> 0
            return end + (start - end) * remaining

    return {
        "learning_rate": schedule,
        "buffer_size": config.buffer_size,
        "learning_starts": config.learning_starts,
        "batch_size": config.batch_size,
        "tau": config.tau,
        "gamma": config.gamma,
        "train_freq": config.train_frequency,
        "gradient_steps": config.gradient_steps,
        "target_update_interval": config.target_update_interval,
        "exploration_fraction": config.exploration_fraction,
        "exploration_initial_eps": config.start_epsilon,
        "exploration_final_eps": config.end_epsilon,
        "max_grad_norm": config.max_grad_norm,
        "policy_kwargs": {"net_arch": list(config.hidden)},
    }


# ------------------------------------------------------------------------------------ WORKERS (one run each)
def train_project(config: DQNConfig) -> tuple[float, list[tuple[int, float]], float]:
    episodes: list[tuple[int, float]] = []

    class Curve:
        def on_episode(self, record: dict) -> None:
            episodes.append((record["real_steps"], record["return"]))

        def on_eval(self, record: dict) -> None:
            pass

    result = train(lambda: gym.make(ENV), config, callbacks=(Curve(),))
    return result.final_eval["eval_mean_return"], episodes, result.training_seconds


def train_sb3(config: DQNConfig) -> tuple[float, list[tuple[int, float]], float]:
    import time

    import torch
    from stable_baselines3 import DQN
    from stable_baselines3.common.callbacks import BaseCallback

    torch.set_num_threads(1)
    episodes: list[tuple[int, float]] = []

    class Curve(BaseCallback):
        def _on_step(self) -> bool:
            for info in self.locals["infos"]:
                if "episode" in info:  # SB3 wraps the env in a Monitor
                    episodes.append((self.num_timesteps, float(info["episode"]["r"])))
            return True

    start = time.perf_counter()  # like the project's training_seconds: from building the learner to the last step
    model = DQN("MlpPolicy", gym.make(ENV), seed=config.seed, device="cpu", **sb3_kwargs(config))
    model.learn(config.total_steps, callback=Curve())
    seconds = time.perf_counter() - start
    evaluate = mean_return_evaluator(lambda: gym.make(ENV), config.eval_episodes, config.eval_seed)
    return evaluate(lambda obs: int(model.predict(obs, deterministic=True)[0]))["eval_mean_return"], episodes, seconds


def worker(spec: str, out: Path) -> None:
    run = Run(**json.loads(spec))
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in run.config.items()}
    config = DQNConfig(seed=run.seed, total_steps=run.steps, **values)
    final, episodes, seconds = (train_sb3 if run.impl == "sb3" else train_project)(config)
    out.parent.mkdir(parents=True, exist_ok=True)
    record = {"run": asdict(run), "final": final, "training_seconds": seconds, "episodes": episodes}
    out.write_text(json.dumps(record) + "\n")


# ------------------------------------------------------------------------------------------- COMPARISON
def sb3_available(python: str | None) -> bool:
    if python is None:
        print("SB3 skipped: no --sb3-python given (see this script's docstring to make an SB3 interpreter)")
        return False
    probe = subprocess.run([python, "-c", "import stable_baselines3, tqdm, torch"], capture_output=True, text=True)
    if probe.returncode != 0:
        print(f"SB3 skipped: {python} cannot import stable_baselines3, tqdm and torch:\n{probe.stderr.strip()}")
        return False
    return True


def load(run: Run, runs: Path) -> dict | None:
    """The saved result of exactly this run, or None (missing, or made with other settings)."""
    path = run.path(runs)
    if not path.exists():
        return None
    saved = json.loads(path.read_text())
    return saved if saved["run"] == json.loads(json.dumps(asdict(run))) else None


def parse_variant(text: str) -> dict:
    """FIELD=VALUE[,FIELD=VALUE] of DQNConfig fields; each value as JSON (false, 1.0) or else as text."""
    changes = {}
    for change in re.split(r",(?![^\[]*\])", text):  # commas inside [...] belong to a list value
        field, _, value = change.partition("=")
        if field not in {f.name for f in fields(DQNConfig)} or not value:
            raise SystemExit(f"error: --variant {text!r}: use FIELD=VALUE[,FIELD=VALUE] with DQNConfig fields")
        try:
            changes[field] = json.loads(value)
        except ValueError:
            changes[field] = value
    return changes


def execute(run: Run, python: str, runs: Path) -> None:
    spec = json.dumps(asdict(run))
    from agent_runtime.settings import environment_for_child  # here: the SB3 interpreter never runs this

    env = environment_for_child(OMP_NUM_THREADS="1")  # small networks: one thread per run, runs side by side
    command = [python, "-m", "benchmarks.dqn_vs_sb3", "--worker", spec, "--worker-out", str(run.path(runs))]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{run.impl} {run.preset} seed {run.seed} failed:\n{done.stderr[-3000:]}")


def summary(results: list[dict]) -> dict:
    from training.stats import mean_ci

    report: dict = {}
    for saved in results:
        run = saved["run"]
        preset = report.setdefault(run["preset"], {"steps": run["steps"], "config": run["config"]})
        row = preset.setdefault(run["impl"], {"final_per_seed": {}, "training_seconds_per_seed": {}})
        row["final_per_seed"][str(run["seed"])] = saved["final"]
        row["training_seconds_per_seed"][str(run["seed"])] = saved["training_seconds"]
    for preset in report.values():
        for impl in ("project", "sb3"):
            if impl in preset:
                scores = list(preset[impl]["final_per_seed"].values())
                preset[impl]["final"] = mean_ci(scores)
                preset[impl]["seeds_solved"] = f"{sum(s >= SOLVED for s in scores)}/{len(scores)}"
                preset[impl]["training_seconds"] = mean_ci(list(preset[impl]["training_seconds_per_seed"].values()))
        if "sb3" in preset:  # seed by seed: the runs of one seed ran side by side, so they shared the machine alike
            project, sb3 = (preset[impl]["training_seconds_per_seed"] for impl in ("project", "sb3"))
            preset["wall_time_ratio_project_to_sb3"] = mean_ci([project[seed] / sb3[seed] for seed in project])
    return report


def table(report: dict) -> str:
    lines = [f"{'preset':8} {'impl':8} {'solved':>6} {'mean':>7} {'train s':>8}  final weights per seed"]
    for name, preset in report.items():
        for impl in ("project", "sb3"):
            if impl in preset:
                row = preset[impl]
                seeds = "  ".join(f"{s}:{v:6.1f}" for s, v in row["final_per_seed"].items())
                lines.append(
                    f"{name:8} {impl:8} {row['seeds_solved']:>6} {row['final']['mean']:7.1f} "
                    f"{row['training_seconds']['mean']:8.1f}  {seeds}"
                )
        if "wall_time_ratio_project_to_sb3" in preset:
            ratio = preset["wall_time_ratio_project_to_sb3"]
            lines.append(
                f"{name:8} wall time project / SB3: {ratio['mean']:.2f} [{ratio['low']:.2f}, {ratio['high']:.2f}]"
            )
    return "\n".join(lines)


def plot(results: list[dict], presets: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"project": "tab:blue", "sb3": "tab:orange"}
    figure, axes = plt.subplots(len(presets), 2, figsize=(12, 3.6 * len(presets)), squeeze=False)
    for row, name in enumerate(presets):
        curves, finals = axes[row]
        runs = [r for r in results if r["run"]["preset"] == name]
        for saved in runs:
            steps, returns = np.array(saved["episodes"]).T
            window = 20  # training returns (with exploration), mean of the last 20 episodes
            smooth = np.convolve(returns, np.ones(window) / window, mode="valid")
            curves.plot(steps[window - 1 :], smooth, color=colors[saved["run"]["impl"]], alpha=0.6, lw=1)
        curves.set(title=f"{name} preset: training returns (20-episode mean), one line per seed", xlabel="env steps")
        for impl, color in colors.items():
            curves.plot([], [], color=color, label=impl)
        curves.legend(loc="upper left")
        for offset, impl in ((-0.2, "project"), (0.2, "sb3")):
            scored = sorted((r["run"]["seed"], r["final"]) for r in runs if r["run"]["impl"] == impl)
            if scored:
                seeds, scores = zip(*scored, strict=True)
                finals.bar(np.array(seeds) + offset, scores, width=0.4, color=colors[impl], label=impl)
        finals.set_xticks(sorted({r["run"]["seed"] for r in runs}))
        finals.axhline(SOLVED, color="gray", ls="--", lw=1, label="475 (solved)")
        finals.set(title=f"{name} preset: final weights, greedy over 100 episodes", xlabel="seed", ylim=(0, 520))
        finals.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sb3-python", help="an interpreter with stable-baselines3 (default: skip SB3)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument(
        "--presets", nargs="+", choices=sorted(BUDGETS), help="default: project rlzoo; with --variant: project"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=Path, default=Path("runs/dqn_vs_sb3"))
    parser.add_argument("--out", type=Path, default=Path("results/dqn_vs_sb3.json"))
    parser.add_argument(
        "--variant",
        action="append",
        metavar="FIELD=VALUE[,FIELD=VALUE]",
        help="instead of the presets: a variant of each preset named (DQNConfig fields, JSON values, e.g. "
        "double_q=false or tau=1.0,target_update_interval=1000), the project's DQN only; repeat for several",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # internal: train one run (JSON) and save it
    parser.add_argument("--worker-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.worker_out)
        return

    from tqdm import tqdm

    interpreters = {"project": sys.executable}
    if sb3_available(args.sb3_python):
        interpreters["sb3"] = args.sb3_python
    args.presets = args.presets or (["project"] if args.variant else ["project", "rlzoo"])
    presets = {name: (BUDGETS[name], preset_config(name)) for name in args.presets}
    if args.variant:  # variants of the presets, for the project's DQN only
        presets = {
            f"{name}[{variant}]": (BUDGETS[name], preset_config(name) | parse_variant(variant))
            for name in args.presets
            for variant in args.variant
        }
        interpreters = {"project": sys.executable}
    runs = [
        Run(impl, name, seed, steps, config)
        for name, (steps, config) in presets.items()
        for seed in args.seeds
        for impl in interpreters
    ]
    todo = [run for run in runs if load(run, args.runs) is None]
    with ThreadPoolExecutor(args.workers) as pool, tqdm(total=len(runs), initial=len(runs) - len(todo)) as bar:
        futures = {pool.submit(execute, run, interpreters[run.impl], args.runs): run for run in todo}
        for future in as_completed(futures):
            future.result()
            bar.update(1)
    results = [load(run, args.runs) for run in runs]
    names = list(presets)
    report = {
        "env": ENV,
        "eval": f"final weights, greedy, {EVAL_EPISODES} episodes seeded from {EVAL_SEED}",
        "solved_threshold": SOLVED,
        "presets": summary(results),
        "command": f"python -m benchmarks.dqn_vs_sb3 --sb3-python SB3_PYTHON --seeds {' '.join(map(str, args.seeds))}"
        f" --presets {' '.join(args.presets)}" + "".join(f" --variant {variant}" for variant in args.variant or ()),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    plot(results, names, args.out.with_suffix(".png"))
    print(table(report["presets"]))
    print(f"wrote {args.out} and {args.out.with_suffix('.png')}")


if __name__ == "__main__":
    main()
