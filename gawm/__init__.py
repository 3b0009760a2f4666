"""GAWM reproduction harness: environments, world models, policies and the training runner shared by every method."""

__version__ = "0.1.0"
