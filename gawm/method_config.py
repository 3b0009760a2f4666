"""Method configs: config/methods/<stem>.yaml files that may be overlays on one another, per-map overrides,
and one overlay file (e.g. config/smoke.yaml) applied on top of any method.

A method YAML has one block per component (`runner`, `policy`, `imagination`, `world_model`, ...). Instead of
a full copy it may start with `base: <stem>`: it is then that config with only the listed values changed
(mamba.yaml is `base: gawm` plus what MAMBA does differently, mag.yaml is `base: mamba` plus the `mag:`
block), so a value shared by two methods has one home. Merging is strict: an overlay may add a whole new
block, but inside an existing block it may only change keys that exist, so a typo never passes silently
(the dataclasses that read each block also reject unknown or missing keys).

An optional `maps:` block holds per-map overrides (`maps: {8m: {runner: {n_envs: 8}}}`), applied after the
chain of bases, so per-map tuning (as the baselines' public code does) stays visible.

The overlay given with `gawm train --config FILE` is applied last, on top of the method's own resolved
config. Blocks of the overlay that the method does not have are skipped, which lets one file (the smoke
budget, config/smoke.yaml) shrink every method; its `methods: {<stem>: {...}}` block holds values for the
methods whose config chain contains <stem> (applied root first), for the few sizes one value cannot serve.
"""

from __future__ import annotations

import copy
import difflib
from pathlib import Path
from collections.abc import Sequence
from typing import Any

from gawm.config import ConfigError, load_yaml
from gawm.registry import REGISTRY, get_spec

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config" / "methods"

# Blocks renamed since runs were first saved: old name -> new name. Run directories keep their resolved
# config in config.json; `upgrade_legacy_blocks` lets those (and old overlay files) load unchanged.
LEGACY_BLOCKS = {"gawm": "imagination"}  # the shared model-based loop's block was named after GAWM


# What runs saved before 26 Nov 2026 did: one imagination per iteration, and the survival probability used as
# a loss weight (it was also, wrongly, GAE's validity mask; that cannot be replayed: docs/methods.md).
LEGACY_IMAGINATION_DEFAULTS = {"schedule": "once", "sample_epochs": 1, "survival_weight": True,
                               "wm_precision": "fp32"}


def upgrade_legacy_blocks(cfg: dict[str, Any]) -> dict[str, Any]:
    """Rename legacy blocks in place (a config that already has the new name keeps it) and return cfg."""
    for old, new in LEGACY_BLOCKS.items():
        if old in cfg and isinstance(cfg[old], dict) and new not in cfg:
            cfg[new] = cfg.pop(old)
    return cfg


def upgrade_saved_run_config(cfg: dict[str, Any], method: str) -> dict[str, Any]:
    """A run's saved, fully resolved config (config.json, or a checkpoint's record) as today's code reads it,
    in place: legacy block names, and for every key added since runs were first saved, the value such a run
    trained with. Reading a run (gawm.runs.read_run_config) and checking a resume for config drift
    (gawm.train) both go through here, so a run saved before a key existed neither breaks nor reads as changed.
    Never for overlays: a missing key there means "inherit", not "legacy"."""
    upgrade_legacy_blocks(cfg)
    block = cfg.get("imagination")
    if isinstance(block, dict):
        for key, value in LEGACY_IMAGINATION_DEFAULTS.items():
            block.setdefault(key, value)
        if block.get("actor_input") is None:  # saved before the key (or null): the method's own input
            block["actor_input"] = get_spec(method).load_class().actor_inputs[0]
    wm = cfg.get("world_model")
    if isinstance(wm, dict):
        wm.setdefault("team_heads", "pool")  # runs saved before the option pooled the team heads
    pol = cfg.get("policy")
    if isinstance(pol, dict):
        pol.setdefault("actor_rnn", True)  # runs saved before the option had a GRU actor
    return cfg


