"""Database layer: typed SQLAlchemy 2 models, engine/session set-up and Alembic migrations."""
