"""The eight SMAC maps of the GAWM paper, as data.

Team compositions, episode limits, races, `unit_type_bits` and `map_type` are SMAC's
(smac/env/starcraft2/maps/smac_maps.py); they fix every vector size. SMAC's .SC2Map files are binary;
geometry comes from SMAClite's map data (uoe-agents/smaclite, smaclite/env/maps/map.py and
smaclite_maps/*.json, "found using the Starcraft II map editor"): a 32 x 32 field, the agents' group at
(9, 16) and the enemies' at (23, 16) (14 apart, out of sight), the built-in AI's attack point at the
agents' spawn, and 2s_vs_1sc's exact spawn points. Corridor's walls are this project's estimate (see
terrain.py): SMAClite lists only the two groups, (19.04, 19.12) and (27.91, 28.24), 12.7 apart.

Unit-type one-hot ids follow SMAC's `get_unit_type_id` exactly, including its quirk on stalker+zealot maps:
allies are numbered stalker=0, zealot=1 but enemies zealot=0, stalker=1 (SC2 type ids 74 and 73).
"""

from __future__ import annotations

from dataclasses import dataclass

MAP_NAMES: tuple[str, ...] = ("2s_vs_1sc", "3s_vs_3z", "2s3z", "3s_vs_4z", "3s_vs_5z", "1c3s5z", "8m", "corridor")

# SMAC's ally / enemy type numbering per map_type (get_unit_type_id); maps with unit_type_bits == 0 need none.
_ALLY_TYPE_ID = {
    "stalkers_and_zealots": {"stalker": 0, "zealot": 1},
    "colossi_stalkers_zealots": {"colossus": 0, "stalker": 1, "zealot": 2},
}
_ENEMY_TYPE_ID = {
    "stalkers_and_zealots": {"zealot": 0, "stalker": 1},
    "colossi_stalkers_zealots": {"colossus": 0, "stalker": 1, "zealot": 2},
}


@dataclass(frozen=True)
class MapSpec:
    """Everything the simulator needs to lay out and score one SMAC scenario."""

    name: str
    allies: tuple[str, ...]  # unit type names, agent order
    enemies: tuple[str, ...]
    episode_limit: int
    a_race: str
    b_race: str
    unit_type_bits: int
    map_type: str
    size: tuple[int, int] = (32, 32)  # [SMAClite] MapInfo width, height
    ally_spawn: tuple[float, float] = (9.0, 16.0)  # [SMAClite] ally group
    enemy_spawn: tuple[float, float] = (23.0, 16.0)  # [SMAClite] enemy group
    terrain: str = "open"
    ally_jitter: float = 0.5  # [EST] uniform spawn noise per unit and axis, so episodes differ
    enemy_jitter: float = 0.5
    ally_facing: float = 0.0  # direction (radians) from the ally group towards the enemy: east
    enemy_facing: float = 3.141592653589793  # west
    attack_point: tuple[float, float] | None = None  # [SMAClite] the AI's attack-move goal; None = ally_spawn
    ally_offsets: tuple[tuple[float, float], ...] | None = None  # explicit per-agent offsets from ally_spawn
    ally_rows: int = 4  # units side by side in a spawn block (the block's depth grows with the team)
    ally_spacing: float | None = None  # centre spacing in the ally block (default: widest unit + 0.3)
    enemy_rows: int = 4

    def __post_init__(self) -> None:
        if self.attack_point is None:
            object.__setattr__(self, "attack_point", self.ally_spawn)

    @property
    def n_agents(self) -> int:
        return len(self.allies)

    @property
    def n_enemies(self) -> int:
        return len(self.enemies)

    @property
    def n_actions(self) -> int:
        return 6 + self.n_enemies

    @property
    def shield_bits_ally(self) -> int:
        return 1 if self.a_race == "P" else 0

    @property
    def shield_bits_enemy(self) -> int:
        return 1 if self.b_race == "P" else 0

    def type_id(self, unit: str, ally: bool) -> int:
        """SMAC's unit-type one-hot index for `unit` (only meaningful when unit_type_bits > 0)."""
        if self.unit_type_bits == 0:
            return 0
        table = (_ALLY_TYPE_ID if ally else _ENEMY_TYPE_ID)[self.map_type]
        return table[unit]


def _rep(unit: str, n: int) -> tuple[str, ...]:
    return (unit,) * n


MAPS: dict[str, MapSpec] = {
    m.name: m
    for m in (
        # [SMAClite] 2s_vs_1sc.json: crawler at (13.92, 20.04), stalkers at (11.12, 10.34) and (16.98, 10.37):
        # 10.1 from the crawler, 5.9 apart, south of it; the AI's attack point is the crawler itself
        MapSpec("2s_vs_1sc", _rep("stalker", 2), ("spine_crawler",), 300, "P", "Z", 0, "stalkers",
                ally_spawn=(14.05, 10.355), enemy_spawn=(13.92, 20.04), enemy_jitter=0.0,  # a fixed structure
                ally_jitter=0.25, ally_offsets=((-2.93, -0.015), (2.93, 0.015)), ally_facing=1.5707963267948966,
                attack_point=(13.92, 20.04)),
        MapSpec("3s_vs_3z", _rep("stalker", 3), _rep("zealot", 3), 150, "P", "P", 0, "stalkers"),
        MapSpec("2s3z", _rep("stalker", 2) + _rep("zealot", 3), _rep("stalker", 2) + _rep("zealot", 3), 120,
                "P", "P", 2, "stalkers_and_zealots"),
        MapSpec("3s_vs_4z", _rep("stalker", 3), _rep("zealot", 4), 200, "P", "P", 0, "stalkers"),
        MapSpec("3s_vs_5z", _rep("stalker", 3), _rep("zealot", 5), 250, "P", "P", 0, "stalkers"),
        MapSpec("1c3s5z", ("colossus",) + _rep("stalker", 3) + _rep("zealot", 5),
                ("colossus",) + _rep("stalker", 3) + _rep("zealot", 5), 180, "P", "P", 3,
                "colossi_stalkers_zealots"),
        MapSpec("8m", _rep("marine", 8), _rep("marine", 8), 120, "T", "T", 0, "marines"),
        # [EST] corridor (walls in terrain.py): zealots 3 abreast in the open, 4 east of the passage's mouth;
        # zerglings 6 abreast 11 further east (SMAClite: the groups are 12.7 apart); the AI's attack point
        # lies behind the passage, as SMAClite's (4.47, 4.33) lies 20.8 behind the zealots
        MapSpec("corridor", _rep("zealot", 6), _rep("zergling", 24), 400, "P", "Z", 0, "zealots",
                ally_spawn=(17.0, 16.5), enemy_spawn=(28.0, 16.5), terrain="corridor", attack_point=(3.0, 16.5),
                ally_rows=3, enemy_rows=6, ally_jitter=0.0),  # [EST] three abreast, 1.3 apart:
        # three abreast fill the passage
    )
}


def get_map(name: str) -> MapSpec:
    """Look a map up by SMAC name; an unknown name is a ValueError listing the known ones."""
    try:
        return MAPS[name]
    except KeyError:
        raise ValueError(f"unknown map '{name}'; known maps: {', '.join(MAP_NAMES)}") from None
