"""Skillstream tga-ingest service."""
