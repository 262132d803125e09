"""custseg: customer segments and tiers from transaction logs.

RFM features (:mod:`custseg.features`), probabilistic value models
(:mod:`custseg.models`), rule-based tiers (:mod:`custseg.tiers`), clustering
(:mod:`custseg.cluster`) and reports (:mod:`custseg.report`), all with scikit-learn
contracts.
"""

from ._version import __version__
from .exceptions import ConvergenceWarning, CustsegError

__all__ = ["__version__", "CustsegError", "ConvergenceWarning"]
