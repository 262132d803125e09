"""A small, safe condition language evaluated vectorised over the columns of a table.

Conditions are compiled into a tree of plain tuples (hashable, picklable, serialisable)
and evaluated with numpy over whole columns; no Python code from the user is ever run.

Three ways to write a condition, all compiled into the same tree:

- a string, parsed with :mod:`ast` and restricted to a whitelist of node types::

      "clv >= 500 and region == 'EU'"
      "industry in ['manufacturing', 'retail'] and not (T - recency > 90)"
      "`last order` >= 3 | isna(clv)"

  comparisons (``== != < <= > >=``, chains such as ``0 < x <= 5``), ``in`` / ``not in``
  a list of constants, ``and`` / ``or`` / ``not`` (also ``&`` ``|`` ``~``), parentheses,
  numbers, strings, ``True`` / ``False``, arithmetic ``+ - * /`` between numbers and
  columns, and the functions ``isna(column)`` / ``notna(column)``. Column names that are
  not Python identifiers are written between backticks.
- a dict ``{column: (op, value), ...}``: the conjunction of the comparisons; ``column``
  may be an integer position;
- a callable ``frame -> boolean mask`` (runs the user's own code, so it cannot be
  serialised with ``to_dict``).

Tree nodes::

    ("col", name)  ("const", value)  ("list", (v, ...))  ("cmp", op, left, right)
    ("and", (a, ...))  ("or", (a, ...))  ("not", a)  ("arith", op, left, right)
    ("neg", a)  ("call", "isna" | "notna", a)  ("callable", function)
"""

from __future__ import annotations

import ast
import numbers

import numpy as np
import pandas as pd

from .._validation import raise_bad_rows
from ..exceptions import InvalidParameterError

__all__ = ["compile_condition", "condition_columns", "condition_text", "Columns",
           "evaluate", "check_missing"]

_CMP_OPS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">",
            ast.GtE: ">=", ast.In: "in", ast.NotIn: "not in"}
_ARITH_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_FUNCTIONS = ("isna", "notna")
_SWAPPED = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_NUMPY_CMP = {"==": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal,
              ">": np.greater, ">=": np.greater_equal}
_NUMPY_ARITH = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide}
DICT_OPS = ("==", "!=", "<", "<=", ">", ">=", "in", "not in")


# --------------------------------------------------------------------------- compiling
def _replace_backticks(text: str) -> tuple[str, dict[str, str]]:
    """Replace `quoted names` (outside string literals) by placeholder identifiers."""
    out, names, i, quote = [], {}, 0, None
    while i < len(text):
        ch = text[i]
        if quote:
            out.append(ch)
            if ch == "\\" and i + 1 < len(text):
                out.append(text[i + 1])
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
            out.append(ch)
        elif ch == "`":
            end = text.find("`", i + 1)
            if end < 0:
                raise InvalidParameterError(
                    f"Condition {text!r}: unmatched backtick at position {i}.")
            placeholder = f"__custseg_col_{len(names)}__"
            names[placeholder] = text[i + 1:end]
            out.append(placeholder)
            i = end
        else:
            out.append(ch)
        i += 1
    return "".join(out), names


def _constant(value, text):
    if isinstance(value, (bool, str)) or (isinstance(value, numbers.Number)
                                          and not isinstance(value, complex)):
        return value
    raise InvalidParameterError(
        f"Condition {text!r}: constant {value!r} is not a number, a string or a boolean.")


