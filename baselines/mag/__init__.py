"""MAG baseline (Wu et al., AAAI 2023): MAMBA plus a multi-step model objective."""
