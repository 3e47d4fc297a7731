"""Skillstream orchestrator service."""
