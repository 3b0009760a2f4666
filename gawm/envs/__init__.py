"""Environments: SMAC's interface with two backends, the embedded simulator ("sim") and StarCraft II ("sc2")."""

from __future__ import annotations

# Version of the embedded battle simulator ("sim" backend); label results with it. 1: the engine up to
# commit 67ea894 (damage once per step, no wind-up, instant re-targeting); 2: game-loop weapons, SC2
# acquisition, surrounds, SMAClite layouts (docs/simulator.md); 3: v2's engine with SC2's game-data values
# in place of v2's estimates wherever the data has one (gawm/envs/units.py [SC2]; spine crawler radius and
# missile, marine and colossus damage points, scan ranges, zergling regeneration).
SIMULATOR_VERSION = 3

from gawm.envs.base import MultiAgentEnv, SerialVecEnv, VecMultiAgentEnv  # noqa: E402
from gawm.envs.maps import MAP_NAMES, MAPS, MapSpec, get_map  # noqa: E402
from gawm.envs.sim_env import SimEnv, VecSimEnv  # noqa: E402

BACKENDS = ("sim", "sc2")


def _check(map_name: str, backend: str) -> None:
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend '{backend}'; choose one of {', '.join(BACKENDS)}")
    get_map(map_name)  # ValueError for an unknown map


def make_env(map_name: str, backend: str = "sim", seed: int | None = None) -> MultiAgentEnv:
    """One battle behind SMAC's StarCraft2Env interface."""
    _check(map_name, backend)
    if backend == "sim":
        return SimEnv(map_name, seed=seed)
    from gawm.envs.sc2_adapter import make_sc2_env

    return make_sc2_env(map_name, seed=seed)


def make_vec_env(map_name: str, n_envs: int, backend: str = "sim", seed: int | None = None) -> VecMultiAgentEnv:
    """B battles behind the batched interface (numpy-vectorised for sim, serial SC2 instances for sc2)."""
    _check(map_name, backend)
    if backend == "sim":
        return VecSimEnv(map_name, n_envs, seed=seed)
    from functools import partial

    from gawm.envs.sc2_adapter import make_sc2_env

    base = 0 if seed is None else seed
    return SerialVecEnv.from_factories([partial(make_sc2_env, map_name, seed=base + i) for i in range(n_envs)])


__all__ = ["BACKENDS", "SIMULATOR_VERSION", "MAP_NAMES", "MAPS", "MapSpec", "MultiAgentEnv", "SerialVecEnv", "SimEnv",
           "VecMultiAgentEnv", "VecSimEnv", "get_map", "make_env", "make_vec_env"]
