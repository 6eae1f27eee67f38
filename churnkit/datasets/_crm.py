"""The built-in sample CRM: :func:`make_crm` and the :class:`CRM` it returns."""

from __future__ import annotations

import datetime as dt
import numbers
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa

from churnkit._core import STR_DTYPE, atomic_write_text, builtin_config, str_take
from churnkit.datasets import _campaigns as camp
from churnkit.datasets import _simulate as sim
from churnkit.datasets import _vocab
from churnkit.exceptions import ConfigError

__all__ = ["CRM", "make_crm"]

EVENT_TABLES = ("contacts", "feedback", "transactions", "usage")
TABLES = ("customers", *EVENT_TABLES, "ground_truth")
CAMPAIGN_TABLES = ("actions", "assignments")
_USAGE_BLOCK = "      columns: {logins: numeric, minutes: numeric}\n"
_ACTIONS_BLOCK = (
    "    actions:                      # the retention campaigns' actions log\n"
    "      kind: actions\n"
    "      path: data/actions.csv\n"
    "      columns: {playbook: categorical, channel: categorical, outcome: categorical}\n"
    "      exclude: [owner]\n"
)
_MAX_MONTHS = 1200
_EARLIEST = pd.Timestamp("1682-01-01")
_BURN_IN = 6  # months simulated before the start so that the data starts in a steady state


@dataclass(frozen=True, eq=False)
class CRM:
    """A generated CRM: customers, their events, and why the churners left.

    Returned by :func:`make_crm`; see there for the columns of each table.

    Attributes
    ----------
    customers : pandas.DataFrame
        One row per customer.
    contacts, feedback, transactions, usage : pandas.DataFrame
        Event tables, sorted by ``customer_id`` then ``timestamp``.
    ground_truth : pandas.DataFrame
        One row per customer: whether and when it churned, and the planted cause.
    actions, assignments : pandas.DataFrame or None
        With ``campaigns > 0``: the actions log of the past retention campaigns
        and who was in which group; None otherwise.
    start : pandas.Timestamp
        Start of the data (inclusive).
    end : pandas.Timestamp
        End of the data (exclusive): ``start`` plus ``months`` months.

    Examples
    --------
    >>> from churnkit.datasets import make_crm
    >>> crm = make_crm(200, random_state=0, months=6)
    >>> sorted(crm.event_tables)
    ['contacts', 'feedback', 'transactions', 'usage']
    >>> str(crm.end.date())
    '2024-07-01'
    """

    customers: pd.DataFrame
    contacts: pd.DataFrame
    feedback: pd.DataFrame
    transactions: pd.DataFrame
    usage: pd.DataFrame
    ground_truth: pd.DataFrame
    start: pd.Timestamp
    end: pd.Timestamp
    actions: pd.DataFrame | None = None
    assignments: pd.DataFrame | None = None

    @property
    def event_tables(self) -> dict[str, pd.DataFrame]:
        """The four event tables by name: contacts, feedback, transactions, usage."""
        return {name: getattr(self, name) for name in EVENT_TABLES}

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """All tables by name, ground truth included (and the campaign tables, if any)."""
        tables = {name: getattr(self, name) for name in TABLES}
        for name in CAMPAIGN_TABLES:
            if getattr(self, name) is not None:
                tables[name] = getattr(self, name)
        return tables

    def write_project(self, out: str | Path,
                      format: Literal["csv", "parquet"] = "csv") -> Path:
        """Write a ready-to-run project: the tables in ``data/``, the default ``config.yaml``.

        Parameters
        ----------
        out : str or Path
            Project folder; created if missing.
        format : {"csv", "parquet"}, default "csv"
            File format of the tables (see :meth:`write`).

        Returns
        -------
        Path
            The configuration file, for :func:`churnkit.load_config`.

        Examples
        --------
        >>> import tempfile
        >>> import churnkit as ck
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     config = ck.load_config(ck.datasets.make_crm(50, random_state=0).write_project(folder))
        ...     sorted(config.data.events)
        ['contacts', 'feedback', 'transactions', 'usage']
        """
        folder = Path(out)
        self.write(folder / "data", format=format)
        text = builtin_config("default.yaml").read_text(encoding="utf-8")
        if self.actions is not None:
            text = text.replace(_USAGE_BLOCK, _USAGE_BLOCK + _ACTIONS_BLOCK, 1)
        path = folder / "config.yaml"
        atomic_write_text(path, text.replace(".csv", ".parquet") if format == "parquet" else text)
        return path

    def write(self, out: str | Path, format: Literal["csv", "parquet"] = "csv") -> dict[str, Path]:
        """Write one file per table (ground truth included) into the folder ``out``.

        Parameters
        ----------
        out : str or Path
            Folder to write to; created if missing. Existing files of the same
            names are replaced.
        format : {"csv", "parquet"}, default "csv"
            File format. CSV files hold plain text (read them back with
            ``parse_dates``); Parquet keeps the column types.

        Returns
        -------
        dict of str to Path
            Table name -> written file, e.g. ``"contacts" -> out/contacts.csv``.

        Raises
        ------
        ConfigError
            If ``format`` is not ``"csv"`` or ``"parquet"`` (a ``ValueError``).

        Examples
        --------
        >>> import tempfile
        >>> from churnkit.datasets import make_crm
        >>> crm = make_crm(50, random_state=0, months=3)
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     paths = crm.write(folder, format="parquet")
        ...     print(paths["customers"].name)
        customers.parquet
        """
        if format not in ("csv", "parquet"):
            raise ConfigError(
                "The 'format' parameter of CRM.write must be a str among {'csv', 'parquet'}. "
                f"Got {format!r} instead."
            )
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        paths = {}
        for name, frame in self.tables.items():
            path = folder / f"{name}.{format}"
            if format == "csv":
                frame.to_csv(path, index=False)
            else:
                frame.to_parquet(path, index=False)
            paths[name] = path
        return paths

    def __repr__(self) -> str:
        rows = ", ".join(f"{name}={len(frame):_}" for name, frame in self.tables.items())
        return f"CRM(start={self.start.date()}, end={self.end.date()}, rows: {rows})"


