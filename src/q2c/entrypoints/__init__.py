"""Entrypoints: the CLI, the HTTP API with webhooks, the worker and the demo."""
