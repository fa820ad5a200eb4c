"""Metric definitions, exporters, dashboard generation and provisioning."""