def _bad(name: str, expected: str, got: object) -> ConfigError:
    return ConfigError(f"The '{name}' parameter of make_crm must be {expected}. Got {got!r} instead.")


def _check_int(
    name: str, value: object, low: int, high: int | None = None, expected: str | None = None
) -> int:
    if expected is None:
        expected = f"an int >= {low}" if high is None else f"an int in the range [{low}, {high}]"
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise _bad(name, expected, value)
    number = int(value)
    if number < low or (high is not None and number > high):
        raise _bad(name, expected, value)
    return number


def _check_start(start: object) -> pd.Timestamp:
    expected = "a date such as '2024-01-01' (no time of day, no time zone)"
    if not isinstance(start, str | dt.date | np.datetime64):
        raise _bad("start", expected, start)
    try:
        stamp = pd.Timestamp(start)
    except (ValueError, TypeError) as exc:
        raise _bad("start", expected, start) from exc
    if pd.isna(stamp) or stamp.tz is not None or stamp != stamp.normalize():
        raise _bad("start", expected, start)
    if not _EARLIEST <= stamp <= pd.Timestamp.max:
        raise _bad("start", f"a date from {_EARLIEST.date()} on", start)
    return stamp.as_unit("ns")


def _category(values: tuple[str, ...] | list[str], codes: np.ndarray) -> pd.Categorical:
    return pd.Categorical.from_codes(codes, categories=pd.Index(list(values), dtype="str"))


def _timestamps(start_ns: int, seconds: np.ndarray) -> np.ndarray:
    return (start_ns + seconds * 1_000_000_000).view("datetime64[ns]")


