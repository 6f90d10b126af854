"""Storage: tables, migrations and small repositories over SQLite (embedded) or PostgreSQL."""
