"""Point-in-time features from free text (ticket notes, survey comments, reviews).

:class:`TextFeatures` is language-agnostic: character n-grams within word
boundaries (``analyzer="char_wb"``) survive accents, inflections and typos in
any language, so Portuguese reviews work as well as English notes without a
tokenizer or stop-word list. A TF-IDF fitted on the training-period text is
reduced by a truncated SVD to a few components (latent "topics"); a small
complaint lexicon in several languages adds a directly readable signal. Each
text row becomes numbers, which are aggregated per customer and cutoff over
the windows by the same engine as :class:`~churnkit.features.EventFeatures`,
using only rows with ``timestamp < cutoff``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer

from churnkit.data import infer_type
from churnkit.exceptions import SchemaError
from churnkit.features._event_columns import _clean
from churnkit.features._events import (
    EventFeatures,
    OneTableFeatures,
    check_spine,
    checked_events,
)

__all__ = ["COMPLAINT_WORDS", "TextFeatures"]

#: Word stems that signal a complaint, in English, Portuguese, Spanish, French,
#: German and Italian (accents removed, lower case; matched at word starts).
COMPLAINT_WORDS = (
    # en
    "not ", "never", "no longer", "problem", "issue", "broken", "damag", "defect", "wrong",
    "late", "delay", "missing", "refund", "cancel", "complain", "terrible", "awful", "worst",
    "bad", "poor", "disappoint", "unhappy", "angry", "useless", "waste", "error", "fail",
    "slow", "expensive", "still waiting", "didn't", "doesn't", "haven't", "won't",
    # pt
    "nao ", "nunca", "problema", "defeito", "quebrad", "danific", "errad", "atras",
    "faltan", "falta", "reembols", "devolv", "devoluc", "cancel", "reclam", "pessim",
    "horrivel", "ruim", "decepc", "insatisf", "demor", "nao recebi", "nao chegou", "aguardando",
    # es
    "no ", "nunca", "roto", "malo", "mala", "peor", "tarde", "retraso", "reembolso",
    "queja", "decepcion", "todavia no",
    # fr
    "pas ", "jamais", "probleme", "casse", "retard", "rembours", "annul", "plainte",
    "mauvais", "decu", "nul",
    # de
    "nicht", "nie ", "kaputt", "defekt", "falsch", "spat", "verspat", "erstatt",
    "storn", "beschwer", "schlecht", "enttausch",
    # it
    "non ", "mai ", "rotto", "difett", "sbagliat", "ritard", "rimbors", "annull",
    "reclamo", "pessimo", "delus",
)


def _fold(text: str) -> str:
    """Lower case without accents, single spaces, padded with a space on each side."""
    text = text.replace("'", "").replace("\u2019", "")
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return f" {re.sub(r'[^a-z0-9]+', ' ', plain).strip()} "


def _lexicon_pattern(words: Sequence[str]) -> re.Pattern[str]:
    folded = sorted({_fold(w).strip() + (" " if w.endswith(" ") else "")
                     for w in words}, key=len, reverse=True)
    return re.compile(" (?:" + "|".join(re.escape(w) for w in folded if w.strip()) + ")")


_COMPLAINT = _lexicon_pattern(COMPLAINT_WORDS)


class TextFeatures(OneTableFeatures):
    """Aggregate the free-text columns of an event table into point-in-time features.

    For each text column and window (days before the cutoff): the number of rows
    with text and their share of all rows, the mean text length, the share of
    texts using complaint words, and the mean of each SVD component over the
    texts; over the largest window, the components of the customer's latest
    text. Names follow ``{table}__{column}__text_svd{k}__mean__{w}d``.

    The event table is an argument of :meth:`fit` and :meth:`transform`
    (``events=``), never a parameter: the fitted transformer holds no data and
    is safe to share between threads.

    Parameters
    ----------
    table : str
        Table name, the prefix of every feature name.
    columns : sequence of str, optional
        The text columns; default: the columns whose values are mostly long and
        distinct (``infer_type`` says ``text``).
    windows : sequence of int, default (30, 90, 365)
        Window lengths in days.
    n_components : int, default 8
        SVD components per text column (fewer when the training text is tiny).
    ngram_range : tuple of int, default (2, 4)
        Character n-gram lengths.
    max_features : int, default 20000
        Vocabulary size of the TF-IDF.
    min_df : int, default 2
        Minimum number of texts an n-gram must appear in.
    random_state : int, default 0
        Seed of the randomized SVD.

    Attributes
    ----------
    vectorizers_ : dict of str to TfidfVectorizer
    svds_ : dict of str to TruncatedSVD or None
    inner_ : EventFeatures
        Aggregates the per-row text numbers over the windows.
    feature_names_out_ : ndarray of str

    Examples
    --------
    >>> import pandas as pd
    >>> ev = pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...     "timestamp": pd.to_datetime(["2024-01-05", "2024-02-20", "2024-01-10"]),
    ...     "comment": ["produto chegou quebrado", None, "great service, thanks"]})
    >>> X = pd.DataFrame({"customer_id": ["a", "b"], "cutoff": pd.to_datetime(["2024-03-01"] * 2)})
    >>> f = TextFeatures(table="reviews", columns=["comment"], windows=[90]).fit(X, events=ev)
    >>> out = f.transform(X, events=ev)
    >>> out["reviews__comment__has_text__share__90d"].tolist()
    [0.5, 1.0]
    >>> out["reviews__comment__text_complaint__mean__90d"].tolist()
    [1.0, 0.0]
    """

    def __init__(
        self,
        *,
        table: str = "events",
        columns: Sequence[str] | None = None,
        windows: Sequence[int] = (30, 90, 365),
        n_components: int = 8,
        ngram_range: tuple[int, int] = (2, 4),
        max_features: int = 20000,
        min_df: int = 2,
        random_state: int = 0,
    ) -> None:
        self.table = table
        self.columns = columns
        self.windows = windows
        self.n_components = n_components
        self.ngram_range = ngram_range
        self.max_features = max_features
        self.min_df = min_df
        self.random_state = random_state

    def _text_columns(self, ev: pd.DataFrame) -> list[str]:
        if self.columns is not None:
            cols = list(self.columns)
            missing = [c for c in cols if c not in ev.columns]
            if missing:
                raise SchemaError(
                    f"Event table {self.table!r} has no text column(s) {missing}. "
                    f"Available columns: {list(ev.columns)}. Fix the 'columns' parameter."
                )
            return cols
        return [c for c in ev.columns if c not in ("customer_id", "timestamp")
                and infer_type(ev[c]) == "text"]

    @staticmethod
    def _texts(values: pd.Series) -> pd.Series:
        text = values.astype("string").str.strip()
        return text.mask(text == "")

    def fit(self, X: pd.DataFrame, y: Any = None, *, events: pd.DataFrame | None = None
            ) -> TextFeatures:
        """Fit the TF-IDF and SVD on the texts dated before the latest cutoff in ``X``.

        Parameters
        ----------
        X : DataFrame
            The snapshot frame: ``customer_id`` and ``cutoff`` (datetime64).
        y : None
            Ignored.
        events : DataFrame
            The event table with ``customer_id``, ``timestamp`` and the text columns.

        Returns
        -------
        TextFeatures
            This transformer, fitted.
        """
        X = check_spine(X, f"TextFeatures(table={self.table!r}).fit")
        if int(self.n_components) < 1:
            raise ValueError(
                f"The 'n_components' parameter of TextFeatures must be >= 1. "
                f"Got {self.n_components!r} instead."
            )
        ev = checked_events(events, self, "fit")
        cols = self._text_columns(ev)
        latest = X["cutoff"].max()
        past = ev[ev["timestamp"] < latest] if pd.notna(latest) else ev.iloc[:0]
        self.columns_ = cols
        self.vectorizers_: dict[str, TfidfVectorizer | None] = {}
        self.svds_: dict[str, TruncatedSVD | None] = {}
        for col in cols:
            docs = self._texts(past[col]).dropna()
            vec, svd = None, None
            if len(docs) >= 3:
                vec = TfidfVectorizer(
                    analyzer="char_wb", ngram_range=tuple(self.ngram_range),
                    min_df=min(int(self.min_df), max(1, len(docs) // 2)),
                    max_features=int(self.max_features), sublinear_tf=True,
                    strip_accents="unicode", lowercase=True, dtype=np.float64,
                )
                try:
                    tfidf = vec.fit_transform(docs.to_numpy(dtype=object))
                except ValueError:  # no n-gram survives min_df
                    vec, tfidf = None, None
                if tfidf is not None:
                    k = min(int(self.n_components), tfidf.shape[1] - 1, tfidf.shape[0] - 1)
                    if k >= 1:
                        svd = TruncatedSVD(n_components=k, random_state=self.random_state)
                        svd.fit(tfidf)
            self.vectorizers_[col] = vec if svd is not None else None
            self.svds_[col] = svd
        derived, types, aggs = self._derive(ev)
        self.inner_ = EventFeatures(
            table=self.table, kind="events", columns=types, aggregations=aggs,
            windows=self.windows,
        ).fit(X, events=derived)
        self.feature_names_out_ = np.asarray(self._names(), dtype=object)
        self.n_features_in_ = X.shape[1]
        return self

    def _derive(
        self, ev: pd.DataFrame
    ) -> tuple[pd.DataFrame, dict[str, str], dict[str, list[str]]]:
        """One numeric row per event: text present, length, complaint words, SVD components."""
        out: dict[str, Any] = {"customer_id": ev["customer_id"].to_numpy(),
                               "timestamp": ev["timestamp"].to_numpy()}
        types: dict[str, str] = {}
        aggs: dict[str, list[str]] = {}
        for col in self.columns_:
            c = _clean(col)
            text = self._texts(ev[col]) if col in ev else pd.Series(pd.NA, index=ev.index,
                                                                     dtype="string")
            has = text.notna().to_numpy()
            out[f"{c}__has_text"] = has.astype(np.float64)
            types[f"{c}__has_text"] = "boolean"
            length = text.str.len().to_numpy(dtype=np.float64, na_value=np.nan)
            out[f"{c}__text_length"] = length
            complaint = np.full(len(ev), np.nan)
            if has.any():
                folded = [_fold(t) for t in text[has].to_numpy(dtype=object)]
                complaint[has] = [1.0 if _COMPLAINT.search(t) else 0.0 for t in folded]
            out[f"{c}__text_complaint"] = complaint
            types[f"{c}__text_length"] = types[f"{c}__text_complaint"] = "numeric"
            aggs[f"{c}__text_length"] = aggs[f"{c}__text_complaint"] = ["mean"]
            svd = self.svds_.get(col)
            if svd is not None:
                comps = np.full((len(ev), svd.n_components), np.nan)
                if has.any():
                    vec = self.vectorizers_[col]
                    assert vec is not None
                    comps[has] = svd.transform(vec.transform(text[has].to_numpy(dtype=object)))
                for k in range(svd.n_components):
                    out[f"{c}__text_svd{k + 1}"] = comps[:, k]
                    types[f"{c}__text_svd{k + 1}"] = "numeric"
                    aggs[f"{c}__text_svd{k + 1}"] = ["mean", "last"]
        return pd.DataFrame(out, index=ev.index), types, aggs

    def _names(self) -> list[str]:
        t = self.table
        windows = sorted({int(w) for w in self.windows})
        names: list[str] = []
        for col in self.columns_:
            c = _clean(col)
            for w in windows:
                names += [f"{t}__{c}__has_text__count__{w}d", f"{t}__{c}__has_text__share__{w}d",
                          f"{t}__{c}__text_length__mean__{w}d",
                          f"{t}__{c}__text_complaint__mean__{w}d"]
            svd = self.svds_.get(col)
            for k in range(svd.n_components if svd is not None else 0):
                names += [f"{t}__{c}__text_svd{k + 1}__mean__{w}d" for w in windows]
                names.append(f"{t}__{c}__text_svd{k + 1}__last__{windows[-1]}d")
        return names

    def transform(self, X: pd.DataFrame, *, events: pd.DataFrame | None = None) -> pd.DataFrame:
        """Text features of each row's customer from rows strictly before its cutoff.

        Reads the fitted state and never changes it, so one fitted transformer
        can serve several threads.

        Parameters
        ----------
        X : DataFrame
            The snapshot frame: ``customer_id`` and ``cutoff`` (datetime64).
        events : DataFrame
            The event table with ``customer_id``, ``timestamp`` and the text columns.

        Returns
        -------
        DataFrame
            Same index as ``X``, one float32 column per feature.
        """
        names = list(self.get_feature_names_out())
        X = check_spine(X, f"TextFeatures(table={self.table!r}).transform")
        derived, _, _ = self._derive(checked_events(events, self, "transform"))
        return self.inner_.transform(X, events=derived)[names]

