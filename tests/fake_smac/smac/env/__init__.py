"""Test-only stand-in for `smac.env`: a StarCraft2Env that plays the simulator instead of StarCraft II.

tests/test_sc2_adapter.py puts tests/fake_smac on sys.path so that `gawm.envs.sc2_adapter` imports this
instead of oxwhirl's SMAC. It behaves like SMAC where the adapter can tell (gawm.envs.smac_compat gives the
constructor, info keys and `continuing_episode`), records every construction so the tests can check what
the adapter passed, and, like a real env holding a StarCraft II process, cannot be pickled.
"""

from __future__ import annotations

from gawm.envs.smac_compat import StarCraft2Env as _SimStarCraft2Env

CREATED: list[dict] = []  # the kwargs of every StarCraft2Env built, in order


class StarCraft2Env(_SimStarCraft2Env):
    def __init__(self, map_name="8m", **kwargs):
        CREATED.append({"map_name": map_name, **kwargs})
        super().__init__(map_name=map_name, **kwargs)
        self.closed = False

    def close(self):
        self.closed = True
        super().close()

    def __reduce__(self):
        raise TypeError("cannot pickle a StarCraft II process (fake smac)")


__all__ = ["StarCraft2Env", "CREATED"]
