"""Train DQN or DDQ on the debtor simulator or any gymnasium env with Box observations and Discrete actions.

    python -m training.train --algo dqn|ddq --env debtor|gymnasium:ENV_ID [--k 5 --real-ratio 0.75 --horizon 1
        --world-model mlp --lr ...] (--episodes N | --steps N) --seed S --out RUN_DIR

Writes RUN_DIR/metrics.jsonl, RUN_DIR/summary.json and RUN_DIR/checkpoint.pt (see training.runs
and policy.metadata).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Annotated, Literal

import gymnasium as gym
import tyro

from agent_runtime.contracts.actions import ACTION_NAMES
from agent_runtime.contracts.state import CHECKPOINT_SPACES
from agent_runtime.policy_source import load_policy
from agent_runtime.settings import load_settings
from policy.checkpoint import save_checkpoint
from policy.ddq import DDQConfig, train_ddq
from policy.dqn import DQNConfig, TrainingCallback, TrainResult, config_dict, train
from policy.metadata import CheckpointMetadata, WorldModelMetadata
from policy.world_models import WORLD_MODELS
from simulator.env import DebtorEnv
from simulator.personas import Persona
from training.cli import Seed, WordErrorRate, within
from training.debtor_dyna import train_debtor_ddq
from training.debtor_model import DebtorModel
from training.evaluate import greedy_evaluator
from training.run_outputs import MetricsWriter, write_summary
from training.runs import TARGET_SUCCESS_RATE, VALIDATION_EPISODES, VALIDATION_SEED_START, RunSummary
from training.stats import episodes_to_target

DEBTOR_INFO_KEYS = ("success", "recovery", "outcome", "persona")
DEBTOR_MODEL = DebtorModel.kind
SIMULATED_DEBTOR = "simulator"  # a perfect debtor model: the ceiling of what DDQ can get from one (a diagnostic)

# Per-environment defaults; command-line flags override them.
PRESETS: dict[str, dict] = {
    "debtor": {"eval_every_episodes": 100, "eval_episodes": VALIDATION_EPISODES, "eval_seed": VALIDATION_SEED_START},
    # Soft (Polyak) target updates after every gradient step, as in PyTorch's DQN tutorial: with RL Zoo's hard
    # updates every 10 steps and 128 gradient steps per 256 env steps, runs here oscillated and missed 475 at 100k
    # steps. To make the final weights hold what was learned (benchmarks/dqn_vs_sb3.py): the buffer keeps the whole
    # run, so the early failures that ground the values stay once episodes reach 500 steps; one gradient step per 4
    # env steps instead of 1, so the network chases its own latest data less; and the learning rate decays to a
    # floor, so the last updates no longer move the policy. With gamma 0.99 and 128 units most runs sat for 40-60k
    # steps at episodes of about 120 steps, and some had not left that plateau by 100k; at gamma 0.999 the failure
    # that ends such an episode weighs 0.89 from 120 steps away instead of 0.3, and with 256 units (RL Zoo's width)
    # 9 of 10 seeds held 475 at the end (docs/experiments.md, "CartPole").
    "gymnasium:CartPole-v1": {
        "learning_rate": 1e-3,
        "end_learning_rate": 1e-5,
        "batch_size": 128,
        "buffer_size": 100_000,
        "learning_starts": 1000,
        "target_update_interval": 4,
        "tau": 0.005,
        "train_frequency": 4,
        "gradient_steps": 1,
        "exploration_fraction": 0.1,
        "end_epsilon": 0.05,
        "gamma": 0.999,
        "hidden": (256, 256),
        "eval_episodes": 100,
        "eval_seed": 10_000,
    },
}


@dataclass
class Args:
    algo: Literal["dqn", "ddq"] = "dqn"
    env: str = "debtor"
    """debtor, debtor-curriculum (persona stages, see training.curriculum_env), or gymnasium:ENV_ID"""
    episodes: Annotated[int | None, within(int, 1)] = None
    """budget in real episodes (give this or --steps)"""
    steps: Annotated[int | None, within(int, 1)] = None
    """budget in real env steps (give this or --episodes)"""
    seed: Seed = 0
    out: Path = Path("runs/latest")
    lr: Annotated[float | None, within(float, 0, low_open=True)] = None
    gamma: Annotated[float | None, within(float, 0, 1)] = None
    """discount factor (default: the trainer's)"""
    advantage_learning: Annotated[float | None, within(float, 0, 1)] = None
    """advantage-learning coefficient (policy.dqn.DQNConfig.advantage_learning; default 0, plain double DQN)"""
    start_epsilon: Annotated[float | None, within(float, 0, 1)] = None
    """exploration at the start (default 1.0; lower it when fine-tuning from --init)"""
    init: Path | None = None
    """warm start: begin from this checkpoint's Q-network (it must match the env and --hidden sizes)"""
    k: Annotated[int, within(int, 0)] = 5
    real_ratio: Annotated[float, within(float, 0, 1, low_open=True)] = 0.75
    horizon: Annotated[int, within(int, 1)] = 1
    world_model: str = "mlp"
    """what DDQ imagines with: a model of the next state (policy.world_models: mlp, ensemble, ...) or, on the debtor
    env, `debtor`: the debtor model of training.debtor_model (the engine, DST and reward stay exact); `debtor:N` an
    ensemble of N that drops imagined turns where its members disagree; `simulator`: the simulated debtor itself, a
    perfect debtor model (a diagnostic: what DDQ could gain from the best possible model)"""
    learning_starts: Annotated[int | None, within(int, 0)] = None
    """real steps before the first gradient step (default per env)"""
    gradient_steps: Annotated[int | None, within(int, 1)] = None
    """gradient steps per training phase (default per env; DDQ with --planning-updates multiplies it by 1 + K)"""
    world_model_refit_every: Annotated[int | None, within(int, 1)] = None
    """DDQ: real steps between refits of the world model (default: the model's own, 250 for the next-state models,
    500 for the debtor model)"""
    planning_updates: bool = False
    """DDQ: K extra gradient steps per real step, as Peng et al. (by default the learner's own steps, on mixed
    batches: see policy.ddq.DDQConfig.planning_updates)"""
    eval_every: Annotated[int | None, within(int, 0)] = None
    """greedy evaluation every N real episodes (default per env; 0: only at the end)"""
    eval_episodes: Annotated[int | None, within(int, 1)] = None
    stt_noise: WordErrorRate = 0.0
    """word error rate of STT-style noise in the simulated debtor's text"""
    personas: tyro.conf.EnumChoicesFromValues[tuple[Persona, ...] | None] = None
    """debtor env: training calls draw their persona uniformly from this list (repeat one to weight it, e.g.
    cooperative cooperative sad avoidant angry); default all four once. Greedy evaluations always use all four."""
    warm_start: Annotated[int, within(int, 0)] = 0
    """debtor env: this many calls of the best-practice script (scripted:best_practice) fill the replay buffer before
    training, the same calls for every seed (Deep Dyna-Q's warm start; DDQ's debtor model learns from them too)"""
    snapshots: bool = False
    """also save the weights at every greedy evaluation (RUN/snapshots/episodeNNNNNN.pt) for later selection"""
    pushgateway: str | None = None
    """push training metrics to this Pushgateway (default: $PUSHGATEWAY_URL; none when unset)"""
    progress: bool = True


def best_practice() -> Callable:
    """The best-practice script's choice for a state (it keeps nothing per call), for --warm-start."""
    script = load_policy("scripted:best_practice").new_call(0)
    return lambda state: script.act(state)[0]


def is_debtor(env_id: str) -> bool:
    return env_id in ("debtor", "debtor-curriculum")


def env_factory(
    env_id: str, stt_noise: float = 0.0, personas: tuple[Persona, ...] | None = None
) -> Callable[[], gym.Env]:
    if personas and env_id != "debtor":
        raise ValueError(f"--personas applies to the debtor env, not {env_id!r}")
    if env_id == "debtor":
        return lambda: DebtorEnv(stt_noise=stt_noise, personas=personas)
    if env_id == "debtor-curriculum":
        from training.curriculum_env import CurriculumDebtorEnv

        return lambda: CurriculumDebtorEnv(stt_noise=stt_noise)
    if env_id.startswith("gymnasium:"):
        name = env_id.split(":", 1)[1]
        return lambda: gym.make(name)
    raise ValueError(f"unknown env {env_id!r}: use debtor or gymnasium:ENV_ID")


# Optional Args fields and the config fields they override when given.
CONFIG_OPTIONS = {
    "lr": "learning_rate",
    "gamma": "gamma",
    "advantage_learning": "advantage_learning",
    "start_epsilon": "start_epsilon",
    "learning_starts": "learning_starts",
    "eval_every": "eval_every_episodes",
    "eval_episodes": "eval_episodes",
    "warm_start": "warm_start_episodes",
    "gradient_steps": "gradient_steps",
    "world_model_refit_every": "world_model_train_interval",
}


def build_config(args: Args) -> DQNConfig:
    cls = DDQConfig if args.algo == "ddq" else DQNConfig
    values = dict(PRESETS.get("debtor" if is_debtor(args.env) else args.env, {}))
    values.update(seed=args.seed, total_episodes=args.episodes, total_steps=args.steps)
    for option, key in CONFIG_OPTIONS.items():
        if getattr(args, option) is not None:
            values[key] = getattr(args, option)
    if cls is DDQConfig:
        values.update(
            k=args.k,
            real_ratio=args.real_ratio,
            horizon=args.horizon,
            world_model=args.world_model,
            planning_updates=args.planning_updates,
        )
    known = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in values.items() if k in known})


