"""Batch scoring engines: local and Dask."""
