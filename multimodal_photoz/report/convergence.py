"""Has each member finished learning? The loss over the last part of training.

A member whose loss still falls steeply when training stops is under-trained: its
metrics measure the step budget, not the network. For each member of a
``log.jsonl``, the validation loss (``val_loss``, the member's held-out objects;
else the training ``loss``) is read at ``1 - TAIL`` of its steps and at its last
step (linear interpolation between logged points, the training loss first
smoothed by a running median); a fall of more than ``STEEP`` (relative) is
reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

TAIL = 0.2    # the last fifth of training
STEEP = 0.05  # a relative fall of more than 5% over it is "still falling steeply"
SMOOTH = 9    # running-median window (log points) of the noisy training loss


def _series(records: Sequence[dict[str, Any]], member: Any, key: str):
    points = sorted((r["step"], r["metrics"][key]) for r in records
                    if r.get("member") == member and r["metrics"].get(key) is not None)
    if len(points) < 2:
        return None
    steps, values = (np.asarray(x, np.float64) for x in zip(*points))
    return steps, values


def _running_median(values: np.ndarray, window: int) -> np.ndarray:
    half = window // 2
    return np.array([np.median(values[max(0, i - half):i + half + 1])
                     for i in range(len(values))])


def tail_fall(steps: np.ndarray, values: np.ndarray, tail: float = TAIL) -> float:
    """Relative fall (loss at ``1 - tail`` of the last step minus loss at the end,
    over the loss at the end) of a loss curve; > 0: still falling."""
    start = steps[-1] * (1.0 - tail)
    before = float(np.interp(start, steps, values))
    end = float(values[-1])
    return (before - end) / abs(end) if end != 0 else float("nan")


def check(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per member: {key, fall, still_falling} for every member of a run's log records
    (``logs.read_log``); members are keyed by their index as text."""
    out = {}
    for member in sorted({r.get("member") for r in records if r.get("member") is not None}):
        key, series = "val_loss", _series(records, member, "val_loss")
        if series is None:
            key, series = "loss", _series(records, member, "loss")
            if series is not None:
                series = (series[0], _running_median(series[1], SMOOTH))
        if series is None:
            continue
        fall = tail_fall(*series)
        out[str(member)] = {"key": key, "fall": fall, "still_falling": bool(fall > STEEP)}
    return out


def notes(result: dict[str, Any]) -> list[str]:
    """The report's warning lines (none when every member has levelled off)."""
    falling = {m: r for m, r in result.items() if r["still_falling"]}
    if not falling:
        return []
    worst = max(falling.values(), key=lambda r: r["fall"])
    return [f"- **Not converged:** {len(falling)} of {len(result)} members' {worst['key']} still "
            f"fell by more than {100 * STEEP:g}% over the last {100 * TAIL:g}% of training "
            f"(up to {100 * worst['fall']:.1f}%, members "
            f"{', '.join(sorted(falling, key=int))}): these metrics measure the step budget; "
            "train longer (more --steps)"]