def run(args: Args, callbacks: tuple[TrainingCallback, ...] = ()) -> RunSummary:
    """Train, then write the run outputs; `callbacks` receive every episode and eval record (telemetry)."""
    config = build_config(args)
    make_env = env_factory(args.env, args.stt_noise, args.personas)
    writer = MetricsWriter(args.out)
    ddq = args.algo == "ddq"
    telemetry = training_metrics(
        args.algo,
        args.seed,
        args.k if ddq else 0,
        args.real_ratio if ddq else 1.0,
        args.world_model if ddq else "none",
        simulated=is_debtor(args.env),
        pushgateway=args.pushgateway,
    )
    callbacks = (*callbacks, telemetry) if telemetry else callbacks
    debtor = is_debtor(args.env)
    extras = (
        {
            "action_names": ACTION_NAMES,
            "info_keys": DEBTOR_INFO_KEYS,
            "evaluate": greedy_evaluator(config.eval_episodes, config.eval_seed, args.stt_noise),
        }
        if debtor
        else {}
    )
    extras["keep_snapshots"] = args.snapshots
    if args.warm_start:
        extras["warm_start"] = best_practice()
    if args.init is not None:
        extras["initial_weights"] = initial_weights(args)
    try:
        if isinstance(config, DDQConfig):
            options = {"callbacks": (writer, *callbacks), "progress": args.progress, **extras}
            if (debtor_options := debtor_imagination(config.world_model)) is not None:
                if args.world_model_refit_every is not None:
                    debtor_options["refit_every"] = args.world_model_refit_every
                result, imagination = train_debtor_ddq(
                    config, stt_noise=args.stt_noise, personas=args.personas, **debtor_options, **options
                )
            else:
                result, imagination = train_ddq(make_env, config, **options)
            world_model = imagination.model
        else:
            result = train(make_env, config, callbacks=(writer, *callbacks), progress=args.progress, **extras)
            world_model = None
    finally:
        writer.close()
    world_state = world_model.state_dict() if world_model is not None else None
    best_metadata = checkpoint_metadata(args, config, result, world_model)
    best_metadata.provenance.update(
        selected_at_real_episodes=result.best_eval["real_episodes"], selected_by="highest validation mean return"
    )
    if world_model is not None:  # one world model per run: the selected Q-weights travel with the final model
        best_metadata.provenance["world_model_at_real_episodes"] = result.real_episodes
    save_checkpoint(args.out / "best.pt", best_metadata, result.best_state, world_state)
    for evaluation, weights in result.snapshots:
        snapshot = best_metadata.model_copy(deep=True)
        snapshot.provenance.update(selected_at_real_episodes=evaluation["real_episodes"], selected_by="snapshot")
        path = args.out / "snapshots" / f"episode{evaluation['real_episodes']:06d}.pt"
        save_checkpoint(path, snapshot, weights, world_state)
    checkpoint = save_checkpoint(
        args.out / "checkpoint.pt",
        checkpoint_metadata(args, config, result, world_model),
        result.learner.q_network.state_dict(),
        world_state,
    )
    summary = RunSummary(
        algo=args.algo,
        env=args.env,
        seed=args.seed,
        hyperparameters=config_dict(config),
        eval_episodes=result.final_eval["eval_episodes"],
        eval_mean_return=result.final_eval["eval_mean_return"],
        eval_success_rate=result.final_eval.get("eval_success_rate"),
        eval_recovery_rate=result.final_eval.get("eval_recovery_rate"),
        per_persona=result.final_eval.get("per_persona"),
        real_episodes=result.real_episodes,
        real_steps=result.real_steps,
        episodes_to_target=episodes_to_target(result.evals, TARGET_SUCCESS_RATE),
        wall_seconds=round(result.wall_seconds, 2),
        checkpoint=str(checkpoint),
    )
    write_summary(args.out, summary)
    return summary


