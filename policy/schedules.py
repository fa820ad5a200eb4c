"""Exploration schedules."""


def linear_schedule(start: float, end: float, duration: float, t: float) -> float:
    """Linear from `start` at t=0 to `end` at t=duration, then flat (CleanRL's linear_schedule)."""
    if duration <= 0:
        return end
    return start + (end - start) * min(1.0, t / duration)
