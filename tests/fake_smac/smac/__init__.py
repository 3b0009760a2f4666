"""Test-only stand-in for oxwhirl's `smac` package (see smac/env/__init__.py). Never installed."""
