"""The per-map strategy conformance specification of the simulator (v2 onwards; v3 holds every band).

Each band says how a scripted strategy (gawm/envs/strategies.py, which reads only observations and
action masks) must fare on a map: the micro SC2 rewards on that map must win, the naive play SC2
punishes must lose, and uniform-random play must lose everywhere. These bands are this project's
specification of "each map is won the way SC2 lets it be won" (issue 12); docs/simulator.md lists them
with the measured results. benchmarks/strategy_conformance.py measures them over 200 episodes each;
tests/test_envs.py re-checks them with fewer episodes and a statistical margin.
"""

from __future__ import annotations

from dataclasses import dataclass

from gawm.envs.maps import MAP_NAMES


@dataclass(frozen=True)
class Band:
    map_name: str
    strategy: str
    at_least: float | None = None  # must win at least this fraction
    at_most: float | None = None  # must win at most this fraction
    why: str = ""

    def holds(self, win_rate: float, margin: float = 0.0) -> bool:
        """True when `win_rate` is inside the band widened by `margin` (a sampling allowance)."""
        if self.at_least is not None and win_rate < self.at_least - margin:
            return False
        if self.at_most is not None and win_rate > self.at_most + margin:
            return False
        return True

    @property
    def text(self) -> str:
        return f">= {self.at_least:.0%}" if self.at_least is not None else f"<= {self.at_most:.0%}"


BANDS: tuple[Band, ...] = (
    Band("2s_vs_1sc", "alternation", at_least=0.80,
         why="the stalker the crawler hits steps out of reach; the crawler re-targets and winds up again"),
    Band("2s_vs_1sc", "attack_closest", at_most=0.05, why="both stalkers standing and firing"),
    *(Band(m, "kiting", at_least=0.80, why="fire, step away from a zealot in range, come back")
      for m in ("3s_vs_3z", "3s_vs_4z", "3s_vs_5z")),
    *(Band(m, "attack_closest", at_most=0.10, why="stalkers standing and firing") for m in ("3s_vs_4z", "3s_vs_5z")),
    Band("corridor", "hold_passage", at_least=0.50, why="the zealots fight the zerglings at the passage"),
    Band("corridor", "attack_closest", at_most=0.05, why="the zealots charge into the open and get surrounded"),
    Band("corridor", "stop", at_most=0.05, why="the zealots stand in the open and get surrounded"),
    Band("8m", "focus_fire", at_least=0.70, why="all marines shoot the same enemy"),
    Band("2s3z", "focus_fire_melee_front", at_least=0.60, why="focus fire with the zealots in front"),
    Band("1c3s5z", "focus_fire_melee_front", at_least=0.60, why="focus fire with the zealots in front"),
) + tuple(Band(m, "uniform_random", at_most=0.02, why="uniform random over available actions") for m in MAP_NAMES)
