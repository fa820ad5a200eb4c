"""Fuzzing the event parser: `python -m benchmarks.fuzz_events [--seconds 60] [--seed 0] [--round-trip]`.

The target is `agent_runtime.contracts.events.read_event`, the one door every event comes in by (MQTT recorder,
events database, replay). Its contract on untrusted input: it returns an event or raises MalformedEventError (or a
subclass), nothing else. Each input is fed in one of three ways, picked by its first byte: the raw bytes, the same
bytes as a str (invalid UTF-8 as lone surrogates), or a structured mutation of a valid seed event (CallOpened,
TurnEvent, CallClosed, current and older schema versions) that the remaining bytes drive: keys dropped, values of
another type, huge or non-finite numbers, long strings, deep nesting, another event type or schema version, raw text
spliced into the JSON.

Engine: atheris (libFuzzer, coverage-guided) where it is installed, else a seeded random mutation loop over the same
mutations (`--engine random` forces it). atheris was the first choice and is what the reported runs used: version
3.0.0 ships a manylinux wheel for CPython 3.11 (no build needed), so `pip install atheris` is all it takes; it is not
in the dev extra, hence the fallback. Its coverage is that of the Python code (read_event and the mutator; atheris
instruments every module loaded); the JSON validation inside pydantic-core is Rust and gives it no coverage, so
much of the guidance comes from the structured mutations rather than from coverage.

Every distinct failure (exception type + first line of its message, digits folded) is reported with a minimal
reproducer (the payload, shrunk by deleting chunks while the failure stays the same) in results/fuzz_events/, and
a summary in results/fuzz_events/summary.json. `--round-trip` also checks what the parser accepts: a second read
gives the same event (ids and times filled in for a payload without them aside) and the event's own JSON reads back
as the same JSON. Exit status 0 when the only exception seen was MalformedEventError (and, with --round-trip, every
accepted payload round-tripped), 1 otherwise. `--replay FILE` feeds one reproducer to the parser.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import math
import os
import random
import re
import shutil
import sys
import tempfile
import threading
import time
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from agent_runtime.chat import DEFAULT_FACTS
from agent_runtime.contracts.actions import Action
from agent_runtime.contracts.dst import DSTOutput, Flag, Intent, Period
from agent_runtime.contracts.events import (
    EVENT_SCHEMA_VERSION,
    CallClosed,
    CallOpened,
    MalformedEventError,
    TurnEvent,
    read_event,
)
from agent_runtime.contracts.guard import GuardRule
from agent_runtime.contracts.offers import OfferKind, OfferTerms
from agent_runtime.contracts.outcome import FollowUp, OutcomeKind, OutcomeSummary
from agent_runtime.contracts.stages import LatencyStage
from agent_runtime.contracts.state import STATE_SIZE

OUT = Path("results/fuzz_events")
FILLED_IN = {"event_id", "at"}  # what the models fill in where a payload lacks it
MINIMISE_SECONDS = 10.0
RAW, AS_STR, STRUCTURED = "raw", "str", "structured"


def seed_events() -> list:
    """Valid events of every type, with every optional part present in one of them."""
    at = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)
    facts = DEFAULT_FACTS.model_copy(update={"zip_code": "60601", "birth_year": 1980})
    terms = OfferTerms(
        kind=OfferKind.PLAN,
        instalment=100.0,
        period=Period.MONTHLY,
        n_payments=12,
        total=1200.0,
        first_due=date(2026, 1, 12),
        discount_pct=0.0,
        debtor_proposed=True,
    )
    dst = DSTOutput(
        intent=Intent.COMMIT,
        sentiment=0.25,
        amount=100.0,
        period=Period.MONTHLY,
        flags=frozenset({Flag.CALLBACK_REQUEST}),
        confidence=0.9,
    )
    return [
        CallOpened(
            event_id="a" * 32, call_id="call-1", at=at, facts=facts, policy_version="dqn-1", dst_version="dst.v3"
        ),
        TurnEvent(
            event_id="b" * 32,
            call_id="call-1",
            at=at,
            turn=3,
            started_at=at,
            user_text="ok i can do a hundred a month",
            stt_confidence=0.93,
            dst=dst,
            state=[0.25] * STATE_SIZE,
            proposed_action=Action.OFFER_PAYMENT_PLAN,
            executed_action=Action.OFFER_PAYMENT_PLAN,
            guard_rule=GuardRule.CONFIRM_TERMS,
            q_values=[0.5] * len(Action),
            offer=terms,
            policy_version="dqn-1",
            agent_text="So that is $100 a month for 12 months. Shall I book it?",
            latencies_ms={LatencyStage.STT: 120.0, LatencyStage.E2E: 480.0},
        ),
        CallClosed(
            event_id="c" * 32,
            call_id="call-1",
            at=at,
            outcome=OutcomeSummary(
                kind=OutcomeKind.COMMITMENT,
                success=True,
                recovery=1.0,
                committed_value=1200.0,
                terms=terms,
                follow_ups=[FollowUp.MAIL_WRITTEN_CONFIRMATION],
            ),
            turns=4,
            final_state=[0.0] * STATE_SIZE,
            reason="done",
        ),
    ]


# ------------------------------------------------------------------------------------------------------ mutations


class Chooser:
    """Where the mutator's choices come from: the fuzzer's bytes (atheris) or a seeded random generator."""

    def int(self, lo: int, hi: int) -> int:
        raise NotImplementedError

    def float(self) -> float:
        raise NotImplementedError

    def text(self, n: int) -> str:
        raise NotImplementedError

    def pick(self, seq):
        return seq[self.int(0, len(seq) - 1)]


class RandomChooser(Chooser):
    def __init__(self, rng: random.Random):
        self.rng = rng

    def int(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)

    def float(self) -> float:
        return self.pick([math.nan, math.inf, -math.inf, 0.0, -0.0, 5e-324, 1e308, self.rng.uniform(-1e6, 1e6)])

    def text(self, n: int) -> str:
        return "".join(chr(self.pick([self.rng.randint(0, 127), self.rng.randint(0, 0xD7FF)])) for _ in range(n))


class ProviderChooser(Chooser):
    def __init__(self, provider):
        self.fdp = provider

    def int(self, lo: int, hi: int) -> int:
        return self.fdp.ConsumeIntInRange(lo, hi)

    def float(self) -> float:
        return self.fdp.ConsumeFloat()

    def text(self, n: int) -> str:
        return self.fdp.ConsumeUnicodeNoSurrogates(n)


NASTY_VALUES = [
    None,
    True,
    False,
    0,
    -1,
    2**63,
    -(2**64) - 1,
    10**300,
    10**1000,
    1e308,
    -0.0,
    "",
    "x" * 100_000,
    "9" * 5_000,
    "\x00",
    "2026-13-45T25:61:61Z",
    "America",  # path-like strings: the time-zone validator opens files of the tz database
    "Etc/UTC",
    "../../etc/passwd",
    "call_opened",
    "turn",
    "call_closed",
    [],
    {},
    [None],
    {"": None},
]
RAW_SNIPPETS = ["NaN", "-Infinity", "1e999", "1" * 5_000, "[" * 64, "}", '"', "\\u0000", "\\ud800", ",,", "\x00", ":"]
NEST_DEPTHS = [2, 10, 100, 500, 1_000, 5_000, 50_000]
NEST_MARK = "__nest_"
OPS = ("drop", "replace", "replace", "number", "text", "version", "type", "add", "nest", "duplicate")


def _nasty(choose: Chooser):
    value = choose.pick(NASTY_VALUES)
    return copy.deepcopy(value) if isinstance(value, list | dict) else value  # never share (or nest) one container


def _slots(value) -> list[tuple[object, object]]:
    """Every (container, key) pair under a JSON value, containers before their children."""
    out, stack = [], [value]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, child in items:
            out.append((node, key))
            stack.append(child)
    return out


def structured_payload(seeds: list[dict], choose: Chooser) -> bytes | str:
    """A valid event's JSON (any supported schema version) after a few mutations chosen by `choose`."""
    raw = json.loads(json.dumps(choose.pick(seeds)))  # a deep copy
    raw["schema_version"] = choose.int(1, EVENT_SCHEMA_VERSION)
    duplicate = None
    for _ in range(choose.int(1, 4)):
        op = choose.pick(OPS)
        slots = _slots(raw)
        container, key = choose.pick(slots)
        if op == "drop" and isinstance(container, dict):
            del container[key]
        elif op == "replace":
            container[key] = _nasty(choose)
        elif op == "number":
            container[key] = choose.pick([choose.float(), choose.int(-(2**70), 2**70)])
        elif op == "text":
            container[key] = choose.text(choose.int(0, 64)) * choose.pick([1, 1, 100, 10_000])
        elif op == "version":
            raw["schema_version"] = choose.pick([choose.int(-5, EVENT_SCHEMA_VERSION + 2), choose.int(-(2**64), 2**64)])
        elif op == "type":
            raw["type"] = choose.pick(["call_opened", "turn", "call_closed", choose.text(8)])
        elif op == "add" and isinstance(container, dict):
            container[choose.text(12)] = _nasty(choose)
        elif op == "nest":  # written into the text below: json.dumps itself refuses deep nesting
            container[key] = f"{NEST_MARK}{choose.pick(NEST_DEPTHS)}"
        elif op == "duplicate" and isinstance(container, dict) and container is raw:
            duplicate = (key, _nasty(choose))
    try:
        text = json.dumps(raw)  # NaN and infinities as the JS literals, as json.dumps writes them
    except (ValueError, RecursionError):  # an int over the int-string limit, or nesting json cannot write
        text = json.dumps({k: v for k, v in raw.items() if k in ("schema_version", "type")})
    for depth in {int(d) for d in re.findall(rf"{NEST_MARK}([0-9]+)", text)}:
        text = text.replace(f'"{NEST_MARK}{depth}"', "[" * depth + "0" + "]" * depth)
    if duplicate is not None:  # a key twice: JSON parsers differ on which one wins
        text = text[:-1] + f", {json.dumps(duplicate[0])}: {json.dumps(duplicate[1])}}}"
    if choose.int(0, 3) == 0:
        at = choose.int(0, len(text))
        text = text[:at] + choose.pick(RAW_SNIPPETS) + text[at + choose.int(0, 3) :]
    return text if choose.int(0, 1) else text.encode("utf-8", "surrogatepass")


