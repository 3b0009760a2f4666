"""StarCraft II (Legacy of the Void) unit and weapon data used by the embedded battle simulator (v3).

Times: SC2's game data counts game seconds at "Normal" speed, 16 game loops each; Liquipedia lists real
seconds at "Faster" speed, 22.4 loops each (x1.4). SMAC advances `step_mul = 8` loops per environment step,
so one env step is 8 / 22.4 = 0.357 real seconds at Faster. Everything here is converted to game loops
(times) and distance per game loop (speeds), the clock of the simulator's inner loop.

Sources, named per value in the table below:
  [SC2] SC2's own game data: Blizzard's XML (UnitData, WeaponData, EffectData of the liberty, swarm and void
        mods) as converted to JSON by the public sc2-techtree project (src/json/*.json and
        src/computed/data.json, read 26 Nov 2026); times in game seconds at Normal speed (x16 loops).
        That data is of a later patch than SMAC's SC2 4.10; where it differs from the LotV values SMAC ran
        with (the colossus's health and shields), the [LP] value is kept and the comment says so.
  [LP]  Liquipedia unit pages (LotV, Faster): health, shields, armour, damage, bonus, cooldown, range,
        speed, sight; radius = half the unit's footprint as listed there and in SMAClite's unit JSON;
  [SL]  SMAClite's unit JSON (uoe-agents/smaclite, smaclite/env/units/smaclite_units/*.json), which
        copies SC2's values: the same numbers as [LP] where both list a value; spine crawler health
        regeneration 0.38/s and minimum scan range 10;
  [SMAC] smac/env/starcraft2/starcraft2.py: `unit_max_cooldown` normalisers, shoot range 6, sight 9;
  [EST] estimate, where the game data above has no value (a field it leaves to Core defaults it does not
        include, or a missile's speed, which lives in mover data it does not convert). Each estimate says
        how it was chosen. They are the numbers most worth replacing with SC2 measurements.

Simulator v3 (26 Nov 2026) took every value the game data gives in place of v2's estimates: the spine
crawler's radius (0.875, was 1.0) and its missile (damage point 5.3 loops, then a committed missile; v2 folded
an estimated 8-loop total into the damage point), the marine's and colossus's damage points and the marine's
12-loop backswing, the minimum scan ranges of marine, stalker and colossus (+0.5 each), cooldowns and speeds
to the data's exact values, and the zergling's regeneration (v2 read 0.2734 hp per Normal second as per
Faster second). docs/simulator.md lists the v2 -> v3 differences and what they changed.

`smac_max_cooldown` is the normaliser SMAC divides `weapon_cooldown` by in the global state; it is kept
separately from the true cooldown so the state vector is scaled exactly as SMAC scales it.
"""

from __future__ import annotations

from dataclasses import dataclass

LOOPS_PER_SECOND_FASTER = 22.4  # [LP] "Game speed": Faster = 22.4 game loops per real second
LOOPS_PER_GAME_SECOND = 16.0  # [SC2] the game data's second: Normal speed, 16 game loops
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
    """Real seconds at Faster speed (Liquipedia's times) -> game loops."""
    return seconds * LOOPS_PER_SECOND_FASTER


def _game(seconds: float) -> float:
    """Game seconds at Normal speed (SC2's data) -> game loops; also speeds and rates per game second -> per loop."""
    return seconds * LOOPS_PER_GAME_SECOND


