"""Skillstream administrate-sync service."""
