"""Which methods exist: one record per method, and everything else derives from these records.

The training runner (`gawm.methods.build_method`), the method configs (`gawm.method_config`), the Snakemake
workflow (its method list, the analysis jobs and the schema check), the GCI/GPE analysis and the report
(display names and the order of table rows and figure panels) all read this module; none keeps its own list.
It imports no torch, so the workflow and the report can read it cheaply.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class MethodSpec:
    """One method of the harness.

    name: what `gawm train --method` takes and the run directory's name (runs/<name>/<map>/<seed>).
    display: the name the paper's tables and figures use.
    cls: "module:Class" of the implementation (imported only when a method is built).
    config: stem of its YAML in config/methods/ (that file may be an overlay on another, see gawm.method_config).
    world_model: whether it learns a world model, so that `gawm analyze` (GCI/GPE, Tables 2-3) applies.
    """

    name: str
    display: str
    cls: str
    config: str
    world_model: bool

    def load_class(self) -> type:
        module, cls = self.cls.split(":")
        return getattr(importlib.import_module(module), cls)


# The order here is the order of table rows and figure panels.
_SPECS = (
    MethodSpec("gawm", "GAWM", "gawm.gawm_method:GAWMMethod", "gawm", world_model=True),
    MethodSpec("gawm_star", "GAWM*", "gawm.gawm_method:GAWMMethod", "gawm_star", world_model=True),
    MethodSpec("mag", "MAG", "baselines.mag.method:MAGMethod", "mag", world_model=True),
    MethodSpec("mamba", "MAMBA", "baselines.mamba.method:MAMBAMethod", "mamba", world_model=True),
    MethodSpec("mappo", "MAPPO", "baselines.mappo.method:MAPPOMethod", "mappo", world_model=False),
    MethodSpec("qmix", "QMIX", "baselines.qmix.method:QMIXMethod", "qmix", world_model=False),
)
REGISTRY: dict[str, MethodSpec] = {s.name: s for s in _SPECS}
WORLD_MODEL_METHODS: tuple[str, ...] = tuple(s.name for s in _SPECS if s.world_model)
METHOD_ORDER: list[str] = [s.display for s in _SPECS]  # display names, in table/figure order
DISPLAY: dict[str, str] = {s.name: s.display for s in _SPECS}  # registry name -> display name


def get_spec(name: str) -> MethodSpec:
    """The record of method `name`; an unknown name is a ValueError listing the known ones."""
    if name not in REGISTRY:
        raise ValueError(f"unknown method '{name}'; known methods: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name]
