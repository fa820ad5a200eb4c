"""`python -m agent_runtime chat`: a scripted text call through the same CallController as every other path."""

import json
import subprocess
import sys

from agent_runtime.events.store import read_events


def chat(tmp_path, lines: list[str], *options: str) -> list[dict]:
    command = [sys.executable, "-m", "agent_runtime", "chat", "--events", str(tmp_path / "events.db"), *options]
    done = subprocess.run(command, input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_a_scripted_call_prints_each_agent_turn_and_ends_where_the_agent_closes_it(tmp_path):
    facts = {"debtor_name": "Ada Moss", "balance": 640, "days_overdue": 40, "due_date": "2025-11-01",
             "timezone": "America/Denver", "creditor": "Acme Card Services"}
    turns = chat(tmp_path, ["yes, speaking", "I lost my job", "stop calling me", "hello?"], "--facts",
                 json.dumps(facts), "--policy", "constant:empathetic_listening")
    assert len(turns) == 4  # the opening, then one reply per line until the agent closed the call
    opening, disclosure, answer, closing = turns
    assert "Ada Moss" in opening["text"] and not opening["ends_call"] and opening["executed_action"] is None
    assert disclosure["guard_rule"] == "disclosure" and "Acme Card Services" in disclosure["text"]
    assert answer["executed_action"] == answer["proposed_action"] == "empathetic_listening"
    assert closing["ends_call"] and closing["outcome"] == "cease" and closing["guard_rule"] == "cease_request"
    events = list(read_events(tmp_path / "events.db"))
    assert [e.type for e in events].count("call_closed") == 1
    (opened,) = [e for e in events if e.type == "call_opened"]
    assert opened.channel == "text" and opened.facts.creditor == "Acme Card Services"


def test_the_end_of_the_input_is_the_debtor_hanging_up(tmp_path):
    turns = chat(tmp_path, ["yes", "what is this about"], "--policy", "scripted:best_practice")
    assert turns[-1]["ends_call"] and turns[-1]["outcome"] == "hang_up"
    assert not any(turn["ends_call"] for turn in turns[:-1])
