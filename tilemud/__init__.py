"""tilemud: a server-authoritative backend for a persistent tile-placement game, on Trio."""

__version__ = "0.1.0"
