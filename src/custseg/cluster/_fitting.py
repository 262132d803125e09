"""Fitting the scikit-learn model behind :class:`CustomerSegmenter`: each run starts
from the weighted sample of customers, candidate numbers of segments are scored there,
and the models' convergence warnings are reported as custseg's."""

from __future__ import annotations

import threading
import warnings
from contextlib import contextmanager

import numpy as np
from sklearn.base import clone
from sklearn.cluster import KMeans, kmeans_plusplus
from sklearn.exceptions import ConvergenceWarning as _SklearnConvergenceWarning
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_limits

from ..exceptions import ConvergenceWarning
from ._functions import mean_silhouette

#: Floor on the variance of each mixture component, in standardised units (see Notes).
GMM_REG_COVAR = 0.05

_WARNINGS_LOCK = threading.Lock()


@contextmanager
def _custseg_convergence_warnings(what: str):
    """Re-issue scikit-learn's convergence warnings as custseg ConvergenceWarnings.

    ``warnings.catch_warnings`` changes process-wide state: the lock keeps fits running in
    threads (joblib's threading backend) from restoring each other's state.
    """
    with _WARNINGS_LOCK, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        if issubclass(w.category, _SklearnConvergenceWarning) and not issubclass(
                w.category, ConvergenceWarning):
            warnings.warn(
                f"{what} did not converge: {str(w.message).rstrip('.')}. Try a larger "
                "n_init, fewer segments, or check for many identical customers.",
                ConvergenceWarning, stacklevel=4,
            )
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def _score_candidate(template, sample: np.ndarray, weight: np.ndarray, k: int,
                     criterion: str) -> float:
    """Fit ``template`` with ``k`` segments on the weighted sample; silhouette or BIC
    there."""
    model = clone(template)
    key = "n_components" if isinstance(model, GaussianMixture) else "n_clusters"
    model.set_params(**{key: k})
    # one thread per candidate: the candidates themselves run in parallel (n_jobs), and
    # threads on a small sample cost more in synchronisation than they save
    with threadpool_limits(limits=1), _custseg_convergence_warnings(
            f"{type(model).__name__} with {k} segments"):
        if criterion == "bic":
            points = _repeated(sample, weight)
            return float(model.fit(points).bic(points))
        model.fit(sample, sample_weight=weight)
        n_labels = np.unique(model.labels_).size
        if n_labels < 2 or n_labels > weight.sum() - 1:
            return float("nan")
        return mean_silhouette(sample, model.labels_, sample_weight=weight)


def _repeated(points: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """The weighted points as unweighted ones, for the mixture, which takes no weights:
    each repeated a whole number of times proportional to its weight (at least once),
    about twice as many points in all when the weights add up to more."""
    cap = 2 * points.shape[0]
    total = weight.sum()
    scale = 1.0 if total <= cap else cap / total
    copies = np.maximum(1, np.rint(weight * scale)).astype(np.intp)
    return np.repeat(points, copies, axis=0)


def fit_model(template, method: str, n_init: int, z: np.ndarray, h: np.ndarray,
              sample: np.ndarray, weight: np.ndarray, k: int, seed: int):
    """Fit ``template`` (the model with ``k`` segments) on all customers, ``n_init``
    times from the weighted sample as the segmenter's Notes describe; return the model
    and its labels (in the rows' order).

    ``z`` holds the scaled features as rows, ``h`` the hash of each row (the mini-batch
    and mixture models are fitted on the rows sorted by it); ``sample`` and ``weight``
    are the distinct customers of the weighted sample and how many customers each
    stands for.
    """
    what = f"{type(template).__name__} with {k} segments"
    points = np.take(z, sample, axis=1).T
    # k-means on the sample first pays when the sample is small against the table
    on_sample = 8 * points.shape[0] <= z.shape[1]
    start = None
    if method == "kmeans" or (method == "minibatch" and on_sample):
        seeds = np.random.RandomState(seed)
        if points.shape[0] < k:  # fewer distinct customers than segments
            points = np.repeat(points, np.rint(weight).astype(np.intp), axis=0)
            weight = None
        best = None
        with _custseg_convergence_warnings(what):
            for _ in range(n_init):  # a loop over runs, as KMeans(n_init) does
                centers, _ = kmeans_plusplus(points, k, sample_weight=weight,
                                             random_state=seeds)
                if on_sample:
                    fitted = KMeans(k, init=centers, n_init=1, random_state=seed).fit(
                        points, sample_weight=weight)
                    centers = fitted.cluster_centers_
                    if method == "minibatch":  # one run on all rows: the best
                        if start is None or fitted.inertia_ < start[1]:
                            start = centers, fitted.inertia_
                        continue
                model = clone(template).set_params(init=centers, n_init=1)
                # the transpose of z is Fortran-ordered: scikit-learn's own copy of
                # the data makes it C-ordered, with no copy of ours
                model.fit(z.T)
                if best is None or model.inertia_ < best.inertia_:
                    best = model
        if best is not None:
            return best, best.labels_
    order = np.argsort(h)  # identical rows are interchangeable: no need to be stable
    rows = np.empty((z.shape[1], z.shape[0]))
    for j in range(z.shape[0]):  # a loop over features
        np.take(z[j], order, out=rows[:, j])
    model = clone(template)
    if start is not None:  # mini-batch k-means from the sample's centroids
        model.set_params(init=start[0], n_init=1)
    if method == "gmm" and on_sample and points.shape[0] >= k:
        # the mixture fitted on the sample's points (repeated in proportion to their
        # weights, it takes no weights) is the start of EM on all customers
        repeated = _repeated(points, weight)
        with _custseg_convergence_warnings(what):
            first = clone(model).fit(repeated)
        model.set_params(n_init=1, init_params="random_from_data",
                         weights_init=first.weights_, means_init=first.means_,
                         precisions_init=first.precisions_)
    with _custseg_convergence_warnings(what):
        if method == "gmm":  # labels from the final E-step of the fit
            fitted = model.fit_predict(rows)
        else:
            fitted = model.fit(rows).labels_
    del rows
    labels = np.empty_like(fitted)
    labels[order] = fitted
    if method != "gmm":
        model.labels_ = labels  # the rows in the order given to fit
    return model, labels
