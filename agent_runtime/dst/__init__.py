"""Dialogue-state tracking for raw STT text. CLI: `python -m agent_runtime.dst` (stdin lines -> JSON lines)."""

from agent_runtime.dst.tracker import DialogueStateTracker

__all__ = ["DialogueStateTracker"]
