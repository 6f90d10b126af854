"""The service layer: the workflows, written against ports, run by the engine."""
