"""Skillstream media-downloader service."""
