"""Plot plumbing shared by the stages: a fresh Axes, literal text, PNG bytes of a figure.

matplotlib is imported only inside the functions, and no global style is set.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.legend import Legend

__all__ = ["LITERAL", "literal_legend", "new_axes", "png_bytes"]

LITERAL: dict[str, Any] = {"usetex": False, "parse_math": False}
"""Text properties that draw a string as written: no mathtext (``$...$``), no LaTeX.

Pass them wherever text from the data is drawn, e.g. ``ax.set_title(name, **LITERAL)``.
"""


def new_axes(ax: Axes | None, width: float = 5.0, height: float = 4.0) -> Axes:
    """``ax`` itself, or the Axes of a new ``width`` x ``height`` inch figure.

    The new figure is a :class:`matplotlib.figure.Figure` with the constrained
    layout, made outside pyplot's global state.
    """
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained").add_subplot()


def png_bytes(figure: Any, *, dpi: int = 100, **savefig: Any) -> bytes:
    """The PNG image of a matplotlib ``figure`` (further keywords go to ``savefig``)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, **savefig)
    return buffer.getvalue()


def literal_legend(ax: Axes, **kwargs: Any) -> Legend:
    """``ax.legend(**kwargs)`` with its labels and title drawn as written (see :data:`LITERAL`)."""
    legend = ax.legend(**kwargs)
    for text in (*legend.get_texts(), legend.get_title()):
        text.set_usetex(False)
        text.set_parse_math(False)
    return legend
