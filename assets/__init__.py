"""Dagster assets, one module per stage; each asset is a thin call into the `kotacerdas` library."""
