"""MAMBA baseline (Egorov & Shpilman, AAMAS 2022) on the shared GAWM world model."""
