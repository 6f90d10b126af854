"""Validation rules: pure functions from records and reference data to violations."""