def _from_ast(node, text, names):  # noqa: C901 - one branch per whitelisted node type
    def bad(what):
        where = f" at column {node.col_offset + 1}" if hasattr(node, "col_offset") else ""
        return InvalidParameterError(
            f"Condition {text!r}: {what}{where} is not allowed. Conditions may use "
            "columns, numbers, strings, lists, comparisons, in / not in, and / or / not, "
            "+ - * /, isna() and notna().")

    rec = lambda child: _from_ast(child, text, names)  # noqa: E731
    if isinstance(node, ast.Expression):
        return rec(node.body)
    if isinstance(node, ast.BoolOp):
        kind = "and" if isinstance(node.op, ast.And) else "or"
        return (kind, tuple(rec(v) for v in node.values))
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.BitAnd, ast.BitOr)):
        kind = "and" if isinstance(node.op, ast.BitAnd) else "or"
        return (kind, (rec(node.left), rec(node.right)))
    if isinstance(node, ast.BinOp) and type(node.op) in _ARITH_OPS:
        return ("arith", _ARITH_OPS[type(node.op)], rec(node.left), rec(node.right))
    if isinstance(node, ast.UnaryOp):
        if isinstance(node.op, (ast.Not, ast.Invert)):
            return ("not", rec(node.operand))
        if isinstance(node.op, ast.USub):
            inner = rec(node.operand)
            if inner[0] == "const" and not isinstance(inner[1], (str, bool)):
                return ("const", -inner[1])
            return ("neg", inner)
        if isinstance(node.op, ast.UAdd):
            return rec(node.operand)
        raise bad(f"operator {type(node.op).__name__}")
    if isinstance(node, ast.Compare):
        parts, left = [], rec(node.left)
        for op, comparator in zip(node.ops, node.comparators):
            if type(op) not in _CMP_OPS:
                raise bad(f"comparison {type(op).__name__}")
            right = rec(comparator)
            sym = _CMP_OPS[type(op)]
            if sym in ("in", "not in") and right[0] != "list":
                raise bad("'in' needs a list of constants on its right and")
            parts.append(("cmp", sym, left, right))
            left = right
        return parts[0] if len(parts) == 1 else ("and", tuple(parts))
    if isinstance(node, ast.Name):
        if node.id in ("True", "False"):  # pragma: no cover - parsed as Constant
            return ("const", node.id == "True")
        return ("col", names.get(node.id, node.id))
    if isinstance(node, ast.Constant):
        return ("const", _constant(node.value, text))
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        values = []
        for elt in node.elts:
            item = rec(elt)
            if item[0] != "const":
                raise bad("a list item that is not a constant")
            values.append(item[1])
        return ("list", tuple(values))
    if isinstance(node, ast.Call):
        if (isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS
                and len(node.args) == 1 and not node.keywords):
            arg = rec(node.args[0])
            if arg[0] != "col":
                raise bad(f"{node.func.id}() of something that is not a column")
            return ("call", node.func.id, arg)
        raise bad("a function call other than isna(column) / notna(column)")
    raise bad(f"syntax {type(node).__name__}")


def _parse(text: str):
    source, names = _replace_backticks(text)
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise InvalidParameterError(f"Condition {text!r} is not valid: {exc.msg}.") from None
    return _from_ast(tree, text, names)


def _from_dict(cond: dict, text):
    if not cond:
        raise InvalidParameterError("A dict condition needs at least one column.")
    parts = []
    for column, spec in cond.items():
        if not (isinstance(spec, (tuple, list)) and len(spec) == 2
                and isinstance(spec[0], str) and spec[0] in DICT_OPS):
            raise InvalidParameterError(
                f"Dict condition {text}: the value for column {column!r} must be an "
                f"(op, value) pair with op one of {list(DICT_OPS)}, got {spec!r}.")
        op, value = spec
        if op in ("in", "not in"):
            if isinstance(value, (str, bytes)) or not np.iterable(value):
                raise InvalidParameterError(
                    f"Dict condition {text}: {op!r} for column {column!r} needs a list.")
            right = ("list", tuple(_constant(v, text) for v in value))
        else:
            right = ("const", _constant(value, text))
        parts.append(("cmp", op, ("col", column), right))
    return parts[0] if len(parts) == 1 else ("and", tuple(parts))


