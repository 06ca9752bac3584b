"""Prefect flows, the `eim` command line and settings: orchestration over sources, warehouse, reports."""