def merge(base: dict, over: dict, where: str, new_blocks: bool = False, _path: str = "") -> dict:
    """`over` deep-merged onto a copy of `base` (`where` names `over` in errors). Keys absent from `base` are
    an error, except top-level blocks (mappings) when `new_blocks`."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        key = f"{_path}{k}"
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v, where, _path=f"{key}.")
        elif k not in out and not (new_blocks and isinstance(v, dict)):
            raise ConfigError(f"{where}: unknown key '{key}' (not in the config it overrides)")
        else:
            out[k] = copy.deepcopy(v)
    return out


def _read(path: Path) -> dict[str, Any]:
    return upgrade_legacy_blocks(load_yaml(path))


def resolve_chain(stem: str) -> tuple[dict[str, Any], list[str], list[dict[str, Any]]]:
    """config/methods/<stem>.yaml with its `base:` chain applied -> (config without `maps`, the chain of
    stems root first, each file's `maps:` block in chain order)."""
    data = _read(CONFIG_DIR / f"{stem}.yaml")
    maps = data.pop("maps", None) or {}
    base = data.pop("base", None)
    if base is None:
        return data, [stem], [maps]
    if not isinstance(base, str):
        raise ConfigError(f"{CONFIG_DIR / f'{stem}.yaml'}: base must be a config name, got {base!r}")
    parent, chain, parent_maps = resolve_chain(base)
    if stem in chain:
        raise ConfigError(f"config {stem}: circular base chain {chain + [stem]}")
    return merge(parent, data, f"{stem}.yaml", new_blocks=True), chain + [stem], parent_maps + [maps]


def _known_blocks() -> set[str]:
    """Every block some registered method's config has: what an overlay's top level may name."""
    return {k for s in REGISTRY.values() for k in resolve_chain(s.config)[0]}


def apply_overlay(cfg: dict[str, Any], chain: list[str], overlay: dict[str, Any], map_name: str,
                  where: str) -> dict[str, Any]:
    """Overlay (already read) on a method's resolved config: its blocks the method has, then its
    `methods:` entries for the stems in `chain`, then its per-map overrides for `map_name`."""
    overlay = upgrade_legacy_blocks(copy.deepcopy(overlay))
    if "base" in overlay:
        raise ConfigError(f"{where}: an overlay applies to the method's own config and names no base")
    per_method = overlay.pop("methods", None) or {}
    maps = overlay.pop("maps", None) or {}
    known = _known_blocks()
    unknown = sorted(set(overlay) - known)
    if unknown:
        hints = []
        for k in unknown:
            near = difflib.get_close_matches(str(k), sorted(known), n=1)
            hints.append(f"'{k}'" + (f" (did you mean '{near[0]}'?)" if near else ""))
        raise ConfigError(f"{where}: unknown top-level block(s) {', '.join(hints)}; known: {sorted(known)}")
    unknown = sorted(set(per_method) - {s.config for s in REGISTRY.values()})
    if unknown:
        raise ConfigError(f"{where}: methods block names unknown config(s) {unknown}")
    cfg = merge(cfg, {k: v for k, v in overlay.items() if k in cfg}, where)
    for stem in chain:
        if stem in per_method:
            cfg = merge(cfg, {k: v for k, v in per_method[stem].items() if k in cfg}, f"{where} methods.{stem}")
    if map_name in maps:
        cfg = merge(cfg, maps[map_name], f"{where} maps.{map_name}")
    return cfg


def overlay_paths(overlay: str | Path | Sequence[str | Path] | None) -> list[Path]:
    """One overlay, several (applied in order), or none, as a list of paths."""
    if overlay is None:
        return []
    return [Path(overlay)] if isinstance(overlay, (str, Path)) else [Path(o) for o in overlay]


def load_method_config(method: str, map_name: str, overlay: str | Path | Sequence[str | Path] | None = None
                       ) -> dict[str, Any]:
    """The method's resolved config for `map_name`: its YAML chain, the chain's per-map overrides, then the
    overlay file(s) if given, each on the result of the one before (see the module docstring); e.g. a
    variant and a one-thread runner overlay for one run."""
    cfg, chain, chain_maps = resolve_chain(get_spec(method).config)
    for stem, maps in zip(chain, chain_maps):
        if map_name in maps:
            cfg = merge(cfg, maps[map_name], f"{stem}.yaml maps.{map_name}")
    for path in overlay_paths(overlay):
        cfg = apply_overlay(cfg, chain, _read(path), map_name, str(path))
    return cfg