def compile_condition(cond):
    """Compile a string, dict or callable condition into a tuple tree (see module doc)."""
    if isinstance(cond, str):
        return _parse(cond)
    if isinstance(cond, dict):
        return _from_dict(cond, repr(cond))
    if isinstance(cond, tuple) and cond and cond[0] in _NODE_KINDS:
        return cond  # already compiled
    if callable(cond):
        return ("callable", cond)
    raise InvalidParameterError(
        f"A condition must be a string expression, a dict {{column: (op, value)}} or a "
        f"callable frame -> boolean mask; got {type(cond).__name__}.")


_NODE_KINDS = ("col", "const", "list", "cmp", "and", "or", "not", "arith", "neg", "call",
               "callable")


def condition_columns(node, *, strict: bool = False) -> list:
    """Columns a compiled condition reads, in first-use order.

    With ``strict=True`` the columns read only inside ``isna()`` / ``notna()`` are left
    out: those are the columns whose missing values the condition cannot handle.
    """
    out: list = []

    def walk(n):
        kind = n[0]
        if kind == "col":
            if n[1] not in out:
                out.append(n[1])
        elif kind in ("and", "or"):
            for child in n[1]:
                walk(child)
        elif kind in ("not", "neg"):
            walk(n[1])
        elif kind in ("cmp", "arith"):
            walk(n[2])
            walk(n[3])
        elif kind == "call" and not strict:
            walk(n[2])

    walk(node)
    return out


def condition_text(node) -> str:
    """Render a compiled condition back as an expression string."""
    kind = node[0]
    if kind == "col":
        name = node[1]
        if isinstance(name, str) and name.isidentifier():
            return name
        return f"`{name}`" if isinstance(name, str) else f"column[{name}]"
    if kind == "const":
        return repr(node[1])
    if kind == "list":
        return repr(list(node[1]))
    if kind == "cmp":
        return f"{condition_text(node[2])} {node[1]} {condition_text(node[3])}"
    if kind in ("and", "or"):
        return f" {kind} ".join(
            f"({condition_text(c)})" if c[0] in ("and", "or") else condition_text(c)
            for c in node[1])
    if kind == "not":
        inner = condition_text(node[1])
        return f"not ({inner})" if node[1][0] in ("and", "or", "cmp") else f"not {inner}"
    if kind == "arith":
        return f"({condition_text(node[2])} {node[1]} {condition_text(node[3])})"
    if kind == "neg":
        return f"-{condition_text(node[1])}"
    if kind == "call":
        return f"{node[1]}({condition_text(node[2])})"
    fn = node[1]
    return f"<callable {getattr(fn, '__qualname__', type(fn).__name__)}>"