def initial_weights(args: Args) -> dict:
    """The Q-network weights of --init, checked against this env's observation and action spaces."""
    from policy.checkpoint import load_checkpoint

    probe = env_factory(args.env, args.stt_noise)()
    obs_size, n_actions = int(probe.observation_space.shape[0]), int(probe.action_space.n)
    _, q_state, _ = load_checkpoint(args.init, **checkpoint_spaces(args.env, obs_size, n_actions))
    return q_state


def checkpoint_spaces(env_id: str, obs_size: int, n_actions: int) -> Mapping:
    """What a checkpoint for this env declares: the debtor contracts' versions, or the gymnasium env's id."""
    if is_debtor(env_id):
        return CHECKPOINT_SPACES
    return {
        "obs_spec_version": env_id,
        "action_set_version": f"{env_id}:discrete{n_actions}",
        "obs_size": obs_size,
        "n_actions": n_actions,
    }


def training_metrics(
    algo: str, seed: int, k: int, real_ratio: float, world_model: str, *, simulated: bool, pushgateway: str | None
):
    """Prometheus metrics of a run, pushed to `pushgateway` (default: PUSHGATEWAY_URL); None when neither is set."""
    url = pushgateway or load_settings().pushgateway_url
    if not url:
        return None
    from telemetry.metrics import TrainingMetrics

    labels = {"algo": algo, "seed": seed, "k": k, "real_ratio": real_ratio, "world_model": world_model}
    return TrainingMetrics(labels, simulated=simulated, pushgateway=url)


