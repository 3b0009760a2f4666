"""Config drift on resume: the run's recorded config vs the one a re-run would use, key by key.

A resumed run that silently takes a changed config (say another lr) leaves config.json describing a run
that never happened, and evaluate/analyze/the tables rebuild the wrong thing. `gawm train` therefore
refuses a resume whose resolved config differs, naming the keys; `--allow-config-change` accepts it and
appends the change to config.json's `history`, so the record stays true.
"""

from __future__ import annotations

import json
import time
from typing import Any


def _normal(obj: Any) -> Any:
    """JSON round trip: tuples become lists, as in config.json, so equal configs compare equal."""
    return json.loads(json.dumps(obj))


def flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}; lists are leaves."""
    if isinstance(obj, dict) and obj:
        out: dict[str, Any] = {}
        for k, v in obj.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: obj}


def config_changes(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[Any]]:
    """Dotted key -> [old, new] for every leaf that differs ("<absent>" for a missing side)."""
    a, b = flatten(_normal(old)), flatten(_normal(new))
    absent = "<absent>"
    return {k: [a.get(k, absent), b.get(k, absent)] for k in sorted(set(a) | set(b))
            if a.get(k, absent) != b.get(k, absent)}


def describe(changes: dict[str, list[Any]], limit: int = 6) -> str:
    """'world_model.lr: 0.0003 -> 0.001; ...' (at most `limit` keys, then a count)."""
    parts = [f"{k}: {o!r} -> {n!r}" for k, (o, n) in list(changes.items())[:limit]]
    if len(changes) > limit:
        parts.append(f"and {len(changes) - limit} more")
    return "; ".join(parts)


def history_entry(step: int, changes: dict[str, list[Any]]) -> dict[str, Any]:
    return {"at_step": int(step), "changed": changes,
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
