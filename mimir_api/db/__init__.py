"""The metadata DB: SQLModel tables, the engine factory and Alembic migrations."""
