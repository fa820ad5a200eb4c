"""The licences of an install of this project: `python infra/licences.py [EXTRA ...]` (default: voice telemetry).

Walks the installed distributions the project requires with those extras (Requires-Dist and its markers, from
the installed metadata, so it needs no network), adds those of `requirements-no-deps.txt` (installed without their
requirements) and prints one Markdown row per distribution: name, version and licence (License-Expression, else
License, else the licence classifiers). It exits with 1 if a GPL licence other than the LGPL is among them: the
default install of this MIT project must pull in none (Piper, GPL-3.0, is the opt-in `piper` extra).
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

PROJECT = "debt-collection-agent"
# installed without their requirements (make, the image): listed, their own requirements not followed
NO_DEPS_FILE = Path(__file__).with_name("requirements-no-deps.txt")
DEFAULT_EXTRAS = ("voice", "telemetry")
_STRONG_COPYLEFT = re.compile(r"(?<!L)(?<!Lesser )\b(?:A?GPL|GNU General Public|GNU Affero)", re.IGNORECASE)


def _key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def closure(project: str = PROJECT, extras: tuple[str, ...] = DEFAULT_EXTRAS) -> dict[str, metadata.Distribution]:
    """Every installed distribution the project needs with `extras` (the project itself excluded)."""
    found: dict[str, metadata.Distribution] = {}
    pending = [(project, frozenset(extras))]
    while pending:
        name, wanted = pending.pop()
        dist = metadata.distribution(name)
        for line in dist.requires or []:
            requirement = Requirement(line)
            marker = requirement.marker
            if marker and not any(marker.evaluate({"extra": extra}) for extra in (*wanted, "")):
                continue
            key = _key(requirement.name)
            if key not in found:
                found[key] = metadata.distribution(requirement.name)
                pending.append((requirement.name, frozenset(requirement.extras)))
    for line in NO_DEPS_FILE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name = Requirement(line.split(" --hash")[0]).name
            found[_key(name)] = metadata.distribution(name)
    return dict(sorted(found.items()))


def licence_of(dist: metadata.Distribution) -> str:
    meta = dist.metadata
    if expression := meta.get("License-Expression"):
        return expression
    classifiers = [c.split(" :: ")[-1] for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    text = (meta.get("License") or "").strip()
    if text and len(text) <= 80 and "\n" not in text:
        return text
    return "; ".join(classifiers) or (text.splitlines()[0][:80] if text else "unknown")


def strong_copyleft(licence: str) -> bool:
    return bool(_STRONG_COPYLEFT.search(licence))


def main(extras: list[str]) -> int:
    found = closure(extras=tuple(extras) or DEFAULT_EXTRAS)
    print("| package | version | licence |\n|---|---|---|")
    flagged = []
    for dist in found.values():
        licence = licence_of(dist)
        print(f"| {dist.metadata['Name']} | {dist.version} | {licence} |")
        if strong_copyleft(licence):
            flagged.append(dist.metadata["Name"])
    if flagged:
        print(f"GPL packages in this install: {', '.join(flagged)}", file=sys.stderr)
    return 1 if flagged else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