# -------------------------------------------------------------------------- evaluating
class Columns:
    """Read-only access to the columns of a table (by name, or by integer position).

    The table is a DataFrame, or a 2-d array with column names (read without copying).
    Numeric and boolean columns come back as numpy arrays, categorical ones as
    :class:`pandas.Categorical`, anything else (text, dates) as a :class:`pandas.Series`.
    """

    def __init__(self, frame: pd.DataFrame | None = None, *, array=None, names=None):
        self._frame = frame
        self._array = array
        if frame is not None:
            self.names = list(frame.columns)
            self.n = len(frame)
        else:
            self.names = list(names)
            self.n = array.shape[0]
        self._cache: dict = {}

    @classmethod
    def from_array(cls, array: np.ndarray, names) -> Columns:
        return cls(array=array, names=names)

    @property
    def is_array(self) -> bool:
        return self._array is not None

    @property
    def n_columns(self) -> int:
        return len(self.names)

    @property
    def frame(self) -> pd.DataFrame:
        """The table as a DataFrame (built on first use for an array)."""
        if self._frame is None:
            self._frame = pd.DataFrame(self._array, columns=self.names)
        return self._frame

    def frame_for_columns(self) -> pd.DataFrame:
        """A DataFrame with the table's column names (empty for an array)."""
        if self._frame is not None:
            return self._frame
        return pd.DataFrame(columns=self.names)

    def _position(self, name) -> int | None:
        if name in self.names:
            return self.names.index(name)
        if isinstance(name, (int, np.integer)) and -self.n_columns <= name < self.n_columns:
            return int(name)
        return None

    def series(self, name) -> pd.Series:
        if self._frame is None:
            pos = self._position(name)
            if pos is None:
                raise KeyError(name)
            return pd.Series(self._array[:, pos], name=self.names[pos], copy=False)
        if name not in self._frame.columns and isinstance(name, (int, np.integer)):
            return self._frame.iloc[:, int(name)]
        return self._frame[name]

    def get(self, name):
        if name in self._cache:
            return self._cache[name]
        if self._frame is None:
            pos = self._position(name)
            if pos is None:
                raise KeyError(name)
            value = self._array[:, pos]
        else:
            value = _column_values(self.series(name))
        self._cache[name] = value
        return value

    def label(self, name) -> str:
        """The column's name as text (its name for an integer position)."""
        if isinstance(name, (int, np.integer)) and name not in self.names:
            pos = self._position(name)
            if pos is not None:
                return str(self.names[pos])
        return str(name)

    def numeric(self, name, *, hint: str = "") -> np.ndarray:
        """The column as numbers.

        Numeric columns come back as they are. A column of numbers stored as text or as
        Python objects (``"12.5"``, ``Decimal("3")``) is converted with
        :func:`pandas.to_numeric` into float64 (missing values become NaN) and the
        conversion replaces the column for every later reader, so that the rules compare
        numbers. Rows that hold something else than a number or a missing value raise an
        :class:`~custseg.exceptions.InvalidDataError` naming the column, their count and
        up to five of them.
        """
        value = self.get(name)
        if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
            return value
        series = self.series(name)
        converted = pd.to_numeric(series, errors="coerce")
        bad = converted.isna().to_numpy(dtype=bool) & series.notna().to_numpy(dtype=bool)
        raise_bad_rows(self.frame, bad, self.label(name), "are not numbers", hint=hint)
        value = converted.to_numpy(dtype=np.float64, na_value=np.nan)
        self._cache[name] = value
        self._cache.pop(("missing", name), None)
        return value

    def missing(self, name) -> np.ndarray:
        """Boolean mask of missing values (NaN, None, NaT) of a column."""
        key = ("missing", name)
        if key in self._cache:
            return self._cache[key]
        value = self.get(name)
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            out = np.isnan(value)
        elif isinstance(value, np.ndarray) and value.dtype.kind in "biu":
            out = np.zeros(self.n, dtype=bool)
        else:
            out = np.asarray(pd.isna(value), dtype=bool)
        self._cache[key] = out
        return out


def _column_values(s: pd.Series):
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return s.array
    if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
        return s.to_numpy()
    if pd.api.types.is_bool_dtype(dtype) and not s.isna().any():
        return s.to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        return s.to_numpy(dtype=np.float64, na_value=np.nan)  # nullable Int64 / Float64
    return s


def _as_mask(value, n: int, text: str) -> np.ndarray:
    if isinstance(value, (bool, np.bool_)):
        return np.full(n, bool(value))
    if isinstance(value, pd.Series):
        if not pd.api.types.is_bool_dtype(value.dtype):
            raise InvalidParameterError(
                f"Condition {text!r} does not give True/False values (dtype {value.dtype}).")
        return value.to_numpy(dtype=bool, na_value=False)
    arr = np.asarray(value)
    if arr.dtype != bool:
        raise InvalidParameterError(
            f"Condition {text!r} does not give True/False values (dtype {arr.dtype}); "
            "compare the column with a value, for example 'flag == 1'.")
    if arr.shape != (n,):
        raise InvalidParameterError(
            f"Condition {text!r} gives {arr.shape[0] if arr.ndim else 1} values for "
            f"{n} rows.")
    return arr


