"""The foundation below every stage of churnkit.

Atomic file writes, runs whose output files appear together (one run per
folder at a time), the one table writer (CSV with formulas neutralised), the
HTML page kit, the strict YAML → pydantic loader, the built-in config files,
the required-columns check, the text dtype, message helpers, numba functions cached where a
cache can be written, the progress callback type and the package version.
Modules here import only the standard library, numpy, pandas, pydantic, PyYAML
(matplotlib and numba lazily), each other and the leaf module
:mod:`churnkit.exceptions` -- never a stage.
"""

from churnkit._core.atomic import atomic_path, atomic_write_bytes, atomic_write_text, fsync_dir
from churnkit._core.columns import (
    Coded,
    coded_words,
    combine_coded,
    distinct_words,
    per_distinct,
    require_columns,
)
from churnkit._core.dates import resolve_as_of
from churnkit._core.dtypes import STR_DTYPE, as_text_column, str_take
from churnkit._core.estimators import churn_labels, feature_frame
from churnkit._core.html import BASE_CSS, esc, html_page, img_tag, is_missing, slugify
from churnkit._core.jit import cached_njit, private_cache_dir
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
from churnkit._core.runs import OutputRun, output_run, run_lock, settle
from churnkit._core.tables import (
    FORMULA_START,
    TABLE_SUFFIXES,
    check_table_path,
    guard_formulas,
    write_table,
)
from churnkit._core.threads import PARALLEL_ROWS, available_cores, resolve_threads, threads_for
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
    "available_cores",
    "resolve_threads",
    "BASE_CSS",
    "ECHO_LIMIT",
    "FORMULA_START",
    "LITERAL",
    "MAX_YAML_BYTES",
    "MAX_YAML_NODES",
    "OutputRun",
    "STR_DTYPE",
    "str_take",
    "as_text_column",
    "Progress",
    "StrictModel",
    "TABLE_SUFFIXES",
    "__version__",
    "atomic_path",
    "churn_labels",
    "feature_frame",
    "atomic_write_bytes",
    "atomic_write_text",
    "fsync_dir",
    "builtin_config",
    "check_table_path",
    "PARALLEL_ROWS",
    "cached_njit",
    "cap_text",
    "closest",
    "config_file",
    "did_you_mean",
    "esc",
    "format_validation_error",
    "guard_formulas",
    "html_page",
    "img_tag",
    "per_distinct",
    "Coded",
    "coded_words",
    "combine_coded",
    "distinct_words",
    "is_missing",
    "literal_legend",
    "load_yaml_model",
    "new_axes",
    "no_progress",
    "output_run",
    "png_bytes",
    "private_cache_dir",
    "read_yaml",
    "require_columns",
    "resolve_as_of",
    "run_lock",
    "settle",
    "short_list",
    "short_repr",
    "slugify",
    "threads_for",
    "unknown_names",
    "validate_model",
    "write_table",
]
