"""Tests of the pure game rules (tilemud.game)."""
