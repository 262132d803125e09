"""JSON-serialisable dictionaries of fitted estimators, for services that must not unpickle.

``to_dict`` walks an estimator's state (constructor parameters and fitted attributes) and
encodes every value as plain JSON types: numbers, strings, lists and dicts, with tagged
dicts for numpy arrays, pandas objects and nested estimators. ``from_dict`` rebuilds the
estimator without running any code from the payload: only classes from an allow-list of
packages (custseg, scikit-learn, numpy types) can be named, and they are rebuilt by
setting their state, never by calling constructors with arbitrary arguments.
"""

from __future__ import annotations

import importlib
import inspect
import json
import math
from typing import Any

import numpy as np
import pandas as pd

from .exceptions import CustsegError

__all__ = ["SerializableMixin", "to_dict", "from_dict", "FORMAT_VERSION"]

FORMAT_VERSION = 1
_ALLOWED_PACKAGES = ("custseg", "sklearn", "numpy")


def _class_path(cls) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _import_class(path: str, allowed=_ALLOWED_PACKAGES):
    module_name, _, qualname = path.rpartition(".")
    if module_name.split(".")[0] not in allowed:
        raise CustsegError(
            f"Refusing to load class '{path}': only custseg, scikit-learn and numpy "
            "classes can be restored from a dict."
        )
    module = importlib.import_module(module_name)
    obj = module
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def _encode_float(x: float):
    if math.isnan(x):
        return {"__float__": "nan"}
    if math.isinf(x):
        return {"__float__": "inf" if x > 0 else "-inf"}
    return x


def _encode_array(arr: np.ndarray):
    if arr.dtype.kind in "biuf":
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            data = [_encode_float(float(v)) for v in arr.ravel()]
        else:
            data = arr.ravel().tolist()
        return {"__ndarray__": arr.dtype.str, "shape": list(arr.shape), "data": data}
    if arr.dtype.kind in "Mm":
        return {"__ndarray__": arr.dtype.str, "shape": list(arr.shape),
                "data": arr.view("int64").ravel().tolist()}
    if arr.dtype.kind == "V" and arr.dtype.fields is not None:
        dt = arr.dtype
        fields = [dt.fields[name] for name in dt.names]
        layout = {"names": list(dt.names), "offsets": [int(f[1]) for f in fields],
                  "itemsize": int(dt.itemsize),
                  "formats": [[f[0].base.str, list(f[0].shape)] for f in fields]}
        return {"__ndarray__": "structured", "layout": layout,
                "shape": list(arr.shape),
                "data": [_encode(list(row)) for row in arr.ravel().tolist()]}
    if arr.dtype.kind in "UO":
        return {"__ndarray__": arr.dtype.str if arr.dtype.kind == "U" else "object",
                "shape": list(arr.shape), "data": [_encode(v) for v in arr.ravel()]}
    raise CustsegError(f"Cannot serialise a numpy array of dtype {arr.dtype}.")


def _encode(obj: Any):
    from sklearn.base import BaseEstimator

    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, np.integer)) and not isinstance(obj, np.bool_):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, (float, np.floating)):
        return _encode_float(float(obj))
    if isinstance(obj, np.ndarray):
        return _encode_array(obj)
    if isinstance(obj, pd.Categorical):
        return {"__categorical__": _encode(obj.codes.astype(np.int64)),
                "categories": _encode(obj.categories), "ordered": bool(obj.ordered)}
    if isinstance(obj, pd.Index):
        return {"__index__": _encode(obj.to_numpy()), "name": _encode(obj.name),
                "dtype": str(obj.dtype)}
    if isinstance(obj, pd.Series):
        values = obj.array if isinstance(obj.dtype, pd.CategoricalDtype) else obj.to_numpy()
        return {"__series__": _encode(values), "index": _encode(obj.index),
                "name": _encode(obj.name), "dtype": str(obj.dtype)}
    if isinstance(obj, pd.DataFrame):
        return {"__dataframe__": [[_encode(c), _encode(obj[c])] for c in obj.columns],
                "index": _encode(obj.index)}
    if isinstance(obj, pd.Timestamp):
        return {"__timestamp__": obj.isoformat()}
    if isinstance(obj, np.dtype):
        return {"__dtype__": obj.str if obj.kind != "O" else "object"}
    if isinstance(obj, type):
        return {"__type__": _class_path(obj)}
    if isinstance(obj, np.random.RandomState):
        name, keys, pos, has_gauss, cached = obj.get_state()
        return {"__random_state__": [name, keys.tolist(), int(pos), int(has_gauss),
                                     float(cached)]}
    if isinstance(obj, BaseEstimator):
        return {"__estimator__": _class_path(type(obj)),
                "state": {str(k): _encode(v) for k, v in vars(obj).items()}}
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v) for v in obj]}
    if isinstance(obj, list):
        return [_encode(v) for v in obj]
    if isinstance(obj, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in obj):
            return {k: _encode(v) for k, v in obj.items()}
        return {"__dict__": [[_encode(k), _encode(v)] for k, v in obj.items()]}
    if type(obj).__module__.split(".")[0] in _ALLOWED_PACKAGES and not inspect.isroutine(obj):
        return _encode_object(obj)
    if callable(obj):
        raise CustsegError(
            f"Cannot serialise the callable {obj!r} to a dict: callables are code. "
            "Express the condition as a string expression or pickle the estimator instead."
        )
    raise CustsegError(f"Cannot serialise an object of type {type(obj).__name__} to a dict.")


