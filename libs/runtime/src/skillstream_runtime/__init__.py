"""Skillstream runtime."""