def checkpoint_metadata(args: Args, config: DQNConfig, result: TrainResult, world_model) -> CheckpointMetadata:
    obs_size, n_actions = result.learner.q_network.obs_size, result.learner.q_network.n_actions
    debtor = is_debtor(args.env)
    return CheckpointMetadata(
        algorithm=args.algo,
        hyperparameters=config_dict(config),
        **checkpoint_spaces(args.env, obs_size, n_actions),
        world_model=WorldModelMetadata.of(world_model),
        provenance={
            "source": "simulator" if debtor else args.env,
            "seed": args.seed,
            "stt_noise": args.stt_noise,
            "real_steps": result.real_steps,
            "real_episodes": result.real_episodes,
            "imagined_steps": result.imagined_steps,
            "initialised_from": str(args.init) if args.init else None,
        },
    )


def debtor_imagination(world_model: str) -> dict | None:
    """`train_debtor_ddq`'s options for a `--world-model` that imagines the debtor: `debtor` (one debtor model),
    `debtor:N` (an ensemble of N) or `simulator` (the simulated debtor itself); None for a next-state model."""
    if world_model == SIMULATED_DEBTOR:
        return {"simulated_debtor": True}
    kind, _, members = world_model.partition(":")
    if kind != DEBTOR_MODEL:
        return None
    if not members:
        return {"ensemble": 1}
    if not members.isdigit() or int(members) < 1:
        raise ValueError(f"bad --world-model {world_model!r}: use {DEBTOR_MODEL} or {DEBTOR_MODEL}:N with N >= 1")
    return {"ensemble": int(members)}


DDQ_ONLY_OPTIONS = ("k", "real_ratio", "horizon", "world_model", "world_model_refit_every", "planning_updates")


def options_away_from_default(args: Args, names: tuple[str, ...]) -> list[str]:
    """The command-line spelling of each of `names` that `args` sets to something other than its default."""
    defaults = {f.name: f.default for f in fields(Args)}
    return [f"--{name.replace('_', '-')}" for name in names if getattr(args, name) != defaults[name]]


def refuse_bad_options(args: Args) -> None:
    """What the option types cannot check, refused before the run folder is touched: one line, no traceback."""
    try:
        if (args.episodes is None) == (args.steps is None):
            raise ValueError("give one of --episodes and --steps")
        if args.algo == "dqn" and (ddq_options := options_away_from_default(args, DDQ_ONLY_OPTIONS)):
            raise ValueError(f"{', '.join(ddq_options)} only apply to --algo ddq")
        debtor = args.algo == "ddq" and debtor_imagination(args.world_model) is not None
        if args.algo == "ddq" and not debtor and args.world_model not in WORLD_MODELS:
            raise ValueError(
                f"unknown --world-model {args.world_model!r}; choose from {sorted(WORLD_MODELS)}, {DEBTOR_MODEL}, "
                f"{DEBTOR_MODEL}:N (an ensemble of N) or {SIMULATED_DEBTOR}"
            )
        if debtor and args.env != "debtor":
            raise ValueError(f"--world-model {args.world_model} imagines the debtor: it needs --env debtor")
        if args.warm_start and not is_debtor(args.env):
            raise ValueError("--warm-start plays the best-practice script: it needs a debtor env")
        env_factory(args.env, args.stt_noise, args.personas)().close()  # an unknown env id fails here
        if args.init is not None:
            initial_weights(args)  # a missing or mismatched checkpoint
    except (ValueError, ImportError, gym.error.Error) as exc:
        raise SystemExit(f"error: {exc}") from None


def main(args: Args) -> None:
    refuse_bad_options(args)
    summary = run(args)
    print(summary.model_dump_json(indent=2, exclude_none=True, exclude={"hyperparameters", "per_persona"}))


if __name__ == "__main__":
    main(tyro.cli(Args))
