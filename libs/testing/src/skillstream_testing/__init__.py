"""Skillstream test support."""
