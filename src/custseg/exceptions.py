"""Exceptions and warnings raised by custseg.

Every error about the user's data is a :class:`CustsegError`, a subclass of
:class:`ValueError`, so that scikit-learn idioms (``except ValueError``) keep working.
Messages name the column, how many rows are affected and show up to five of them.
"""

from sklearn.exceptions import ConvergenceWarning as _SklearnConvergenceWarning
from sklearn.exceptions import NotFittedError

__all__ = [
    "CustsegError",
    "MissingColumnError",
    "InvalidDataError",
    "EmptyDataError",
    "InvalidParameterError",
    "ConvergenceWarning",
    "NotFittedError",
]


class CustsegError(ValueError):
    """Base class of every error custseg raises about its input."""


class MissingColumnError(CustsegError, KeyError):
    """A required column is absent from the input frame.

    Also a :class:`KeyError`, as pandas raises for a missing column.
    """

    def __str__(self):  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class InvalidDataError(CustsegError):
    """Values in a column are invalid (NaN, wrong type, negative, out of range ...)."""


class EmptyDataError(CustsegError):
    """The input holds no rows (or none are left after cleaning)."""


class InvalidParameterError(CustsegError):
    """A parameter combined with the data is invalid (checked at fit or predict time)."""


class ConvergenceWarning(_SklearnConvergenceWarning):
    """A maximum-likelihood fit did not converge; the message says what to try."""