def make_crm(
    n_customers: int = 5000,
    *,
    random_state: int | None = 0,
    start: str | dt.date | pd.Timestamp = "2024-01-01",
    months: int = 24,
    campaigns: int = 0,
    shift_amounts_from: str | dt.date | pd.Timestamp | None = None,
    amount_factor: float = 1.3,
    break_from: str | dt.date | pd.Timestamp | None = None,
    break_cause: str = "falling_usage",
) -> CRM:
    """Generate a sample CRM in which churn has known, planted causes.

    Customers are simulated month by month. Each carries a hidden state that
    drives both its events and its monthly churn hazard, so every churn is
    *caused* by a mechanism whose evidence shows in the event tables before
    the customer leaves:

    ``unresolved_complaints``
        Complaint, billing or technical contacts left ``resolved=False`` over
        three months; the hazard grows faster than their number. Customers
        chase an open issue (more unresolved complaints) until it is fixed.
    ``detractor_feedback``
        An NPS answer of 0-6 (CSAT 1-2) raises the hazard for nine months, more
        so after an earlier good score; a later good answer clears it.
    ``falling_usage``
        Logins and minutes decline month after month; the hazard grows with
        the drop.
    ``price_shock``
        An invoice jumps by 15-40 %, often followed by a billing complaint;
        the hazard stays high for six months.
    ``no_outbound_contact``
        No outbound touch (check-in, renewal call, onboarding) for 120 days or
        more. Customers touched in the last 45 days are protected: all their
        hazards are lower.
    ``poor_onboarding``
        New customers with few or no onboarding contacts and low early usage
        often leave within their first seven months.

    A small baseline hazard (``other``) applies to everyone. Segment, product
    and contract scale the hazard (monthly contracts, SMB and Starter churn
    more). Customers act with a delay (notice periods): the hazard of a month
    is set by the events up to the start of the month before, so the evidence
    of a churn is in the data one to five months ahead of it. A churner's
    ``cause`` in ``ground_truth`` is the mechanism contributing most to its
    hazard in the month it left. With the defaults about 2.5 % of the active
    customers leave each month, and about 95 % of the churners have a planted
    cause.

    Six months before ``start`` are simulated and discarded, so the data
    starts in a steady state; the evidence of the first few months' churners
    may therefore predate ``start``.

    Parameters
    ----------
    n_customers : int, default 5000
        Number of customers. About 60 % exist before ``start`` (signed up up
        to four years earlier); the rest sign up during the period.
    random_state : int or None, default 0
        Seed of the random generator; the same seed gives identical tables.
        ``None`` draws fresh randomness.
    start : str, date or Timestamp, default "2024-01-01"
        First day of the data.
    months : int, default 24
        Length of the data in months (at least 3).
    campaigns : int, default 0
        Past retention campaigns to simulate, one every four months, the last
        one's 90 days ending with the data (see ``_campaigns`` for the planted
        effects). Each has a random control group, contacts only part of the
        treated group, and changes who churns: the playbook matching a
        customer's cause cuts churn strongly, a mismatched one weakly, and a
        renewal reminder (``contract_plan``) to customers on monthly
        contracts makes them leave more; customers already lost (a very
        high hazard) are barely moved. Adds the tables ``actions`` (who was
        contacted, when, with which playbook) and ``assignments`` (who was in
        which group), and to ``ground_truth`` the columns ``campaign``,
        ``playbook`` and ``true_effect`` (the planted change in the customer's
        90-day churn probability if contacted; negative = saved). With 0 the
        tables are exactly those of earlier versions.
    shift_amounts_from : date, optional
        Plant drift in a feature's distribution: from this day on every
        transaction amount is multiplied by ``amount_factor`` (a new billing
        system), for every customer alike; churn is not affected.
    amount_factor : float, default 1.3
        The factor of ``shift_amounts_from`` (> 0).
    break_from : date, optional
        Break a relationship: from the month of this day on, ``break_cause`` no
        longer drives churn; its share of the churn hazard is spread evenly over
        all customers (as cause ``other``), so about as many customers leave but
        that cause's evidence (e.g. falling usage) stops telling who. Events
        before that month are unchanged.
    break_cause : str, default "falling_usage"
        The planted cause ``break_from`` breaks, one of ``unresolved_complaints``,
        ``detractor_feedback``, ``falling_usage``, ``price_shock``,
        ``no_outbound_contact``, ``poor_onboarding``.

    The defaults plant neither, and the tables are those of earlier versions.

    Returns
    -------
    CRM
        Frozen container of the tables below. Closed vocabularies are
        ``category``, identifiers and free text ``str``, times ``datetime64[ns]``.

        - ``customers``: ``customer_id`` ("C000001"..., ids follow the order
          of signup), ``signup_date``,
          ``end_date`` (churn date; NaT while active at ``crm.end``),
          ``segment``, ``product``, ``region``, ``contract`` (monthly/annual),
          ``account_manager``, ``monthly_value``, ``wallet_share`` (0-1].
        - ``contacts``: ``customer_id``, ``timestamp``, ``channel`` (phone, email,
          chat, ticket, visit), ``direction`` (inbound, outbound), ``topic``
          (billing, technical, onboarding, account, complaint, renewal,
          check-in), ``resolved``, ``duration_min``, ``agent``, ``note``.
        - ``feedback``: ``customer_id``, ``timestamp``, ``survey`` (nps, csat),
          ``score`` (NaN if never answered), ``comment`` (NaN if none).
        - ``transactions``: ``customer_id``, ``timestamp``, ``amount`` (monthly
          invoice; credits are negative), ``kind`` (invoice, credit).
        - ``usage``: ``customer_id``, ``timestamp`` (23:00 on the last day of
          the month or half-month it covers), ``logins``, ``minutes``.
        - ``ground_truth``: ``customer_id``, ``churned``, ``churn_date``,
          ``cause`` (NaN for customers who stayed).

        No event falls before its customer's signup date, on or after its end
        date, or outside ``[start, end)``.

    Raises
    ------
    ConfigError
        If a parameter is invalid (a ``ValueError``), e.g. ``n_customers < 1``.

    Examples
    --------
    >>> from churnkit.datasets import make_crm
    >>> crm = make_crm(1000, random_state=0)
    >>> crm.customers.columns.tolist()[:4]
    ['customer_id', 'signup_date', 'end_date', 'segment']
    >>> crm.customers["customer_id"].iloc[0]
    'C000001'
    >>> causes = crm.ground_truth["cause"].value_counts()
    >>> bool(causes["other"] < causes.sum() / 5)
    True
    """
    n = _check_int("n_customers", n_customers, 1)
    months = _check_int("months", months, 3, _MAX_MONTHS)
    if random_state is not None:
        random_state = _check_int("random_state", random_state, 0,
                                  expected="an int >= 0 or None")
    first = _check_start(start)
    campaigns = _check_int("campaigns", campaigns, 0, camp.max_campaigns(months))
    # Times are nanoseconds: the oldest signups (4 years back) and the end must fit.
    latest = pd.Timestamp.max.normalize() - pd.DateOffset(months=months)
    if not _EARLIEST <= first <= latest:
        raise _bad("start", f"a date from {_EARLIEST.date()} to {latest.date()}", start)
    edges = [first + pd.DateOffset(months=k) for k in range(-_BURN_IN, months + 1)]
    bounds = np.array([(edge - first) // pd.Timedelta(seconds=1) for edge in edges], np.int64)

    shift_from = None if shift_amounts_from is None else _check_day(
        "shift_amounts_from", shift_amounts_from)
    break_day = None if break_from is None else _check_day("break_from", break_from)
    causes = [c for c in sim.CAUSES if c != "other"]
    if break_cause not in causes:
        raise _bad("break_cause", f"one of {causes}", break_cause)
    if not (isinstance(amount_factor, numbers.Real) and not isinstance(amount_factor, bool)
            and 0 < float(amount_factor) < float("inf")):
        raise _bad("amount_factor", "a number > 0", amount_factor)

    run = sim.Simulation(np.random.default_rng(random_state), n, bounds)
    if campaigns:
        seeds = [random_state, 1] if random_state is not None else None
        starts = [run.first_month + k for k in camp.campaign_months(campaigns, months)]
        run.campaigns = camp.CampaignPlan(np.random.default_rng(seeds), starts, n)
    if break_day is not None:
        run.break_month = int(np.searchsorted(
            bounds, (break_day - first) // pd.Timedelta(seconds=1), side="right")) - 1
        run.break_cause = list(sim.CAUSES).index(break_cause)
    run.run()
    crm = _assemble(run, first, edges[-1].as_unit("ns"))
    if shift_from is not None:
        later = (crm.transactions["timestamp"] >= shift_from).to_numpy()
        crm.transactions.loc[later, "amount"] = crm.transactions.loc[later, "amount"] * float(
            amount_factor)
    return crm


def _check_day(name: str, value: object) -> pd.Timestamp:
    expected = "a date such as '2025-06-01' (no time of day, no time zone)"
    if not isinstance(value, str | dt.date | np.datetime64):
        raise _bad(name, expected, value)
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise _bad(name, expected, value) from exc
    if pd.isna(stamp) or stamp.tz is not None or stamp != stamp.normalize():
        raise _bad(name, expected, value)
    return stamp


def _assemble(run: sim.Simulation, start: pd.Timestamp, end: pd.Timestamp) -> CRM:
    """Turn the simulation's arrays into the CRM tables."""
    n = run.n
    start_ns = start.value
    width = max(6, len(str(n)))
    ids = pa.array([f"C{i:0{width}d}" for i in range(1, n + 1)], type=pa.large_string())

    def customer_ids(idx: np.ndarray) -> pd.api.extensions.ExtensionArray:
        return pd.array(ids.take(pa.array(idx)), dtype=STR_DTYPE)

    churned = run.end < np.iinfo(np.int64).max
    end_date = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    end_date[churned] = _timestamps(start_ns, run.end[churned])
    managers = sorted(run.names[: run.n_managers])
    manager_rank = np.argsort(np.argsort(run.names[: run.n_managers]))
    agents = sorted(run.names)
    agent_rank = np.argsort(np.argsort(run.names))

    customers = pd.DataFrame(
        {
            "customer_id": customer_ids(np.arange(n)),
            "signup_date": _timestamps(start_ns, run.signup),
            "end_date": end_date,
            "segment": _category(sim.SEGMENTS, run.segment),
            "product": _category(sim.PRODUCTS, run.product),
            "region": _category(sim.REGIONS, run.region),
            "contract": _category(sim.CONTRACTS, run.annual.astype(np.int8)),
            "account_manager": _category(managers, manager_rank[run.manager]),
            "monthly_value": run.value,
            "wallet_share": run.wallet_share,
        }
    )
    ground_truth = pd.DataFrame(
        {
            "customer_id": customers["customer_id"].copy(),
            "churned": churned,
            "churn_date": end_date.copy(),
            "cause": _category(sim.CAUSES, run.cause),
        }
    )

    frames = {}
    for name, cols in run.events():
        frame = {
            "customer_id": customer_ids(cols.pop("idx")),
            "timestamp": _timestamps(start_ns, cols.pop("ts")),
        }
        if name == "contacts":
            frame["channel"] = _category(sim.CHANNELS, cols.pop("channel"))
            frame["direction"] = _category(sim.DIRECTIONS, cols.pop("direction"))
            frame["topic"] = _category(sim.TOPICS, cols.pop("topic"))
            frame["resolved"] = cols.pop("resolved")
            frame["duration_min"] = cols.pop("duration")
            frame["agent"] = _category(agents, agent_rank[cols.pop("agent")])
            frame["note"] = str_take(_vocab.NOTES, cols.pop("note"))
        elif name == "feedback":
            frame["survey"] = _category(sim.SURVEYS, cols.pop("survey"))
            frame["score"] = cols.pop("score")
            frame["comment"] = str_take(_vocab.COMMENTS, cols.pop("comment"))
        elif name == "transactions":
            frame["amount"] = cols.pop("amount")
            frame["kind"] = _category(sim.KINDS, cols.pop("kind"))
        else:
            frame["logins"] = cols.pop("logins").astype(np.int64)
            frame["minutes"] = cols.pop("minutes")
        frames[name] = pd.DataFrame(frame, copy=False)
        del frame, cols
    extra: dict[str, pd.DataFrame] = {}
    if run.campaigns is not None:
        extra = _campaign_tables(run.campaigns, customers, ground_truth, start, run.bounds)
    return CRM(customers=customers, ground_truth=ground_truth, start=start, end=end,
               **frames, **extra)


def _campaign_tables(plan: camp.CampaignPlan, customers: pd.DataFrame, ground_truth: pd.DataFrame,
                     start: pd.Timestamp, bounds: np.ndarray) -> dict[str, pd.DataFrame]:
    """The actions log and the assignments; adds the planted effects to ``ground_truth``."""
    start_ns = start.value
    ids = customers["customer_id"]
    runs = [f"campaign-{k + 1}" for k in range(len(plan.months))]
    member = plan.campaign >= 0
    run_codes = np.where(member, plan.campaign, -1).astype(np.int64)
    books = np.where(member, plan.playbook, -1).astype(np.int64)
    ground_truth["campaign"] = str_take(runs, run_codes)
    ground_truth["playbook"] = str_take(list(camp.PLAYBOOKS), books)
    ground_truth["true_effect"] = plan.effect()

    who = np.flatnonzero(member)
    who = who[np.lexsort((who, plan.campaign[who]))]
    as_of = _timestamps(start_ns, bounds[np.asarray(plan.months)[plan.campaign[who]]])
    reasons = ["", *(sim.REASON_OF_CAUSE[c] for c in sim.CAUSES[1:])]
    assignments = pd.DataFrame({
        "run_id": str_take(runs, plan.campaign[who].astype(np.int64)),
        "as_of": as_of,
        "customer_id": ids.iloc[who].to_numpy(),
        "group": str_take(["control", "treat"], plan.treated[who].astype(np.int64)),
        "churn_probability": np.round(plan.baseline[who], 4),
        "reason_1": str_take(reasons, plan.cause[who].astype(np.int64)),
        "recommended_playbook": str_take(list(camp.PLAYBOOKS), plan.playbook[who].astype(np.int64)),
        "model_version": "planted",
    })
    assignments["customer_id"] = assignments["customer_id"].astype(STR_DTYPE)
    contacted = who[plan.reached[who]]
    contacted = contacted[np.lexsort((plan.action_ts[contacted], contacted))]
    actions = pd.DataFrame({
        "customer_id": ids.iloc[contacted].to_numpy(),
        "timestamp": _timestamps(start_ns, plan.action_ts[contacted]),
        "playbook": _category(camp.PLAYBOOKS, plan.playbook[contacted]),
        "owner": customers["account_manager"].iloc[contacted].astype(str).to_numpy(),
        "channel": _category(camp.CHANNELS, plan.channel[contacted]),
        "outcome": _category(("reached",), np.zeros(contacted.size, dtype=np.int8)),
    })
    actions["customer_id"] = actions["customer_id"].astype(STR_DTYPE)
    actions["owner"] = actions["owner"].astype(STR_DTYPE)
    # A customer who left before the contact was not reached after all.
    end = customers["end_date"].iloc[contacted].to_numpy()
    actions = actions[~(end <= actions["timestamp"].to_numpy())].reset_index(drop=True)
    return {"actions": actions, "assignments": assignments}
