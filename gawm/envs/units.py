"""StarCraft II (Legacy of the Void) unit and weapon data used by the embedded battle simulator (v2).

Times: Liquipedia lists LotV times in real seconds at "Faster" speed, where SC2 runs 22.4 game loops per
second; SMAC advances `step_mul = 8` loops per environment step, so one env step is 8 / 22.4 = 0.357 s.
Everything here is converted to game loops (times) and distance per game loop (speeds), the clock of
the simulator's inner loop.

Sources, named per value in the table below:
  [LP]  Liquipedia unit pages (LotV, Faster): health, shields, armour, damage, bonus, cooldown, range,
        speed, sight; radius = half the unit's footprint as listed there and in SMAClite's unit JSON;
  [SL]  SMAClite's unit JSON (uoe-agents/smaclite, smaclite/env/units/smaclite_units/*.json), which
        copies SC2's values: the same numbers as [LP] where both list a value; spine crawler health
        regeneration 0.38/s and minimum scan range 10;
  [SMAC] smac/env/starcraft2/starcraft2.py: `unit_max_cooldown` normalisers, shoot range 6, sight 9;
  [EST] estimate: SC2's weapon table (damage point, backswing, missile speed, scan delay) is in the
        game's binary data, not in any public text this project could read. Each estimate says how it
        was chosen. They are the numbers most worth replacing with SC2 measurements.

`smac_max_cooldown` is the normaliser SMAC divides `weapon_cooldown` by in the global state; it is kept
separately from the true cooldown so the state vector is scaled exactly as SMAC scales it.
"""

from __future__ import annotations

from dataclasses import dataclass

LOOPS_PER_SECOND_FASTER = 22.4  # [LP] "Game speed": Faster = 22.4 game loops per real second
STEP_MUL = 8  # [SMAC] game loops per env step (StarCraft2Env step_mul default)
SECONDS_PER_STEP = STEP_MUL / LOOPS_PER_SECOND_FASTER


@dataclass(frozen=True)
class UnitType:
    """Static stats of one unit type. Times are in game loops, speeds in distance per game loop."""

    name: str
    race: str  # "P", "T" or "Z"
    hp: float
    shield: float
    armor: float
    damage: float  # per hit, before bonus and armour
    attacks: int  # hits per attack (zealot and colossus hit twice)
    bonus: float  # extra damage per hit against targets of `bonus_vs`
    bonus_vs: str  # "light", "armored" or ""
    cooldown: float  # loops from the start of one attack to the start of the next
    damage_point: float  # loops of wind-up before the hit is released; moving away cancels it
    backswing: float  # loops after the release during which an attacking unit stays put
    missile_speed: float  # distance per loop of the projectile; 0 = the hit lands at release
    retarget: float  # loops an auto-acquired switch of target costs before the wind-up can start
    range: float  # weapon range, edge to edge (melee units: 0.1)
    speed: float  # distance per game loop (0 for structures)
    radius: float
    sight: float  # sight range (documentation; observations use SMAC's 9)
    scan: float  # the built-in AI acquires targets within scan + target radius (centre distance)
    light: bool
    armored: bool
    collides: bool  # colossi step over small units; structures are immobile but still block
    splash_half_length: float  # colossus: half length of the line its lances sweep (0 = single target)
    hp_regen: float  # health per loop, always on (zerg)
    smac_max_cooldown: float


def _loops(seconds: float) -> float:
    return seconds * LOOPS_PER_SECOND_FASTER