def _compare_categorical(cat: pd.Categorical, op: str, right, column, text):
    codes = cat.codes
    cats = cat.categories
    if op in ("in", "not in"):
        idx = cats.get_indexer(list(right))
        hit = np.isin(codes, idx[idx >= 0])
        return hit if op == "in" else ~hit & (codes >= 0)
    pos = cats.get_indexer([right])[0]
    if op == "==":
        return codes == pos if pos >= 0 else np.zeros(len(codes), dtype=bool)
    if op == "!=":
        return (codes != pos) & (codes >= 0)
    if not cat.ordered or pos < 0:
        raise InvalidParameterError(
            f"Condition {text!r}: column {column!r} is categorical; '{op}' needs an "
            f"ordered categorical and a value among its categories, got {right!r}.")
    return _NUMPY_CMP[op](codes, pos) & (codes >= 0)


def _value(node, cols: Columns, memo: dict, text: str):
    """Evaluate a node to an array, a Categorical, a Series or a Python constant."""
    if node in memo:
        return memo[node]
    kind = node[0]
    if kind == "const":
        return node[1]
    if kind == "col":
        result = cols.get(node[1])
    elif kind == "list":
        return node[1]
    elif kind == "arith":
        left, right = _value(node[2], cols, memo, text), _value(node[3], cols, memo, text)
        left = _numeric(_as_numbers(left, node[2], cols, memo), node[2], text)
        right = _numeric(_as_numbers(right, node[3], cols, memo), node[3], text)
        with np.errstate(divide="ignore", invalid="ignore"):
            result = _NUMPY_ARITH[node[1]](left, right)
    elif kind == "neg":
        inner = _as_numbers(_value(node[1], cols, memo, text), node[1], cols, memo)
        result = np.negative(_numeric(inner, node[1], text))
    else:
        result = _mask(node, cols, memo, text)
    memo[node] = result
    return result


def _is_text(value) -> bool:
    """A column of text or Python objects (not categorical, not dates)."""
    return isinstance(value, pd.Series) and (
        value.dtype == object or pd.api.types.is_string_dtype(value.dtype))


def _is_number(value) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, (bool, np.bool_))


def _as_numbers(value, node, cols: Columns, memo: dict):
    """A column of numbers stored as text or objects, converted once (see
    :meth:`Columns.numeric`); anything else unchanged."""
    if node[0] != "col" or not _is_text(value):
        return value
    value = cols.numeric(node[1], hint="The condition uses this column as numbers.")
    memo[node] = value
    return value


def _numbers_wanted(other, op: str) -> bool:
    """Whether a comparison with ``other`` treats the column as numbers."""
    if op in ("in", "not in"):
        return bool(other) and all(_is_number(v) for v in other)
    if isinstance(other, np.ndarray):
        return other.dtype.kind in "iuf"
    return _is_number(other)


def _numeric(value, node, text):
    if isinstance(value, (bool, str)) or not (
            isinstance(value, numbers.Number) or (isinstance(value, np.ndarray)
                                                  and value.dtype.kind in "biuf")):
        what = condition_text(node)
        raise InvalidParameterError(
            f"Condition {text!r}: arithmetic needs numbers, but {what} is not numeric.")
    return value


