"""Helpers the tests of several folders share (importable as `support`: tests/ is on the path)."""
