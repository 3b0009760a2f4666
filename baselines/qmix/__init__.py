"""QMIX baseline (Rashid et al. 2018): only what differs from gawm/ -- the Q-networks, mixer, TD learning."""
