"""Fit a debtor model on a policy's own calls and attach it to a copy of the policy's checkpoint.

    python -m training.attach_debtor_model --checkpoint RUN/checkpoint.pt --out OUT.pt [--calls 3000
        --heldout-calls 1000 --epsilon 0.3 --components 1 --seed 0]

The calls come from the debtor simulator with the checkpoint's greedy policy acting, a uniformly random action instead
with probability --epsilon (training.debtor_model.exploring); training calls are seeded from --seed, the held-out
ones from the diagnostic range (training.runs), so neither touches the validation or evaluation seeds. --components K
fits a mixture of K kinds of debtor (training.debtor_model), which the runtime reads with a belief per call. The model
is attached only where its held-out NLL (each turn given the acts before it) beats the class frequencies per action.
The Q-network is copied unchanged, so the policy acts exactly as before; its turns now record what it expects to hear
(`expected_reply`), and `OUT.pt@debtor:D` plans over the model (agent_runtime.debtor_planning). Writes OUT.pt and its
.safetensors twin.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import torch
import tyro

from agent_runtime.contracts.state import CHECKPOINT_SPACES
from policy.checkpoint import load_checkpoint, save_checkpoint
from policy.metadata import WorldModelMetadata
from training.cli import Seed, within
from training.debtor_model import FitConfig, Padded, collect_calls, evaluate, exploring, fit, frequency_logits
from training.runs import DIAGNOSTIC_SEED_START


@dataclass
class Args:
    checkpoint: Path
    out: Path
    calls: Annotated[int, within(int, 10)] = 3000
    heldout_calls: Annotated[int, within(int, 10)] = 1000
    epsilon: Annotated[float, within(float, 0, 1)] = 0.3
    """share of uniformly random actions in the calls the model learns from"""
    components: Annotated[int, within(int, 1)] = 1
    """kinds of debtor: 1 for one per-turn model, more for a mixture with one kind per call"""
    seed: Seed = 0


def main(args: Args) -> dict:
    metadata, q_state, _ = load_checkpoint(args.checkpoint, **CHECKPOINT_SPACES)
    choose = exploring(str(args.checkpoint), args.epsilon, args.seed)
    train = collect_calls(args.calls, args.seed, choose)
    heldout = Padded.of(collect_calls(args.heldout_calls, DIAGNOSTIC_SEED_START + args.seed, choose))
    model = fit(train, FitConfig(components=args.components, seed=args.seed))
    with torch.no_grad():
        model_nll = evaluate(model.filtered_logits(heldout), heldout)["nll_total"]
    frequency_nll = evaluate(frequency_logits(train, heldout, per_action=True), heldout)["nll_total"]
    report = {
        "calls": args.calls,
        "heldout_calls": args.heldout_calls,
        "epsilon": args.epsilon,
        "components": args.components,
        "seed": args.seed,
        "heldout_nll": round(model_nll, 4),
        "frequency_per_action_nll": round(frequency_nll, 4),
    }
    if model_nll >= frequency_nll:
        raise SystemExit(f"error: the debtor model does not beat the class frequencies on held-out calls: {report}")
    provenance = metadata.provenance | {"debtor_model": report | {"fit_on_calls_of": str(args.checkpoint)}}
    metadata = metadata.model_copy(update={"world_model": WorldModelMetadata.of(model), "provenance": provenance})
    save_checkpoint(args.out, metadata, q_state, model.state_dict())
    print(report)
    return report


if __name__ == "__main__":
    main(tyro.cli(Args))
