"""Alembic migrations of the warehouse (run programmatically by `kotacerdas.warehouse.migrate`)."""
