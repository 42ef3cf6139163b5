"""Readers for exported time series (Prometheus query_range JSON, CSV, Parquet)."""

from opsctl.data.exports import Series, read_export, series_from_frame

__all__ = ["Series", "read_export", "series_from_frame"]
