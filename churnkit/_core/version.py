"""The package version, importable from any layer without importing the package root."""

__all__ = ["__version__"]

__version__ = "0.1.0"