def byte_mutation(payload: bytes, rng: random.Random) -> bytes:
    """A libFuzzer-like mutation of raw bytes, for the random engine."""
    data = bytearray(payload)
    for _ in range(rng.randint(1, 8)):
        op = rng.randrange(5)
        at = rng.randint(0, len(data))
        if op == 0 and data:
            data[min(at, len(data) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1:
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif op == 2:
            del data[at : at + rng.randint(1, 64)]
        elif op == 3:
            data[at:at] = rng.choice(RAW_SNIPPETS).encode("utf-8", "surrogatepass")
        else:
            data = data[:at]
    return bytes(data)


# ------------------------------------------------------------------------------------------------------- findings


def signature(exc: BaseException) -> str:
    """Type and first line of the message, quoted parts and numbers folded: one bug, one finding."""
    first = (str(exc).splitlines() or [""])[0]
    first = re.sub(r"'[^']*'|\"[^\"]*\"", "'...'", first)
    return f"{type(exc).__name__}: {re.sub(r'[0-9]+', 'N', first)[:160]}"


class RoundTripError(AssertionError):
    pass


def check(payload: bytes | str, round_trip: bool) -> None:
    """Raises what the parser raises, MalformedEventError aside; with `round_trip`, RoundTripError where an accepted
    payload does not read the same twice or its event does not read back as itself."""
    try:
        event, _ = read_event(payload)
    except MalformedEventError:
        return
    if not round_trip:
        return
    again, _ = read_event(payload)
    if again.model_dump_json(exclude=FILLED_IN) != event.model_dump_json(exclude=FILLED_IN):
        raise RoundTripError("a second read of the payload gives another event")
    if not event.model_fields_set >= FILLED_IN:
        raise RoundTripError(f"accepted without {sorted(FILLED_IN - event.model_fields_set)}: filled in at random")
    written = event.model_dump_json()
    try:
        back, _ = read_event(written)
    except MalformedEventError as exc:
        raise RoundTripError(f"its own JSON does not read back: {exc}") from None
    if back.model_dump_json() != written or repr(back.model_dump()) != repr(event.model_dump()):
        raise RoundTripError("its own JSON reads back as another event")


def failure(payload: bytes | str, round_trip: bool) -> str | None:
    try:
        check(payload, round_trip)
    except Exception as exc:
        return signature(exc)
    return None


def minimise(payload: bytes | str, sig: str, round_trip: bool) -> bytes | str:
    """Delete ever smaller chunks while the same failure stays (a bounded ddmin). Run it on a shallow stack (see
    `report`): a RecursionError that needs the fuzzer's deeper stack would not reproduce on its own."""
    if failure(payload, round_trip) != sig:
        return payload
    deadline = time.monotonic() + MINIMISE_SECONDS
    chunk = max(1, len(payload) // 2)
    while chunk >= 1 and time.monotonic() < deadline:
        at, shrunk = 0, False
        while at < len(payload) and time.monotonic() < deadline:
            candidate = payload[:at] + payload[at + chunk :]
            if failure(candidate, round_trip) == sig:
                payload, shrunk = candidate, True
            else:
                at += chunk
        if not shrunk:
            chunk //= 2
    return payload


@dataclass
class Finding:
    signature: str
    payload: bytes | str
    mode: str
    count: int = 1
    first_at_s: float = 0.0


@dataclass
class Campaign:
    seeds: list[dict]
    round_trip: bool
    seconds: float
    started: float | None = None  # the first execution (atheris spends a while instrumenting before it)
    executions: int = 0
    accepted: int = 0
    modes: dict = field(default_factory=lambda: {RAW: 0, AS_STR: 0, STRUCTURED: 0})
    findings: dict[str, Finding] = field(default_factory=dict)

    def elapsed(self) -> float:
        return 0.0 if self.started is None else time.monotonic() - self.started

    def run_one(self, payload: bytes | str, mode: str) -> None:
        if self.started is None:
            self.started = time.monotonic()
        self.executions += 1
        self.modes[mode] += 1
        try:
            check(payload, self.round_trip)
        except Exception as exc:
            sig = signature(exc)
            if sig in self.findings:
                self.findings[sig].count += 1
            else:
                self.findings[sig] = Finding(sig, payload, mode, first_at_s=self.elapsed())
                print(f"[{self.elapsed():7.1f}s] new: {sig}", file=sys.stderr, flush=True)

    def done(self) -> bool:
        return self.elapsed() >= self.seconds


def dispatch(campaign: Campaign, data: bytes, choose_from: Callable[[bytes], Chooser]) -> None:
    """One fuzzer input: its first byte picks how the rest reaches the parser."""
    mode = (data[0] % 4) if data else 0
    body = data[1:]
    if mode == 0:
        campaign.run_one(body, RAW)
    elif mode == 1:
        campaign.run_one(body.decode("utf-8", "surrogateescape"), AS_STR)
    else:
        campaign.run_one(structured_payload(campaign.seeds, choose_from(body)), STRUCTURED)


# --------------------------------------------------------------------------------------------------------- engines


def run_random(campaign: Campaign, seed: int) -> None:
    rng = random.Random(seed)
    choose = RandomChooser(rng)
    corpus = [json.dumps(s).encode() for s in campaign.seeds]
    while not campaign.done():
        for _ in range(64):
            mode = rng.randrange(4)
            if mode == 0:
                campaign.run_one(byte_mutation(rng.choice(corpus), rng), RAW)
            elif mode == 1:
                campaign.run_one(byte_mutation(rng.choice(corpus), rng).decode("utf-8", "surrogateescape"), AS_STR)
            else:
                campaign.run_one(structured_payload(campaign.seeds, choose), STRUCTURED)


INSTRUMENTED = ("agent_runtime.contracts", "json", "zoneinfo", __name__)


def instrument(atheris) -> int:
    """Coverage for the Python code an input goes through: the contracts (read_event, the validators), json, zoneinfo
    (the time-zone validator) and the mutator here. Not atheris.instrument_all(): it spends half a minute on every
    loaded module, pydantic and numpy included, for code no input reaches."""
    done = 0
    for name, module in list(sys.modules.items()):
        if module is None or not any(name == p or name.startswith(f"{p}.") for p in INSTRUMENTED):
            continue
        for obj in list(vars(module).values()):
            members = vars(obj).values() if isinstance(obj, type) and obj.__module__ == name else [obj]
            for member in members:
                func = getattr(member, "__func__", member)  # classmethods and staticmethods
                if isinstance(func, types.FunctionType) and func.__module__ == name:
                    atheris.instrument_func(func)
                    done += 1
    return done


def run_atheris(campaign: Campaign, seed: int, finish: Callable[[], None]) -> None:
    import atheris

    corpus = Path(tempfile.mkdtemp(prefix="fuzz_events_corpus_"))
    for i, payload in enumerate(json.dumps(s).encode() for s in campaign.seeds):
        (corpus / f"seed-{i}").write_bytes(b"\x00" + payload)  # mode 0: the raw bytes of a valid event
        (corpus / f"seed-{i}-structured").write_bytes(bytes([2, i]) + payload[:64])

    def one_input(data: bytes) -> None:
        if campaign.done():
            shutil.rmtree(corpus, ignore_errors=True)
            finish()  # exits the process: libFuzzer's loop never returns
        dispatch(campaign, data, lambda body: ProviderChooser(atheris.FuzzedDataProvider(body)))

    instrument(atheris)
    libfuzzer = [
        f"-seed={seed}",  # libFuzzer takes 0 as "pick one at random": --seed must be 1 or more
        f"-max_total_time={int(campaign.seconds) + 60}",  # a backstop: one_input ends the run on time
        "-max_len=65536",
        "-rss_limit_mb=4096",
        "-timeout=30",
        "-print_final_stats=0",
        f"-artifact_prefix={corpus}/",  # libFuzzer's own crash files: not in the working tree
        str(corpus),
    ]
    atheris.Setup([sys.argv[0], *libfuzzer], one_input)
    atheris.Fuzz()


# ------------------------------------------------------------------------------------------------------------ main


def report(campaign: Campaign, engine: str, seed: int, out: Path) -> int:
    elapsed = campaign.elapsed()
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.repro"):
        old.unlink()
    findings = []
    ordered = sorted(campaign.findings.values(), key=lambda f: f.first_at_s)
    shrunk: dict[str, bytes | str] = {}

    def shrink_all() -> None:
        for finding in ordered:
            shrunk[finding.signature] = minimise(finding.payload, finding.signature, campaign.round_trip)

    worker = threading.Thread(target=shrink_all)  # a fresh thread: a fresh, shallow Python stack
    worker.start()
    worker.join()
    for finding in ordered:
        small = shrunk.get(finding.signature, finding.payload)
        blob = small.encode("utf-8", "surrogatepass") if isinstance(small, str) else small
        name = f"{finding.signature.split(':')[0]}-{hashlib.sha256(blob).hexdigest()[:10]}.repro"
        (out / name).write_bytes(blob)
        findings.append(
            {
                "signature": finding.signature,
                "count": finding.count,
                "first_at_s": round(finding.first_at_s, 1),
                "mode": finding.mode,
                "reproducer": str(out / name),
                "reproducer_bytes": len(blob),
                "reproducer_head": blob[:120].decode("utf-8", "backslashreplace"),
            }
        )
    summary = {
        "engine": engine,
        "command": " ".join(["python -m benchmarks.fuzz_events", *sys.argv[1:]]),
        "seed": seed,
        "seconds": round(elapsed, 1),
        "executions": campaign.executions,
        "executions_per_s": round(campaign.executions / elapsed),
        "inputs_by_mode": campaign.modes,
        "round_trip_checked": campaign.round_trip,
        "findings": findings,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2), flush=True)
    return 1 if findings else 0


def replay(path: Path, as_str: bool, round_trip: bool) -> int:
    blob = path.read_bytes()
    payload = blob.decode("utf-8", "surrogatepass") if as_str else blob
    check(payload, round_trip)  # raises what the parser raises
    print("ok: an event or MalformedEventError")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--engine", choices=["auto", "atheris", "random"], default="auto")
    parser.add_argument("--round-trip", action="store_true", help="also check that accepted payloads round-trip")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--replay", type=Path, help="feed one reproducer to the parser and raise what it raises")
    parser.add_argument("--replay-as-str", action="store_true", help="with --replay: decode it to a str first")
    args = parser.parse_args()
    if args.replay:
        sys.exit(replay(args.replay, args.replay_as_str, args.round_trip))

    seeds = [json.loads(e.model_dump_json()) for e in seed_events()]
    campaign = Campaign(seeds, args.round_trip, args.seconds)
    engine = args.engine
    if engine == "auto":
        try:
            import atheris  # noqa: F401
        except ImportError:
            engine = "random"
        else:
            engine = "atheris"
    if engine == "atheris":

        def finish() -> None:
            sys.stdout.flush()
            os._exit(report(campaign, "atheris (libFuzzer)", args.seed, args.out))

        run_atheris(campaign, args.seed, finish)
    else:
        run_random(campaign, args.seed)
        sys.exit(report(campaign, "random mutation (seeded)", args.seed, args.out))


if __name__ == "__main__":
    main()
