"""Skillstream gateway service."""
