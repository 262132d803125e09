"""Configuration of the whole job (``custseg segment``): defaults, TOML file, CLI flags.

A TOML file can set every option and every tier threshold and name::

    [columns]
    customer_id = "客户编号"
    date = "日期"
    amount = "金额"             # optional: without amounts, no spend, CLV or M score
    date_format = "%d/%m/%Y"    # default: inferred (day/month order read from the data)

    [job]
    freq = "W"                # period of the customer table
    horizon = 52              # prediction horizon, in periods
    model = "bgnbd"           # bgnbd | mbgnbd | paretonbd
    discount_rate = 0.10      # annual discount rate of the CLV
    returns = "drop"          # drop | net | keep

    [value_tiers]             # keyword arguments of custseg.tiers.ValueTiers
    column = "clv"
    quantiles = [0.8, 0.5]
    labels = ["high", "mid", "low"]

    [rfm_scores]              # custseg.tiers.RFMScorer
    [rfm_segments]            # custseg.tiers.RFMSegmenter
    [lifecycle]               # custseg.tiers.LifecycleStages
    [value_matrix]            # custseg.tiers.ValueMatrix
    [segmenter]               # custseg.cluster.CustomerSegmenter

Values given on the command line win over the file, which wins over the defaults.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from .exceptions import CustsegError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["JobConfig", "ESTIMATOR_SECTIONS"]

#: TOML sections passed as keyword arguments to the estimator of the same role.
ESTIMATOR_SECTIONS = ("value_tiers", "rfm_scores", "rfm_segments", "lifecycle",
                      "value_matrix", "segmenter")

_COLUMN_GUESSES = {
    "customer_id": ["customer_id", "customerid", "customer", "client_id", "clientid",
                    "user_id", "userid", "id"],
    "date": ["date", "datetime", "timestamp", "order_date", "invoicedate", "invoice_date",
             "purchase_date", "transaction_date", "time"],
    "amount": ["amount", "monetary_value", "revenue", "sales", "value", "price", "total",
               "spend", "dollar_value", "order_value"],
}
_PERIODS_PER_YEAR = {"D": 365.25, "W": 52.1775, "M": 12.0}


@dataclasses.dataclass
class JobConfig:
    """Every option of the whole job. See the module docstring for the TOML layout."""

    customer_id: str | None = None
    date: str | None = None
    amount: str | None = None
    date_format: str | None = None
    freq: str = "W"
    observation_end: str | None = None
    horizon: int | None = None
    model: str = "bgnbd"
    penalizer: float = 0.0
    discount_rate: float = 0.10
    returns: str = "drop"
    random_state: int = 0
    value_tiers: dict = dataclasses.field(default_factory=dict)
    rfm_scores: dict = dataclasses.field(default_factory=dict)
    rfm_segments: dict = dataclasses.field(default_factory=dict)
    lifecycle: dict = dataclasses.field(default_factory=dict)
    value_matrix: dict = dataclasses.field(default_factory=dict)
    segmenter: dict = dataclasses.field(default_factory=dict)

    @property
    def periods_per_year(self) -> float:
        return _PERIODS_PER_YEAR[self.freq]

    @property
    def horizon_periods(self) -> int:
        """The horizon in periods of ``freq``: the option, or one year."""
        return self.horizon if self.horizon is not None else int(round(self.periods_per_year))

    def validate(self) -> JobConfig:
        if self.freq not in _PERIODS_PER_YEAR:
            raise CustsegError(f"Option 'freq' must be one of D, W, M; got {self.freq!r}.")
        if self.model not in ("bgnbd", "mbgnbd", "paretonbd"):
            raise CustsegError(
                f"Option 'model' must be bgnbd, mbgnbd or paretonbd; got {self.model!r}.")
        if self.returns not in ("drop", "net", "keep"):
            raise CustsegError(
                f"Option 'returns' must be drop, net or keep; got {self.returns!r}.")
        if not 0 <= self.discount_rate < 10:
            raise CustsegError(
                f"Option 'discount_rate' (annual) must be in [0, 10); got {self.discount_rate}.")
        if self.horizon is not None and self.horizon <= 0:
            raise CustsegError(f"Option 'horizon' must be positive; got {self.horizon}.")
        return self

    @classmethod
    def from_toml(cls, path) -> JobConfig:
        path = Path(path)
        try:
            with open(path, "rb") as f:
                data = tomllib.load(f)
        except FileNotFoundError:
            raise CustsegError(f"Config file '{path}' does not exist.") from None
        except tomllib.TOMLDecodeError as exc:
            raise CustsegError(f"Config file '{path}' is not valid TOML: {exc}") from None
        return cls.from_mapping(data, source=str(path))

    @classmethod
    def from_mapping(cls, data: dict, source: str = "config") -> JobConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {}
        for section, content in data.items():
            if section in ("columns", "job"):
                if not isinstance(content, dict):
                    raise CustsegError(f"{source}: [{section}] must be a table.")
                for key, value in content.items():
                    if key not in known or key in ESTIMATOR_SECTIONS:
                        raise CustsegError(
                            f"{source}: unknown option '{key}' in [{section}]; known options: "
                            f"{sorted(known - set(ESTIMATOR_SECTIONS))}.")
                    values[key] = value
            elif section in ESTIMATOR_SECTIONS:
                if not isinstance(content, dict):
                    raise CustsegError(f"{source}: [{section}] must be a table.")
                values[section] = dict(content)
            else:
                raise CustsegError(
                    f"{source}: unknown section [{section}]; known sections: "
                    f"{['columns', 'job', *ESTIMATOR_SECTIONS]}.")
        return cls(**values).validate()

    @classmethod
    def from_sources(cls, config_path=None, args=None) -> JobConfig:
        """Defaults, then the TOML file, then command-line flags (``argparse`` namespace)."""
        config = cls.from_toml(config_path) if config_path else cls()
        if args is not None:
            mapping = {"customer_id": "customer_id", "date": "date", "amount": "amount",
                       "date_format": "date_format", "freq": "freq",
                       "observation_end": "observation_end", "horizon": "horizon",
                       "model": "model", "returns": "returns", "random_state": "random_state"}
            for attr, field in mapping.items():
                value = getattr(args, attr, None)
                if value is not None:
                    setattr(config, field, value)
        return config.validate()

    def resolve_columns(self, columns) -> tuple[str, str, str | None]:
        """Pick the id, date and amount columns: the options, else common names."""
        present = list(columns)
        lowered = {str(c).strip().lower().replace(" ", "_"): c for c in present}
        chosen = {}
        for role in ("customer_id", "date", "amount"):
            given = getattr(self, role)
            if given is not None:
                if given not in present:
                    raise CustsegError(
                        f"Column '{given}' (given as the {role.replace('_', ' ')} column) is "
                        f"not in the input; columns found: {present}.")
                chosen[role] = given
                continue
            match = next((lowered[g] for g in _COLUMN_GUESSES[role] if g in lowered), None)
            if match is None and role != "amount":
                flag = "--customer-id" if role == "customer_id" else "--date"
                raise CustsegError(
                    f"Cannot find the {role.replace('_', ' ')} column among {present}: "
                    f"name it with {flag} COL.")
            chosen[role] = match
        if chosen["customer_id"] == chosen["date"]:
            raise CustsegError("The customer id and date columns must differ.")
        return chosen["customer_id"], chosen["date"], chosen["amount"]
