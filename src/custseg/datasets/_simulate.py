"""Vectorised simulator of a BG/NBD purchase process with Gamma-Gamma spend."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

__all__ = ["make_transactions", "CDNOW_PARAMS"]

#: BG/NBD and Gamma-Gamma estimates on the CDNOW sample, in weeks (Fader, Hardie & Lee 2005).
CDNOW_PARAMS = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426,
                "p": 6.25, "q": 3.74, "v": 15.44}

_PERIOD_DAYS = {"D": 1.0, "W": 7.0}


def _rng(random_state):
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None or isinstance(random_state, numbers.Integral):
        return np.random.default_rng(random_state)
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**31 - 1))
    raise TypeError(f"random_state must be None, an int or a numpy Generator, "
                    f"got {type(random_state).__name__}.")


def make_transactions(n_customers: int = 1000, *, r: float = CDNOW_PARAMS["r"],
                      alpha: float = CDNOW_PARAMS["alpha"], a: float = CDNOW_PARAMS["a"],
                      b: float = CDNOW_PARAMS["b"], p: float = CDNOW_PARAMS["p"],
                      q: float = CDNOW_PARAMS["q"], v: float = CDNOW_PARAMS["v"],
                      observation_periods: float = 78.0, acquisition_periods: float = 12.0,
                      time_unit: str = "W", start_date="2020-01-01", shuffle: bool = False,
                      random_state=None) -> Bunch:
    """Simulate a transaction log from a BG/NBD purchase process with Gamma-Gamma spend.

    Each customer makes a first purchase at a time drawn uniformly from the first
    ``acquisition_periods`` periods, then repeat purchases as a Poisson process with rate
    ``lambda ~ Gamma(r, alpha)`` (per ``time_unit``) and, after each repeat purchase, drops
    out with probability ``p_i ~ Beta(a, b)``. Every purchase's amount is drawn from
    ``Gamma(p, nu_i)`` with ``nu_i ~ Gamma(q, v)`` (Gamma-Gamma, Fader, Hardie & Lee 2005).
    The whole simulation is vectorised: the repeat-purchase times are the first
    ``min(N_i, D_i)`` order statistics of ``N_i ~ Poisson(lambda_i T_i)`` uniform points,
    drawn from exponential spacings, so the cost is linear in the number of transactions.

    Parameters
    ----------
    n_customers : int, default=1000
        Number of customers.
    r, alpha, a, b : float
        BG/NBD parameters, rates in units of ``time_unit`` (defaults: the CDNOW estimates
        in weeks).
    p, q, v : float
        Gamma-Gamma spend parameters (shape of a purchase, shape and rate of the
        customer's rate ``nu``).
    observation_periods : float, default=78.0
        Length of the observation window, from ``start_date`` to its end, in ``time_unit``.
    acquisition_periods : float, default=12.0
        First purchases are uniform over ``[0, acquisition_periods)``.
    time_unit : {"W", "D"}, default="W"
        The period in which the rates and lengths above are expressed.
    start_date : str or Timestamp, default="2020-01-01"
        Start of the window.
    shuffle : bool, default=False
        Shuffle the rows of the log (it is otherwise sorted by customer and time).
    random_state : int, numpy Generator or None, default=None
        Seed for reproducible logs.

    Returns
    -------
    Bunch
        ``transactions``: DataFrame with ``customer_id`` (int64), ``date``
        (datetime64[ns]) and ``amount`` (float64); ``params``: the true parameters;
        ``customers``: the true state per customer (``T``, ``frequency``, ``recency`` in
        ``time_unit``, ``lambda_``, ``dropout_p``, ``alive``, ``nu``);
        ``observation_period_end``: the end of the window (Timestamp); ``time_unit``.

    Examples
    --------
    >>> from custseg.datasets import make_transactions
    >>> sim = make_transactions(500, random_state=0)
    >>> list(sim.transactions.columns)
    ['customer_id', 'date', 'amount']
    >>> int(sim.transactions["customer_id"].nunique())
    500
    """
    if time_unit not in _PERIOD_DAYS:
        raise ValueError(f"time_unit must be one of {sorted(_PERIOD_DAYS)}, got {time_unit!r}.")
    if n_customers < 1:
        raise ValueError(f"n_customers must be >= 1, got {n_customers}.")
    for name, value in dict(r=r, alpha=alpha, a=a, b=b, p=p, q=q, v=v).items():
        if not value > 0:
            raise ValueError(f"Parameter {name} must be > 0, got {value}.")
    if not 0 <= acquisition_periods < observation_periods:
        raise ValueError("acquisition_periods must lie in [0, observation_periods).")
    rng = _rng(random_state)
    n = int(n_customers)

    birth = rng.uniform(0.0, acquisition_periods, size=n)
    T = observation_periods - birth
    lam = rng.gamma(r, 1.0 / alpha, size=n)
    drop = rng.beta(a, b, size=n)
    n_events = rng.poisson(lam * T)
    deaths = rng.geometric(np.clip(drop, 1e-300, 1.0))  # dies after its D-th repeat purchase
    k = np.minimum(n_events, deaths).astype(np.int64)
    alive = deaths > n_events

    # first k order statistics of n_events uniforms on (0, T): exponential spacings
    total = int(k.sum())
    spacing = rng.standard_exponential(total)
    starts = np.concatenate(([0], np.cumsum(k)[:-1]))
    owner = np.repeat(np.arange(n), k)
    csum = np.cumsum(spacing)
    before = np.concatenate(([0.0], csum))[starts]  # cumulative sum before each customer
    within = csum - before[owner]
    tail = rng.standard_gamma(n_events - k + 1.0)  # sum of the remaining spacings
    last = np.where(k > 0, within[np.maximum(starts + k - 1, 0)] if total else 0.0, 0.0)
    scale = T / (last + tail)
    repeat_t = within * scale[owner]
    recency = np.where(k > 0, last * scale, 0.0)

    # one first purchase per customer (t = 0) then its repeat purchases, in time order
    counts = k + 1
    cust = np.repeat(np.arange(n), counts)
    first_pos = np.concatenate(([0], np.cumsum(counts)[:-1]))
    t_rel = np.zeros(int(counts.sum()))
    is_repeat = np.ones(t_rel.size, dtype=bool)
    is_repeat[first_pos] = False
    t_rel[is_repeat] = repeat_t
    abs_periods = birth[cust] + t_rel

    nu = rng.gamma(q, 1.0 / v, size=n)
    amount = rng.gamma(p, 1.0 / nu[cust])

    start = pd.Timestamp(start_date)
    unit_ns = _PERIOD_DAYS[time_unit] * 86_400e9
    dates = start.to_datetime64().astype("datetime64[ns]") + (
        np.floor(abs_periods * unit_ns).astype("int64").view("timedelta64[ns]"))
    transactions = pd.DataFrame({"customer_id": cust.astype(np.int64) + 1,
                                 "date": dates, "amount": np.round(amount, 2)})
    if shuffle:
        transactions = transactions.iloc[rng.permutation(len(transactions))]
        transactions = transactions.reset_index(drop=True)
    customers = pd.DataFrame({
        "T": T, "frequency": k, "recency": recency, "lambda_": lam, "dropout_p": drop,
        "alive": alive, "nu": nu,
    }, index=pd.Index(np.arange(1, n + 1, dtype=np.int64), name="customer_id"))
    end = start + pd.Timedelta(days=observation_periods * _PERIOD_DAYS[time_unit])
    params = {"r": r, "alpha": alpha, "a": a, "b": b, "p": p, "q": q, "v": v}
    return Bunch(transactions=transactions, params=params, customers=customers,
                 observation_period_end=end, time_unit=time_unit)