UNIT_TYPES: dict[str, UnitType] = {
    u.name: u
    for u in (
        UnitType(
            "marine", "T", hp=45, shield=0, armor=0,  # [LP]
            damage=6, attacks=1, bonus=0, bonus_vs="",  # [LP] C-14 Gauss Rifle
            cooldown=_loops(0.61),  # [LP]
            damage_point=_loops(0.05),  # [EST] a hitscan rifle fires almost as soon as it aims: ~1 loop
            backswing=_loops(0.05),  # [EST] same as the wind-up
            missile_speed=0.0,  # [LP] instant (hitscan) attack
            retarget=_loops(0.09),  # [EST] 2 loops: SC2 scans for targets a few times per second
            range=5.0, speed=3.15 / LOOPS_PER_SECOND_FASTER,  # [LP]
            radius=0.375, sight=9.0, light=True, armored=False, collides=True,  # [LP] / [SL] size 0.75
            scan=5.0,  # [SL] minimum_scan_range 5 (UnitStats default)
            splash_half_length=0.0, hp_regen=0.0, smac_max_cooldown=15,  # [SMAC]
        ),
        UnitType(
            "stalker", "P", hp=80, shield=80, armor=1,  # [LP]
            damage=13, attacks=1, bonus=5, bonus_vs="armored",  # [LP] Particle Disruptors
            cooldown=_loops(1.34),  # [LP] / [SL]
            damage_point=_loops(0.1),  # [EST] a short aim before the disruptor leaves the barrel, ~2 loops
            backswing=_loops(0.1),  # [EST]
            missile_speed=1.0,  # [EST] a visible projectile: ~22 distance/s, ~0.3 s over its range of 6
            retarget=_loops(0.09),  # [EST] as the marine
            range=6.0, speed=4.13 / LOOPS_PER_SECOND_FASTER,  # [LP]
            radius=0.625, sight=10.0, light=False, armored=True, collides=True,  # [LP] / [SL] size 1.25
            scan=6.0,  # [SL] minimum scan range 5, raised to the weapon range: SC2 acquires within range
            splash_half_length=0.0, hp_regen=0.0, smac_max_cooldown=35,  # [SMAC]
        ),
        UnitType(
            "zealot", "P", hp=100, shield=50, armor=1,  # [LP]
            damage=8, attacks=2, bonus=0, bonus_vs="",  # [LP] Psi Blades, 8 (x2)
            cooldown=_loops(0.86),  # [LP] 1.2 game seconds = 0.857 s
            damage_point=_loops(0.0),  # [EST] melee blades strike on contact
            backswing=_loops(0.1),  # [EST]
            missile_speed=0.0,  # melee
            retarget=_loops(0.09),  # [EST] as the marine
            range=0.1, speed=3.15 / LOOPS_PER_SECOND_FASTER,  # [LP] melee 0.1, no Charge (SMAC has no upgrades)
            radius=0.5, sight=9.0, light=True, armored=False, collides=True,  # [LP] / [SL] size 1.0
            scan=5.0,  # [SL] minimum_scan_range 5
            splash_half_length=0.0, hp_regen=0.0, smac_max_cooldown=22,  # [SMAC]
        ),
        UnitType(
            "colossus", "P", hp=200, shield=150, armor=1,  # [LP]
            damage=10, attacks=2, bonus=5, bonus_vs="light",  # [LP] Thermal Lances 10 (+5 light) x2
            cooldown=_loops(1.07),  # [LP] 1.5 game seconds
            damage_point=_loops(0.1),  # [EST] the lances sweep after a short charge, ~2 loops
            backswing=_loops(0.1),  # [EST]
            missile_speed=0.0,  # [LP] beam: instant
            retarget=_loops(0.09),  # [EST] as the marine
            range=7.0, speed=3.15 / LOOPS_PER_SECOND_FASTER,  # [LP] range 7 (without Extended Thermal Lance)
            radius=1.0, sight=10.0, light=False, armored=True, collides=False,  # [LP] / [SL]; walks over small units
            scan=7.0,  # [SL] minimum scan range 5, raised to the weapon range
            splash_half_length=1.4,  # [SL] colossus.json: LASER_BEAM 2.8 wide, 0.3 deep, across the line of fire
            hp_regen=0.0, smac_max_cooldown=24,  # [SMAC]
        ),
        UnitType(
            "zergling", "Z", hp=35, shield=0, armor=0,  # [LP]
            damage=5, attacks=1, bonus=0, bonus_vs="",  # [LP] Claws
            cooldown=_loops(0.497),  # [LP] / [SL]
            damage_point=_loops(0.0),  # [EST] melee claws strike on contact
            backswing=_loops(0.05),  # [EST]
            missile_speed=0.0,  # melee
            retarget=_loops(0.09),  # [EST] as the marine
            range=0.1, speed=4.13 / LOOPS_PER_SECOND_FASTER,  # [LP] 4.13 off creep, no Metabolic Boost
            radius=0.375, sight=8.0, light=True, armored=False, collides=True,  # [LP] / [SL] size 0.75
            scan=5.0,  # [SL] minimum_scan_range 5
            splash_half_length=0.0,
            hp_regen=0.2734 / LOOPS_PER_SECOND_FASTER,  # [LP] zerg regeneration 0.2734 hp/s off creep
            smac_max_cooldown=11,  # [SMAC]
        ),
        UnitType(
            "spine_crawler", "Z", hp=300, shield=0, armor=2,  # [LP] / [SL]
            damage=25, attacks=1, bonus=5, bonus_vs="armored",  # [LP] Impaler Tentacle 25 (+5 armored)
            cooldown=_loops(1.32),  # [LP] / [SL]
            damage_point=_loops(0.36),  # [EST] the tentacle travels underground to its target before it
            # strikes; 8 loops (one env step) so a stalker that is hit and walks away at once escapes the next
            backswing=_loops(0.2),  # [EST]
            missile_speed=0.0,  # the travel is folded into the damage point
            retarget=_loops(0.89),  # [EST] 20 loops: a structure's slow re-acquisition after its target leaves;
            # chosen inside the 16-24 loops with which this project's 2s_vs_1sc alternation test (issue 12)
            # made the map as easy as SMAC reports it, and documented as this simulator's assumption
            range=7.0, speed=0.0,  # [LP] range 7, a structure
            radius=1.0, sight=11.0, light=False, armored=True, collides=True,  # [LP] sight 11; radius [EST] from
            # the 2x2 footprint [LP]; SMAClite lists size 1 (radius 0.5). It sets how many moves leave the
            # crawler's reach on 2s_vs_1sc (benchmarks/alternation_sweep.py, docs/simulator.md)
            scan=7.0,  # static defence: fires only within its weapon range (SMAClite scan 10 is moot)
            splash_half_length=0.0,
            hp_regen=0.38 / LOOPS_PER_SECOND_FASTER,  # [SL] hp_regen 0.38 (off creep)
            smac_max_cooldown=1,  # [SMAC] not an agent on any paper map; never used
        ),
    )
}

SHIELD_REGEN_PER_LOOP = 2.0 / 16.0  # [LP] shields: 2 per game second (16 loops) ...
SHIELD_REGEN_DELAY_LOOPS = 160  # [LP] ... after 10 game seconds (160 loops) without damage
