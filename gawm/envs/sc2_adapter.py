"""The `sc2` backend: oxwhirl's SMAC on a real StarCraft II install, for clusters that have one.

The import is lazy: `make_env(..., backend="sc2")` is the only thing that touches it. SMAC's env already
implements the interface of gawm.envs.base.MultiAgentEnv, so the adapter only fixes the SMAC defaults the
simulator reproduces and checks that the install is there. (PyPI's `smac` is SMAC3, an unrelated
hyperparameter optimiser; the right package is installed from oxwhirl's repository, see README.)
"""

from __future__ import annotations

import os
from typing import Any

INSTALL_HINT = ("backend 'sc2' needs oxwhirl's SMAC and StarCraft II: "
                "pip install 'smac @ git+https://github.com/oxwhirl/smac.git' (NOT PyPI's 'smac', which is SMAC3), "
                "install StarCraft II 4.10 with the SMAC maps and set SC2PATH")


def make_sc2_env(map_name: str, seed: int | None = None, **smac_kwargs: Any):
    """A StarCraft2Env (SMAC's defaults unless `smac_kwargs` say otherwise); a clear ImportError when SMAC or
    SC2 are missing. Timeouts reach the runner through SerialVecEnv, which needs no `continuing_episode`."""
    try:
        from smac.env import StarCraft2Env  # type: ignore[import-not-found]
    except ImportError as exc:  # SMAC3 (PyPI 'smac') has no smac.env either
        raise ImportError(INSTALL_HINT) from exc
    sc2path = os.environ.get("SC2PATH")
    if not sc2path or not os.path.isdir(sc2path):
        raise ImportError(f"SC2PATH is unset or not a directory ({sc2path!r}); " + INSTALL_HINT)
    return StarCraft2Env(map_name=map_name, seed=seed, **smac_kwargs)
