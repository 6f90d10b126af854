"""q2c: a quote-to-cash sync hub for professional services firms."""

__version__ = "0.1.0"
