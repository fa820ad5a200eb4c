"""A rubric over simulated calls: `python -m benchmarks.conversation_rubric [--calls 500] [--seed 700000]
[--events PATH] [--out results/conversation_rubric.json]`.

Runs `simulate --text` (the committed policy) and reads every agent reply after the debtor's words, counting:
- ignored questions: the debtor asked something the call facts answer (who is calling, which company, how much,
  where the debt comes from, how to pay, whether it is a robot, to repeat) and the reply does not contain the fact
  (the agent's name, the business, the balance, the creditor, the callback number, "automated", the previous
  reply's first sentence);
- repeated lines: a sentence of more than two words the agent already said in the call (a requested repeat
  excepted; "Thank you." and "Of course." are acknowledgements, not lines);
- tone misfits: sympathy for hardship ("that sounds really hard", "your concerns are valid", "I hear your
  frustration", ...) after words that were neither upset nor negative (a requested repeat excepted).
Questions are read from the debtor's words with the current DST, so `--events` can score calls logged by older code.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from collections import Counter
from itertools import groupby
from pathlib import Path

from agent_runtime.contracts.dst import QuestionKind
from agent_runtime.contracts.events import CallOpened, TurnEvent
from agent_runtime.dst.tracker import DialogueStateTracker
from agent_runtime.nlg import CALM, lines, money, sentences, tone

SYMPATHY = (
    "sounds really hard",
    "sounds stressful",
    "difficult time",
    "a lot to carry",
    "sorry you're going through",
    "concerns are valid",
    "your frustration",
    "you're frustrated",
    "every right to be upset",
    "feels heavy",
)


RUBRIC = ("ignored_questions", "repeated_lines", "tone_misfits")


def expected_facts(kind: QuestionKind, opened: CallOpened, previous: str) -> list[str]:
    facts = opened.facts
    return {
        QuestionKind.WHO_IS_CALLING: [facts.agent_name],
        QuestionKind.WHICH_COMPANY: [facts.business_name],
        QuestionKind.HOW_MUCH: [money(facts.balance)],
        QuestionKind.DEBT_ORIGIN: [facts.creditor],
        QuestionKind.HOW_TO_PAY: [facts.callback_number],
        QuestionKind.ARE_YOU_A_ROBOT: ["automated"],
        QuestionKind.REPEAT: sentences(previous)[:1],
    }[kind]


def score(events_file: Path) -> dict:
    from agent_runtime.events.store import read_events

    tracker = DialogueStateTracker()
    counts: Counter = Counter(dict.fromkeys(("calls", "replies", "questions", *RUBRIC), 0))
    examples: dict[str, list] = {key: [] for key in RUBRIC}
    for _, group in groupby(read_events(events_file), key=lambda event: event.call_id):
        events = list(group)
        opened = next((e for e in events if isinstance(e, CallOpened)), None)
        if opened is None:
            continue
        counts["calls"] += 1
        said: set[str] = set()
        previous = ""  # the opening is not logged as a turn: repeats of it are not scored
        for turn in sorted((e for e in events if isinstance(e, TurnEvent)), key=lambda e: e.turn):
            reading = tracker.read(turn.user_text)
            reply = turn.agent_text
            counts["replies"] += bool(reply)
            if reading.question is not None and reply:
                counts["questions"] += 1
                if not all(fact in reply for fact in expected_facts(reading.question, opened, previous)):
                    counts["ignored_questions"] += 1
                    examples["ignored_questions"].append([turn.user_text, reply])
            for sentence in lines(reply):
                if sentence in said and reading.question is not QuestionKind.REPEAT:
                    counts["repeated_lines"] += 1
                    examples["repeated_lines"].append(sentence)
                said.add(sentence)
            # a repeat echoes the previous reply: its wording was scored when it was first said
            fresh_words = reading.question is not QuestionKind.REPEAT and turn.executed_action is not None
            calm = fresh_words and tone(reading) == CALM
            if calm and any(phrase in reply for phrase in SYMPATHY):
                counts["tone_misfits"] += 1
                examples["tone_misfits"].append([turn.user_text, reply])
            previous = reply or previous
    return {**counts, "examples": {key: value[:5] for key, value in examples.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--seed", type=int, default=700_000)
    parser.add_argument("--events", type=Path, help="score this events database instead of running calls")
    parser.add_argument("--out", type=Path, default=Path("results/conversation_rubric.json"))
    args = parser.parse_args()
    if args.events:
        report = {"events": str(args.events), **score(args.events)}
    else:
        from agent_runtime import simulate

        with tempfile.TemporaryDirectory() as folder:
            asyncio.run(simulate.run(simulate.options(calls=args.calls, seed=args.seed, text=True, out=Path(folder))))
            report = {**score(Path(folder) / "events.db")}
        report["command"] = f"python -m benchmarks.conversation_rubric --calls {args.calls} --seed {args.seed}"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({key: value for key, value in report.items() if key != "examples"}, indent=2))


if __name__ == "__main__":
    main()
