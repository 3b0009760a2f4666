"""Baselines (MAMBA, MAG, MAPPO, QMIX): each subpackage holds only what differs from gawm's shared parts."""