def _compare(op, left, right, lnode, rnode, text):
    if isinstance(left, (pd.Categorical, pd.Series)) is False and isinstance(
            right, (pd.Categorical, pd.Series)) and op in _SWAPPED:
        left, right, lnode, rnode, op = right, left, rnode, lnode, _SWAPPED[op]
    if isinstance(left, pd.Categorical) and not isinstance(right, np.ndarray):
        return _compare_categorical(left, op, right, condition_text(lnode), text)
    if op in ("in", "not in"):
        values = list(right)
        if isinstance(left, pd.Series):
            hit = left.isin(values).to_numpy(dtype=bool)
            return hit if op == "in" else ~hit & left.notna().to_numpy(dtype=bool)
        arr = np.asarray(left)
        if arr.dtype.kind in "biuf" and any(isinstance(v, str) for v in values):
            raise InvalidParameterError(
                f"Condition {text!r}: column {condition_text(lnode)} holds numbers but "
                f"the list holds text {values!r}.")
        hit = np.isin(arr, np.asarray(values, dtype=arr.dtype if arr.dtype.kind != "O"
                                      else object) if values else np.array([], arr.dtype))
        if op == "in":
            return hit
        return ~hit & ~np.asarray(pd.isna(arr), dtype=bool) if arr.dtype.kind in "fO" \
            else ~hit
    if isinstance(left, pd.Categorical):
        left = pd.Series(left)
    if isinstance(right, pd.Categorical):
        right = pd.Series(right)
    for side, snode in ((left, lnode), (right, rnode)):
        other = right if side is left else left
        if isinstance(side, np.ndarray) and side.dtype.kind in "biuf" and isinstance(
                other, str):
            raise InvalidParameterError(
                f"Condition {text!r}: column {condition_text(snode)} holds numbers and "
                f"cannot be compared with the text {other!r}.")
    try:
        if isinstance(left, pd.Series) or isinstance(right, pd.Series):
            result = {"==": lambda a, b: a == b, "!=": lambda a, b: a != b,
                      "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
                      ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}[op](left, right)
            if op == "!=" and isinstance(result, pd.Series):
                miss = left.isna() if isinstance(left, pd.Series) else right.isna()
                result = result & ~miss
            return result
        return _NUMPY_CMP[op](left, right)
    except TypeError as exc:
        raise InvalidParameterError(
            f"Condition {text!r}: cannot compare {condition_text(lnode)} {op} "
            f"{condition_text(rnode)} ({exc}).") from None


def _mask(node, cols: Columns, memo: dict, text: str) -> np.ndarray:
    kind, n = node[0], cols.n
    if kind == "cmp":
        left = _value(node[2], cols, memo, text)
        right = _value(node[3], cols, memo, text)
        # a column of numbers stored as text, compared with numbers: compare numbers
        if _numbers_wanted(right, node[1]):
            left = _as_numbers(left, node[2], cols, memo)
        if node[1] not in ("in", "not in") and _numbers_wanted(left, node[1]):
            right = _as_numbers(right, node[3], cols, memo)
        return _as_mask(_compare(node[1], left, right, node[2], node[3], text), n, text)
    if kind in ("and", "or"):
        combine = np.logical_and if kind == "and" else np.logical_or
        out = None
        for child in node[1]:
            m = _as_mask(_value(child, cols, memo, text), n, text)
            out = m.copy() if out is None else combine(out, m, out=out)
        return out
    if kind == "not":
        return ~_as_mask(_value(node[1], cols, memo, text), n, text)
    if kind == "call":
        miss = cols.missing(node[2][1])
        return miss if node[1] == "isna" else ~miss
    if kind == "callable":
        try:
            result = node[1](cols.frame)
        except KeyError as exc:
            from ..exceptions import MissingColumnError

            raise MissingColumnError(
                f"The condition {text!r} reads column {exc} that the input lacks. "
                f"Columns found: {[str(c) for c in cols.frame.columns][:20]}.") from None
        return _as_mask(result, n, text)
    return _as_mask(_value(node, cols, memo, text), n, text)


def evaluate(node, cols: Columns, memo: dict | None = None) -> np.ndarray:
    """Boolean mask (one value per row) of a compiled condition.

    ``memo`` (a dict) shares intermediate results between conditions evaluated on the
    same columns, so ``T - recency`` used by several rules is computed once.
    """
    memo = {} if memo is None else memo
    text = condition_text(node)
    return _as_mask(_value(node, cols, memo, text), cols.n, text)


def check_missing(cols: Columns, columns, what: str, *, hint: str = "") -> None:
    """Raise :class:`InvalidDataError` if a column has missing or infinite values."""
    from .._validation import raise_bad_rows

    for name in columns:
        value = cols.get(name)
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            bad = ~np.isfinite(value)
            if bad.any():
                raise_bad_rows(cols.frame, bad, str(name),
                               f"are NaN or infinite ({what} cannot handle them)",
                               hint=hint)
        else:
            bad = cols.missing(name)
            if bad.any():
                raise_bad_rows(cols.frame, bad, str(name),
                               f"are missing (NaN or None; {what} cannot handle them)",
                               hint=hint)

