"""Tables 1-3 beside the published numbers (tables.py, stats.py) and Figures 3-5 (plots.py)."""
