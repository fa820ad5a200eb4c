"""The promotion gate, the registry and rollback: a worse candidate is refused, a better one becomes the version the
next call uses (never one in progress), and one command brings the previous version back."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent_runtime.contracts.actions import Action
from agent_runtime.contracts.dst import DSTOutput, Intent
from agent_runtime.contracts.events import TurnEvent
from agent_runtime.contracts.state import STATE_SIZE
from agent_runtime.policy_source import current_policy, load_policy
from agent_runtime.registry import Registry, RegistryError
from training.promote import Args, compliance_violations, main

BEST = Path("checkpoints/debtor_policy.safetensors")  # 91 % success on the held-out debtors
WEAKER = Path("checkpoints/debtor_policy_20k.safetensors")  # fewer: the simulator tells them apart on 300 debtors


def gate(registry: Path, candidate: Path, **options) -> int:
    return main(Args(candidate=candidate, registry=registry, episodes=300, compliance_calls=30, **options))


def test_a_worse_candidate_is_refused_and_nothing_changes(tmp_path, capsys):
    assert gate(tmp_path / "models", WEAKER) == 1
    assert "refused: not better in the simulator" in capsys.readouterr().out
    assert Registry.open(tmp_path / "models").current is None


def test_a_better_candidate_is_promoted_reaches_the_next_call_and_rolls_back(tmp_path, capsys):
    folder = tmp_path / "models"
    Registry.open(folder).promote(WEAKER, source=str(WEAKER), data={}, figures={})  # what runs today
    live = load_policy(f"registry:{folder}")
    assert live.version == "registry:v1"
    assert gate(folder, BEST) == 0
    assert "promoted: v2 is current" in capsys.readouterr().out
    registry = Registry.open(folder)
    entry = registry.current_entry()
    assert (entry.version, entry.parent, entry.source) == ("v2", "v1", str(BEST))
    assert entry.figures["simulator"]["success_gain"]["low"] > 0 and entry.figures["compliance"]["violations"] == 0
    assert entry.by and entry.at
    assert live.version == "registry:v1"  # a call in progress keeps what it started with
    assert current_policy(live).version == "registry:v2"  # the next one gets the promoted version
    assert main(Args(registry=folder, rollback=True)) == 0
    assert current_policy(live).version == "registry:v1"
    assert [h["action"] for h in Registry.open(folder).history] == ["promote", "promote", "rollback"]


def test_a_checkpoint_changed_after_promotion_is_refused(tmp_path):
    registry = Registry.open(tmp_path)
    entry = registry.promote(BEST, source=str(BEST), data={}, figures={})
    (tmp_path / entry.checkpoint).write_bytes(WEAKER.read_bytes())
    with pytest.raises(RegistryError, match="checksum"):
        load_policy(f"registry:{tmp_path}")


def test_bad_gate_arguments_fail_in_one_line(tmp_path, capsys):
    assert main(Args(registry=tmp_path, rollback=True)) == 2  # nothing to roll back to
    assert main(Args(registry=tmp_path)) == 2
    assert main(Args(registry=tmp_path, candidate=tmp_path / "missing.pt")) == 2
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("error: ") for line in lines)


def _turn(**changes) -> TurnEvent:
    fields = {
        "call_id": "c", "turn": 3, "started_at": datetime.now(UTC), "user_text": "x",
        "dst": DSTOutput(intent=Intent.WILLING, sentiment=0.0), "state": [0.0] * STATE_SIZE,
        "proposed_action": Action.OFFER_PAYMENT_PLAN, "executed_action": Action.OFFER_PAYMENT_PLAN,
        "policy_version": "p", "agent_text": "We can set up a plan.",
    }  # fmt: skip
    return TurnEvent(**(fields | changes))


def test_compliance_violations_are_found_turn_by_turn():
    assert compliance_violations([_turn()]) == []
    threat = _turn(agent_text="Pay now or we will sue you.")
    ignored_cease = _turn(dst=DSTOutput(intent=Intent.CEASE, sentiment=-0.5))
    assert len(compliance_violations([threat, ignored_cease])) == 2