UNIT_TYPES: dict[str, UnitType] = {
    u.name: u
    for u in (
        UnitType(
            "marine", "T", hp=45, shield=0, armor=0,  # [LP] / [SC2] LifeMax 45
            damage=6, attacks=1, bonus=0, bonus_vs="",  # [LP] / [SC2] GuassRifle damage 6
            cooldown=_game(0.8608),  # [SC2] GuassRifle Period 0.8608 (Liquipedia rounds it to 0.61 s Faster)
            damage_point=_game(0.05),  # [SC2] GuassRifle DamagePoint 0.05: 0.8 loops
            backswing=_game(0.75),  # [SC2] GuassRifle Backswing 0.75: 12 loops
            missile_speed=0.0,  # [LP] instant (hitscan) attack
            retarget=_loops(0.09),  # [EST] 2 loops: SC2 scans for targets a few times per second
            range=5.0, speed=1 / _game(1 / 2.25),  # [LP] range 5; [SC2] Speed 2.25 per game second
            radius=0.375, sight=9.0, light=True, armored=False, collides=True,  # [SC2] Radius 0.375; [LP] sight
            scan=5.5,  # [SC2] GuassRifle MinScanRange 5.5
            splash_half_length=0.0, hp_regen=0.0, smac_max_cooldown=15,  # [SMAC]
        ),
        UnitType(
            "stalker", "P", hp=80, shield=80, armor=1,  # [LP] / [SC2] LifeMax 80, ShieldsMax 80, LifeArmor 1
            damage=13, attacks=1, bonus=5, bonus_vs="armored",  # [SC2] ParticleDisruptorsU 13 (+5 Armored)
            cooldown=_game(1.87),  # [SC2] ParticleDisruptors Period 1.87
            damage_point=_loops(0.1),  # [EST] not in the data (a Core default): a short aim, ~2 loops
            backswing=_loops(0.1),  # [EST] not in the data
            missile_speed=1.0,  # [EST] the launch-missile and its mover are not in the data: ~22 distance/s,
            # a visible bolt taking ~0.3 s over its range of 6
            retarget=_loops(0.09),  # [EST] as the marine
            range=6.0, speed=1 / _game(1 / 2.9531),  # [SC2] Range 6; Speed 2.9531 per game second
            radius=0.625, sight=10.0, light=False, armored=True, collides=True,  # [SC2] Radius 0.625; [LP] sight
            scan=6.5,  # [SC2] ParticleDisruptors MinScanRange 6.5
            splash_half_length=0.0, hp_regen=0.0, smac_max_cooldown=35,  # [SMAC]
        ),
        UnitType(
            "zealot", "P", hp=100, shield=50, armor=1,  # [LP] / [SC2] LifeMax 100, ShieldsMax 50, LifeArmor 1
            damage=8, attacks=2, bonus=0, bonus_vs="",  # [SC2] PsiBladesBurst: 2 x PsiBlades 8
            cooldown=_game(1.2),  # [SC2] PsiBlades Period 1.2
            damage_point=_game(0.0),  # [SC2] PsiBlades DamagePoint 0
            backswing=_loops(0.1),  # [EST] not in the data
            missile_speed=0.0,  # melee
            retarget=_loops(0.09),  # [EST] as the marine
            range=0.1, speed=1 / _game(1 / 2.25),  # [SC2] Range 0.1, Speed 2.25 (no Charge: SMAC has no upgrades)
            radius=0.5, sight=9.0, light=True, armored=False, collides=True,  # [LP] / [SL] size 1.0 ([SC2] gives
            # InnerRadius and SeparationRadius 0.375 but no Radius of its own); [LP] sight
            scan=5.0,  # [SL] minimum_scan_range 5 (not in the data for PsiBlades)
            splash_half_length=0.0, hp_regen=0.0, smac_max_cooldown=22,  # [SMAC]
        ),
        UnitType(
            "colossus", "P", hp=200, shield=150, armor=1,  # [LP] SMAC-era LotV; [SC2]'s later patch lists 250 / 100
            damage=10, attacks=2, bonus=5, bonus_vs="light",  # [SC2] ThermalLancesMU 10 (+5 Light), 2 lances
            cooldown=_game(1.5),  # [SC2] ThermalLances Period 1.5
            damage_point=_game(0.0832),  # [SC2] ThermalLances DamagePoint 0.0832: 1.3 loops
            backswing=_loops(0.1),  # [EST] not in the data
            missile_speed=0.0,  # [LP] beam: instant
            retarget=_loops(0.09),  # [EST] as the marine
            range=7.0, speed=1 / _game(1 / 2.25),  # [SC2] Range 7 (no Extended Thermal Lance), Speed 2.25
            radius=1.0, sight=10.0, light=False, armored=True, collides=False,  # [SC2] Radius 1; walks over small units
            scan=7.5,  # [SC2] ThermalLances MinScanRange 7.5
            splash_half_length=1.4,  # [SC2] the lance sweeps points offset +-1.25 across the target, each hitting
            # within 0.15 (ThermalLancesForward/Reverse, ThermalLancesE): 1.25 + 0.15; [SL] LASER_BEAM 2.8 wide
            hp_regen=0.0, smac_max_cooldown=24,  # [SMAC]
        ),
        UnitType(
            "zergling", "Z", hp=35, shield=0, armor=0,  # [LP] / [SC2] LifeMax 35
            damage=5, attacks=1, bonus=0, bonus_vs="",  # [SC2] Claws 5
            cooldown=_game(0.696),  # [SC2] Claws Period 0.696
            damage_point=_loops(0.0),  # [EST] not in the data: melee claws strike on contact
            backswing=_loops(0.05),  # [EST] not in the data
            missile_speed=0.0,  # melee
            retarget=_loops(0.09),  # [EST] as the marine
            range=0.1, speed=1 / _game(1 / 2.9531),  # [SC2] Range 0.1, Speed 2.9531 off creep (no Metabolic Boost)
            radius=0.375, sight=8.0, light=True, armored=False, collides=True,  # [SC2] Radius 0.375; [LP] sight
            scan=5.0,  # [SL] minimum_scan_range 5 (not in the data for Claws)
            splash_half_length=0.0,
            hp_regen=0.2734 / LOOPS_PER_GAME_SECOND,  # [SC2] LifeRegenRate 0.2734 per game second (off creep)
            smac_max_cooldown=11,  # [SMAC]
        ),
        UnitType(
            "spine_crawler", "Z", hp=300, shield=0, armor=2,  # [LP] / [SC2] LifeMax 300, LifeArmor 2
            damage=25, attacks=1, bonus=5, bonus_vs="armored",  # [SC2] ImpalerTentacleU 25 (+5 Armored)
            cooldown=_game(1.85),  # [SC2] ImpalerTentacle Period 1.85
            damage_point=_game(0.3332),  # [SC2] ImpalerTentacle DamagePoint 0.3332: 5.3 loops, then it launches
            # a missile (Effect ImpalerTentacleLM, damage parent DU_WEAP_MISSILE): committed, it lands anyway
            backswing=_loops(0.2),  # [EST] not in the data
            missile_speed=2.6,  # [EST] the missile's mover is not in the data: the tentacle reaches a target at
            # its range in ~3 loops, so a strike lands within the env step its damage point ends in
            retarget=_loops(0.89),  # [EST] 20 loops: a structure's slow re-acquisition after its target leaves;
            # chosen inside the 16-24 loops with which this project's 2s_vs_1sc alternation test (issue 12)
            # made the map as easy as SMAC reports it, and documented as this simulator's assumption
            range=7.0, speed=0.0,  # [SC2] ImpalerTentacle Range 7, RangeSlop 0; a structure
            radius=0.875, sight=11.0, light=False, armored=True, collides=True,  # [SC2] Radius 0.875 (2x2
            # footprint); [LP] sight 11. It sets how many moves leave the crawler's reach on 2s_vs_1sc
            # (benchmarks/alternation_sweep.py, docs/simulator.md)
            scan=7.0,  # static defence: fires only within its weapon range (SMAClite scan 10 is moot)
            splash_half_length=0.0,
            hp_regen=0.2734 / LOOPS_PER_GAME_SECOND,  # [SC2] LifeRegenRate 0.2734 per game second (= [SL] 0.38/s
            # at Faster)
            smac_max_cooldown=1,  # [SMAC] not an agent on any paper map; never used
        ),
    )
}


SHIELD_REGEN_PER_LOOP = 2.0 / LOOPS_PER_GAME_SECOND  # [LP] / [SC2] ShieldRegenRate 2 per game second ...
SHIELD_REGEN_DELAY_LOOPS = 160  # [LP] / [SC2] ... after ShieldRegenDelay 10 game seconds (160 loops) without damage
