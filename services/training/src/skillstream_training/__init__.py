"""Skillstream training service."""
