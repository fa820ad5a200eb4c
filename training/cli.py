"""Option types shared by the training command lines: a bad value is a usage error that names the option."""

from __future__ import annotations

import math
from typing import Annotated, TypeVar

from tyro.constructors import PrimitiveConstructorSpec

Number = TypeVar("Number", int, float)


def within(
    kind: type[Number], low: Number, high: Number | None = None, *, low_open: bool = False
) -> PrimitiveConstructorSpec[Number]:
    """A tyro option type: a `kind` number of at least `low` (above it with low_open) and at most `high`, so that a
    bad value is a usage error naming the option rather than a traceback mid-run. Shared by the training CLIs."""
    rule = f"{'>' if low_open else '>='}{low}" if high is None else f"{'(' if low_open else '['}{low},{high}]"
    metavar = f"{kind.__name__.upper()}{rule}"

    def parse(texts: list[str]) -> Number:
        value = kind(texts[0])
        above_low = value > low if low_open else value >= low
        if not (math.isfinite(value) and above_low and (high is None or value <= high)):
            raise ValueError(f"{texts[0]} is outside {metavar}")
        return value

    return PrimitiveConstructorSpec(
        nargs=1,
        metavar=metavar,
        instance_from_str=parse,
        is_instance=lambda value: isinstance(value, kind),
        str_from_instance=lambda value: [str(value)],
    )


Seed = Annotated[int, within(int, 0)]
WordErrorRate = Annotated[float, within(float, 0, 1)]
