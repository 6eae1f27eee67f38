"""Exceptions raised by churnkit.

Every error a user can cause derives from :class:`ChurnkitError`, so callers
(and the CLI) can tell a problem with the data or the configuration from a bug.
Messages say *what* went wrong, *where* (table.column, a few row labels or
customer ids, one example value) and *how to fix it*.
"""

from __future__ import annotations

from sklearn.exceptions import NotFittedError as _SklearnNotFittedError

__all__ = [
    "ChurnkitError",
    "ConfigError",
    "LabelError",
    "ModelError",
    "NotFittedError",
    "OutputError",
    "SchemaError",
]


class ChurnkitError(Exception):
    """Base class of every error churnkit raises on purpose."""


class SchemaError(ChurnkitError, ValueError):
    """An input table does not match the data contract (missing column, bad values...)."""


class ConfigError(ChurnkitError, ValueError):
    """A configuration file or value is invalid; the message names the key path."""


class OutputError(ChurnkitError):
    """Outputs cannot be written as asked: a folder in use by another run, clashing file names."""


class ModelError(ChurnkitError):
    """A model artifact is missing, tampered with, or incompatible."""


class LabelError(ModelError, ValueError):
    """The training labels hold one class only, so no model can be fitted.

    A :class:`ModelError` like every training error, and a ``ValueError`` as
    scikit-learn expects of a classifier given a single class.
    """


class NotFittedError(ModelError, _SklearnNotFittedError):
    """An estimator was used before ``fit``.

    It is also a :class:`sklearn.exceptions.NotFittedError` (hence a ``ValueError``
    and an ``AttributeError``), so scikit-learn tools recognise it.
    """
