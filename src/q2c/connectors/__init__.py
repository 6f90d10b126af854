"""Connectors: one folder per external system, each with its client, its mapping and its sandbox."""
