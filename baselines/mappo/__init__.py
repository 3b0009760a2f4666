"""MAPPO (Yu et al., 2022) on the real environment: gawm's MAPPO policy trained on its own real rollouts."""
