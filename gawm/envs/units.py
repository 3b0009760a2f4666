"""StarCraft II (Legacy of the Void) unit statistics used by the embedded battle simulator.

Times are converted from the "Faster" game speed figures (what Liquipedia lists) to game loops: SC2 runs
22.4 game loops per real second at Faster, and SMAC advances `step_mul = 8` loops per environment step,
so one env step is 8 / 22.4 = 0.357 s of real time, i.e. 0.5 "game seconds" (16 loops per game second).

`smac_max_cooldown` is the normaliser SMAC divides `weapon_cooldown` by in the global state
(StarCraft2Env.unit_max_cooldown); it is kept separately from the true cooldown so the state vector is
scaled exactly as SMAC scales it.
"""

from __future__ import annotations

from dataclasses import dataclass

LOOPS_PER_SECOND_FASTER = 22.4
STEP_MUL = 8  # game loops per env step (SMAC default)
GAME_SECONDS_PER_STEP = STEP_MUL / 16.0  # 16 loops per game second


@dataclass(frozen=True)
class UnitType:
    """Static stats of one unit type; `speed` is distance per game loop, `cooldown` in game loops."""

    name: str
    race: str  # "P", "T" or "Z"
    hp: float
    shield: float
    armor: float
    damage: float  # per attack, before bonus and armor
    attacks: int  # attacks per volley (zealot and colossus hit twice)
    bonus: float  # extra damage per attack against targets of `bonus_vs`
    bonus_vs: str  # "light", "armored" or ""
    cooldown: float  # game loops between volleys
    range: float  # weapon range, edge to edge (melee units: 0.1)
    speed: float  # distance per game loop (0 for structures)
    radius: float
    sight: float  # acquisition range of the built-in AI
    light: bool
    armored: bool
    collides: bool  # colossi step over small units; structures are immobile but still block
    smac_max_cooldown: float


def _u(name, race, hp, shield, armor, damage, attacks, bonus, bonus_vs, cd_s, rng, speed_s, radius, sight,
       light, armored, collides, smac_cd) -> UnitType:
    return UnitType(name, race, hp, shield, armor, damage, attacks, bonus, bonus_vs,
                    cd_s * LOOPS_PER_SECOND_FASTER, rng, speed_s / LOOPS_PER_SECOND_FASTER, radius, sight,
                    light, armored, collides, smac_cd)


# name, race, hp, shield, armor, dmg, attacks, bonus, bonus_vs, cooldown (s, Faster), range, speed (/s, Faster),
# radius, sight, light, armored, collides, SMAC's max-cooldown normaliser
UNIT_TYPES: dict[str, UnitType] = {
    u.name: u
    for u in (
        _u("marine", "T", 45, 0, 0, 6, 1, 0, "", 0.61, 5.0, 3.15, 0.375, 9, True, False, True, 15),
        _u("stalker", "P", 80, 80, 1, 13, 1, 5, "armored", 1.34, 6.0, 4.13, 0.625, 10, False, True, True, 35),
        _u("zealot", "P", 100, 50, 1, 8, 2, 0, "", 0.86, 0.1, 3.15, 0.5, 9, True, False, True, 22),
        _u("colossus", "P", 200, 150, 1, 10, 2, 5, "light", 1.07, 7.0, 3.15, 1.0, 10, False, True, False, 24),
        _u("zergling", "Z", 35, 0, 0, 5, 1, 0, "", 0.497, 0.1, 4.13, 0.375, 8, True, False, True, 11),
        _u("spine_crawler", "Z", 300, 0, 2, 25, 1, 5, "armored", 1.32, 7.0, 0.0, 1.0, 11, False, True, True, 1),
    )
}

SHIELD_REGEN_PER_STEP = 2.0 * GAME_SECONDS_PER_STEP  # 2 shield per game second ...
SHIELD_REGEN_DELAY_STEPS = int(10.0 / GAME_SECONDS_PER_STEP)  # ... after 10 game seconds without damage
ZERG_REGEN_PER_STEP = 0.2734 * GAME_SECONDS_PER_STEP  # zerg life regeneration, always on
