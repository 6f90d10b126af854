"""Pure domain: the canonical model, billing and rating, revenue recognition, validation rules. No I/O."""