def _encode_object(obj):
    """Fitted helpers of scikit-learn and numpy (trees, losses, bin mappers, random
    generators): their ``__dict__``, or what ``__reduce_ex__`` gives for extension types.
    Only objects of the allowed packages get here, and only those can be rebuilt."""
    if hasattr(obj, "__dict__") and not hasattr(type(obj), "__slots__"):
        return {"__object__": _class_path(type(obj)),
                "state": {str(k): _encode(v) for k, v in vars(obj).items()}}
    reduced = obj.__reduce_ex__(4)
    if isinstance(reduced, str) or len(reduced) < 2:
        raise CustsegError(f"Cannot serialise an object of type {type(obj).__name__}.")
    ctor, args = reduced[0], reduced[1]
    state = reduced[2] if len(reduced) > 2 else None
    newobj = getattr(ctor, "__name__", "") == "__newobj__"
    if newobj:
        ctor, args = args[0], args[1:]
    return {"__reduce__": _class_path(ctor) if isinstance(ctor, type)
            else f"{ctor.__module__}.{ctor.__qualname__}",
            "newobj": newobj, "args": _encode(tuple(args)), "state": _encode(state)}


def _decode(obj: Any, allowed=_ALLOWED_PACKAGES):
    def dec(value):
        return _decode(value, allowed)

    if isinstance(obj, list):
        return [dec(v) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "__float__" in obj:
        return float(obj["__float__"])
    if "__ndarray__" in obj:
        dtype, shape, data = obj["__ndarray__"], tuple(obj["shape"]), obj["data"]
        if dtype == "structured":
            layout = obj["layout"]
            dt = np.dtype({"names": layout["names"], "offsets": layout["offsets"],
                           "itemsize": layout["itemsize"],
                           "formats": [(base, tuple(shp)) if shp else base
                                       for base, shp in layout["formats"]]})
            rows = [tuple(dec(row)) for row in data]
            return np.array(rows, dtype=dt).reshape(shape)
        if dtype == "object":
            arr = np.empty(len(data), dtype=object)
            arr[:] = [dec(v) for v in data]
            return arr.reshape(shape)
        dt = np.dtype(dtype)
        if dt.kind in "Mm":
            return np.asarray(data, dtype="int64").view(dt).reshape(shape)
        return np.asarray([dec(v) for v in data], dtype=dt).reshape(shape)
    if "__categorical__" in obj:
        return pd.Categorical.from_codes(dec(obj["__categorical__"]),
                                         categories=dec(obj["categories"]),
                                         ordered=obj["ordered"])
    if "__index__" in obj:
        values = dec(obj["__index__"])
        try:
            return pd.Index(values, name=dec(obj["name"]), dtype=obj["dtype"])
        except (TypeError, ValueError):
            return pd.Index(values, name=dec(obj["name"]))
    if "__series__" in obj:
        values = dec(obj["__series__"])
        s = pd.Series(values, index=dec(obj["index"]), name=dec(obj["name"]))
        if str(s.dtype) != obj["dtype"]:
            try:
                s = s.astype(obj["dtype"])
            except (TypeError, ValueError):
                pass
        return s
    if "__dataframe__" in obj:
        cols = [(dec(c), dec(v)) for c, v in obj["__dataframe__"]]
        index = dec(obj["index"])
        frame = pd.DataFrame({i: s.reset_index(drop=True) for i, (_, s) in enumerate(cols)})
        frame.columns = pd.Index([c for c, _ in cols]) if cols else frame.columns
        frame.index = index
        return frame
    if "__timestamp__" in obj:
        return pd.Timestamp(obj["__timestamp__"])
    if "__dtype__" in obj:
        return np.dtype(obj["__dtype__"])
    if "__type__" in obj:
        return _import_class(obj["__type__"], allowed)
    if "__random_state__" in obj:
        name, keys, pos, has_gauss, cached = obj["__random_state__"]
        rs = np.random.RandomState()
        rs.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
        return rs
    if "__estimator__" in obj:
        cls = _import_class(obj["__estimator__"], allowed)
        est = cls.__new__(cls)
        est.__dict__.update({k: dec(v) for k, v in obj["state"].items()})
        return est
    if "__object__" in obj:
        cls = _import_class(obj["__object__"], allowed)
        instance = cls.__new__(cls)
        instance.__dict__.update({k: dec(v) for k, v in obj["state"].items()})
        return instance
    if "__reduce__" in obj:
        ctor = _import_class(obj["__reduce__"], allowed)
        args = dec(obj["args"])
        instance = ctor.__new__(ctor, *args) if obj["newobj"] else ctor(*args)
        state = dec(obj["state"])
        if state is not None:
            if hasattr(instance, "__setstate__"):
                instance.__setstate__(state)
            else:
                instance.__dict__.update(state)
        return instance
    if "__tuple__" in obj:
        return tuple(dec(v) for v in obj["__tuple__"])
    if "__dict__" in obj:
        return {_freeze(dec(k)): dec(v) for k, v in obj["__dict__"]}
    return {k: dec(v) for k, v in obj.items()}


def _freeze(key):
    return tuple(key) if isinstance(key, list) else key


def to_dict(estimator) -> dict:
    """Encode an estimator (fitted or not) as a JSON-serialisable dict."""
    from ._version import __version__

    payload = {"format": "custseg-estimator", "format_version": FORMAT_VERSION,
               "custseg_version": __version__, "estimator": _encode(estimator)}
    json.dumps(payload, allow_nan=False)  # fail here, not in the caller's json.dump
    return payload


def from_dict(payload: dict, *, extra_packages: tuple[str, ...] = ()):
    """Rebuild an estimator from :func:`to_dict`'s output.

    Only classes of the packages custseg, sklearn and numpy (plus ``extra_packages``, top
    level package names of the caller's own estimators) can be named in the payload.
    """
    if not isinstance(payload, dict) or payload.get("format") != "custseg-estimator":
        raise CustsegError("Not a custseg estimator dict (missing format 'custseg-estimator').")
    if payload.get("format_version", 0) > FORMAT_VERSION:
        raise CustsegError(
            f"This dict was written by a newer custseg (format {payload['format_version']}); "
            f"this version reads format {FORMAT_VERSION}."
        )
    return _decode(payload["estimator"], _ALLOWED_PACKAGES + tuple(extra_packages))


class SerializableMixin:
    """Adds ``to_dict()`` and ``from_dict()`` (JSON-serialisable, no pickle)."""

    def to_dict(self) -> dict:
        """Return the estimator's parameters and fitted state as a JSON-serialisable dict.

        Returns
        -------
        dict
            Pass it to :meth:`from_dict` (of this class or :func:`custseg.from_dict`) to
            rebuild an identical estimator.
        """
        return to_dict(self)

    @classmethod
    def from_dict(cls, payload: dict):
        """Rebuild an estimator written by :meth:`to_dict`.

        Only classes from custseg, scikit-learn and numpy can be named in the dict; no
        code from the payload is run.
        """
        est = from_dict(payload)
        if not isinstance(est, cls):
            raise CustsegError(
                f"The dict holds a {type(est).__name__}, not a {cls.__name__}."
            )
        return est
