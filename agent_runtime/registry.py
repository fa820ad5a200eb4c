"""The policy registry: which checkpoint live calls use, which came before it, and who changed that, when and why.

A folder (e.g. models/) holding `registry.json` and one immutable, torch-free checkpoint per version (v1.safetensors,
v2.safetensors, ...). `python -m training.promote` adds a version only after its gate, with the figures that let it
through; `python -m training.promote --rollback` makes the current version's parent current again. The runtime names
the registry as its policy, POLICY_CHECKPOINT=registry:models: every call loads the version current when it starts
(a worker checks the registry between calls, never during one) and its events carry that version.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

REGISTRY_FILE = "registry.json"
SPEC_PREFIX = "registry:"


class RegistryError(ValueError):
    pass


@dataclass(frozen=True)
class Entry:
    version: str
    checkpoint: str  # file name inside the registry folder
    sha256: str
    parent: str | None  # the version current when this one was promoted (None: the first)
    source: str  # the candidate's path when it was promoted
    data: dict = field(default_factory=dict)  # what it was trained and judged on
    figures: dict = field(default_factory=dict)  # the gate's measurements
    by: str = ""
    at: str = ""


@dataclass
class Registry:
    folder: Path
    entries: list[Entry] = field(default_factory=list)
    current: str | None = None
    history: list[dict] = field(default_factory=list)  # every promotion and rollback, in order

    @classmethod
    def open(cls, folder: Path | str) -> Registry:
        folder = Path(folder)
        path = folder / REGISTRY_FILE
        if not path.exists():
            return cls(folder)
        try:
            raw = json.loads(path.read_text())
            entries = [Entry(**entry) for entry in raw["entries"]]
            return cls(folder, entries, raw["current"], raw["history"])
        except (ValueError, KeyError, TypeError) as exc:
            raise RegistryError(f"{path} is not a policy registry: {exc}") from None

    def entry(self, version: str) -> Entry:
        for entry in self.entries:
            if entry.version == version:
                return entry
        raise RegistryError(f"no version {version!r} in {self.folder}")

    def current_entry(self) -> Entry:
        if self.current is None:
            raise RegistryError(f"the registry {self.folder} has no current version: promote one first")
        return self.entry(self.current)

    def checkpoint_path(self, entry: Entry) -> Path:
        path = self.folder / entry.checkpoint
        if sha256_of(path) != entry.sha256:
            raise RegistryError(f"{path} does not match the registry's checksum: it was changed after promotion")
        return path

    def promote(self, checkpoint: Path, *, source: str, data: dict, figures: dict) -> Entry:
        """Copy the (torch-free) checkpoint in as the next version and make it current."""
        version = f"v{len(self.entries) + 1}"
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / f"{version}{checkpoint.suffix}"
        shutil.copyfile(checkpoint, target)
        entry = Entry(version, target.name, sha256_of(target), self.current, source, data, figures, _who(), _now())
        self.entries.append(entry)
        self._make_current(version, "promote")
        return entry

    def rollback(self) -> Entry:
        """Make the current version's parent current again."""
        parent = self.current_entry().parent
        if parent is None:
            raise RegistryError(f"{self.current} has no parent to roll back to")
        self._make_current(parent, "rollback")
        return self.entry(parent)

    def _make_current(self, version: str, action: str) -> None:
        self.history.append({"action": action, "version": version, "from": self.current, "by": _who(), "at": _now()})
        self.current = version
        self._save()

    def _save(self) -> None:
        """Written whole and renamed into place: a reader sees the old registry or the new one, never half."""
        raw = {"current": self.current, "entries": [asdict(e) for e in self.entries], "history": self.history}
        with tempfile.NamedTemporaryFile("w", dir=self.folder, delete=False, suffix=".tmp") as out:
            json.dump(raw, out, indent=2)
        os.replace(out.name, self.folder / REGISTRY_FILE)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container without a passwd entry
        return f"uid {os.getuid()}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def registry_folder(spec: str) -> Path | None:
    """The folder a `registry:FOLDER` policy spec names, or None for any other spec."""
    return Path(spec.removeprefix(SPEC_PREFIX)) if spec.startswith(SPEC_PREFIX) else None
