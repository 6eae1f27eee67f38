"""The foundation below every stage of churnkit.

Atomic file writes, the HTML page kit, the strict YAML → pydantic loader, the
built-in config files, the required-columns check, the text dtype, message helpers, the
progress callback type and the package version. Modules here import only the
standard library, numpy, pandas, pydantic, PyYAML (matplotlib lazily), each
other and the leaf module :mod:`churnkit.exceptions` -- never a stage.
"""

from churnkit._core.atomic import atomic_path, atomic_write_bytes, atomic_write_text
from churnkit._core.columns import require_columns
from churnkit._core.dates import resolve_as_of
from churnkit._core.dtypes import STR_DTYPE
from churnkit._core.html import BASE_CSS, esc, html_page, img_tag, is_missing, slugify
from churnkit._core.messages import (
    ECHO_LIMIT,
    cap_text,
    closest,
    did_you_mean,
    short_list,
    short_repr,
    unknown_names,
)
from churnkit._core.plots import LITERAL, literal_legend, new_axes, png_bytes
from churnkit._core.progress import Progress, no_progress
from churnkit._core.resources import builtin_config, config_file
from churnkit._core.version import __version__
from churnkit._core.yaml_config import (
    MAX_YAML_BYTES,
    MAX_YAML_NODES,
    StrictModel,
    format_validation_error,
    load_yaml_model,
    read_yaml,
    validate_model,
)

__all__ = [
    "BASE_CSS",
    "ECHO_LIMIT",
    "LITERAL",
    "MAX_YAML_BYTES",
    "MAX_YAML_NODES",
    "STR_DTYPE",
    "Progress",
    "StrictModel",
    "__version__",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "builtin_config",
    "cap_text",
    "closest",
    "config_file",
    "did_you_mean",
    "esc",
    "format_validation_error",
    "html_page",
    "img_tag",
    "is_missing",
    "literal_legend",
    "load_yaml_model",
    "new_axes",
    "no_progress",
    "png_bytes",
    "read_yaml",
    "require_columns",
    "resolve_as_of",
    "short_list",
    "short_repr",
    "slugify",
    "unknown_names",
    "validate_model",
]
