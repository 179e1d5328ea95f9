"""Input checks with messages that name the problem and the remedy."""
import numbers
import warnings

import numpy as np
import scipy.sparse
from sklearn.utils import check_array
from sklearn.utils.validation import validate_data

from .core.units import get_units
from .errors import OutOfRangeWarning


# Training values this far outside their units' range are rounding (a MinMaxScaler's 1 + 1e-7 in float32) and are
# clipped to it; further out they are an error.
ROUNDING = 1e-5


def check_X(estimator, X, *, reset, units="gaussian", training=None, sparse=False):
    """Validate a data matrix for ``estimator``: 2-D, finite, numeric, at least one row, the fitted feature count,
    and values that ``units`` ('bernoulli': [0, 1], 'relu': >= 0, 'gaussian': any) can take: training data
    (``training``, by default ``reset``) within ``ROUNDING`` of that range, rows to infer from anywhere (clipped
    to the range, with an OutOfRangeWarning; see :func:`inference_range`). With ``sparse``, a SciPy sparse matrix
    is accepted (and returned as CSR; its stored values are checked, and the zeros it leaves out).

    Returns a float32/float64 NumPy array or CSR matrix (a clipped copy when values were clipped).
    """
    owner = type(estimator).__name__
    try:
        X = validate_data(estimator, X, reset=reset, dtype=(np.float32, np.float64), ensure_min_samples=1,
                          accept_sparse=("csr", "csc", "coo") if sparse else False)
    except ValueError as exc:
        raise clearer(exc, owner) from None
    except TypeError as exc:  # scikit-learn's "sparse data was passed ... dense data is required"
        raise TypeError(f"{owner}: {exc}".replace("Use X.toarray()", "Use X.toarray() (this method takes dense "
                                                  "rows)")) from None
    X = _canonical(X, owner)
    if units is None:  # the caller checks the range (visible='auto' picks the units from the data first)
        return X
    return fit_range(X, units, owner) if (reset if training is None else training) else inference_range(X, units,
                                                                                                       owner)


FLOAT32_MAX = float(np.finfo(np.float32).max)


def check_float32(X, owner, what="X"):
    """ValueError when a value of ``X`` is beyond float32's range, in which the models compute (it would become
    infinite, and every result NaN)."""
    if X.size and X.dtype.itemsize > 4:
        big = max(-float(np.min(X)), float(np.max(X)))  # without np.abs's copy of X
        if big > FLOAT32_MAX:
            raise ValueError(f"{owner} computes in float32, but {what} has values as large as {big:.3g}, beyond its "
                             "range (3.4e38); rescale the data (e.g. sklearn.preprocessing.StandardScaler)")


def _canonical(X, owner):
    """Validated X with values in float32's range; a sparse matrix as CSR with its duplicate entries summed (in a
    copy: the caller's matrix is left as it is)."""
    if issparse(X):
        X = X.tocsr()
        if not X.has_canonical_format:
            X = X.copy()
            X.sum_duplicates()
    check_float32(values(X), owner)
    return X


def issparse(X):
    return scipy.sparse.issparse(X)


def values(X):
    """The values of X to check: a dense array itself, a sparse matrix's stored values (with a 0 when it leaves
    entries out, as almost every one does)."""
    if not issparse(X):
        return X
    return X.data if X.nnz == X.shape[0] * X.shape[1] else np.append(X.data, X.dtype.type(0))


def value_range(X):
    """(minimum, maximum) of X as floats, sparse or dense."""
    v = values(X)
    return float(np.min(v)), float(np.max(v))


def _clipped(X, low, high):
    """X clipped to [low, high], a copy (the stored values of a sparse matrix)."""
    if issparse(X):
        X = X.copy()
        np.clip(X.data, low, high, out=X.data)
        return X
    return np.clip(X, low, high).astype(X.dtype, copy=False)


SPARSE_CHUNK_VALUES = 2**22  # values per densified chunk of a sparse matrix (16 MB of float32)


INFERENCE_CHUNK = 8192  # rows per inference batch, to bound memory on large inputs


def chunk_rows(X, rows=INFERENCE_CHUNK):
    """Rows per chunk when going through X: ``rows``, fewer for a wide sparse matrix so that a densified chunk
    holds at most SPARSE_CHUNK_VALUES values."""
    return min(rows, max(1, SPARSE_CHUNK_VALUES // max(X.shape[1], 1))) if issparse(X) else rows


def dense_rows(X, start, stop):
    """Rows [start, stop) of X as a dense array (one chunk of a sparse matrix at a time)."""
    rows = X[start:stop]
    return rows.toarray() if issparse(rows) else rows


# visible='auto' takes data in [0, 1] for Bernoulli units only when at least this share of the values is 0 or 1
# (within ROUNDING): binary data, images, presence counts. Continuous features rescaled to [0, 1] (a MinMaxScaler's
# output has one 0 and one 1 per column) model and fine-tune better standardised, as Gaussian units (BENCHMARKS.md).
BERNOULLI_SHARE = 0.25


def resolve_visible(visible, lo, hi, share=1.0):
    """The visible unit type for ``visible``: 'auto' picks Bernoulli units for data whose values (minimum ``lo``,
    maximum ``hi``) lie within ROUNDING of [0, 1] and of which a ``share`` of at least BERNOULLI_SHARE is 0 or 1,
    else Gaussian units, which standardise the data; any other value is kept."""
    if visible != "auto":
        return visible
    in_range = lo >= -ROUNDING and hi <= 1.0 + ROUNDING
    return "bernoulli" if in_range and share >= BERNOULLI_SHARE else "gaussian"


def extreme_count(X):
    """How many values of X (dense or sparse; a sparse matrix's left-out entries are zeros) lie within ROUNDING
    of 0 or of 1."""
    stored = X.data if issparse(X) else X.ravel(order="K")  # a view unless X is not contiguous
    step = 2**20  # values per pass: bounded temporaries
    near = sum(int(np.count_nonzero((np.abs(piece) <= ROUNDING) | (np.abs(piece - 1) <= ROUNDING)))
               for piece in (stored[start:start + step] for start in range(0, len(stored), step)))
    return near + (X.shape[0] * X.shape[1] - X.nnz if issparse(X) else 0)


def unit_bounds(units):
    """(low, high): the range of the unit type ``units``' values."""
    unit = get_units(units)
    return unit.low, unit.high


def fit_range(X, units, owner, what="X"):
    """Training values for ``units``: clipped (a copy) when they leave its range by at most ``ROUNDING``, else the
    unit type's range error."""
    unit = get_units(units)
    lo, hi = value_range(X)
    if unit.low - ROUNDING <= lo and hi <= unit.high + ROUNDING and (lo < unit.low or hi > unit.high):
        X = _clipped(X, unit.low, unit.high)
    unit.check_values(values(X), owner, what)
    return X


def inference_range(X, units, owner, what="X"):
    """Rows a fitted model infers from: values outside the range of ``units`` are clipped to it (a copy) with one
    OutOfRangeWarning that counts them; the model itself is not touched."""
    unit = get_units(units)
    stored = X.data if issparse(X) else X
    outside = int(np.count_nonzero((stored < unit.low) | (stored > unit.high)))
    if not outside:
        return X
    size = X.shape[0] * X.shape[1]
    warnings.warn(f"{owner}: {outside} of the {size} values of {what} lie outside [{unit.low:g}, {unit.high:g}], "
                  f"the values of its {unit.name} visible units, and were clipped to that range (expected for rows "
                  "outside the training range, e.g. a MinMaxScaler's held-out fold; MinMaxScaler(clip=True) "
                  "clips them before)", OutOfRangeWarning, stacklevel=3)
    return _clipped(X, unit.low, unit.high)


def check_X_y(estimator, X, y, *, units, **kwargs):
    """``check_X`` for a supervised fit: X (dense, or a SciPy sparse matrix returned as CSR) and y validated
    together (``kwargs`` go to scikit-learn's ``validate_data``); ``units=None`` leaves the range check to the
    caller. Returns (X, y)."""
    owner = type(estimator).__name__
    try:
        X, y = validate_data(estimator, X, y, dtype=(np.float32, np.float64), ensure_min_samples=1,
                             accept_sparse=("csr", "csc", "coo"), **kwargs)
    except ValueError as exc:
        raise clearer(exc, owner) from None
    X = _canonical(X, owner)
    if units is not None:
        X = fit_range(X, units, owner)
    return X, y


def clearer(exc, owner, what="X"):
    """scikit-learn's conversion errors for strings and complex numbers, restated with the remedy."""
    message = str(exc)
    if "Complex data not supported" in message:
        return ValueError(f"Complex data not supported: {owner} got complex numbers in {what}, and its units are "
                          "real-valued. Give the real and imaginary parts (or magnitude and phase) as separate "
                          "features")
    if "could not convert" in message or "convert" in message and "float" in message:
        return ValueError(f"{owner} needs numeric {what}, but it holds non-numbers ({message}). Encode text or "
                          "categorical columns as numbers first (e.g. sklearn.preprocessing.OneHotEncoder)")
    return exc


def standardized(units):
    """Whether ``units`` (a unit type's name) have their data standardised."""
    return get_units(units).standardized


def check_range(X, units, owner, what="X"):
    """Raise ValueError unless the values of ``X`` suit ``units`` (a unit type's name; the unit object's rule)."""
    get_units(units).check_values(X, owner, what)


def check_count(value, name, low=0):
    """``value`` as an int >= ``low`` (a bool is not a count), or ValueError naming ``name``."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}; got {value!r}")
    return int(value)


def check_layer(layer, n, owner):
    """``layer`` (an int, negative counting from the top) as an index among ``n`` hidden layers, or ValueError."""
    if not (isinstance(layer, numbers.Integral) and not isinstance(layer, bool) and -n <= layer < n):
        raise ValueError(f"layer={layer!r} is not a hidden layer of this {owner}; use 0..{n - 1} (or -1 for the top)")
    return int(layer) % n


def layer_sizes(value):
    """``hidden_layer_sizes`` (one int or a sequence of ints >= 1) as a list of ints, or ValueError."""
    sizes = [value] if isinstance(value, numbers.Integral) else list(value)
    if not sizes or not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) and s >= 1 for s in sizes):
        raise ValueError(f"hidden_layer_sizes must be a non-empty sequence of integers >= 1; got {value!r}")
    return [int(s) for s in sizes]


def per_layer(value, n_layers, name):
    """Expand a scalar hyperparameter to one value per layer, or check a sequence has one per layer."""
    if isinstance(value, (str, numbers.Number)) or value is None:
        return [value] * n_layers
    values = list(value)
    if len(values) != n_layers:
        raise ValueError(f"{name} has {len(values)} values but there are {n_layers} layers; "
                         "give one value, or one per layer")
    return values


def check_masked_X(estimator, X, mask, *, units):
    """Validate ``X`` whose unknown entries are marked by a boolean ``mask`` of X's shape and/or by NaN.

    Returns (X with the unknown entries set to 0, validated as ``check_X``; the boolean array of unknown entries,
    or None when there is neither a mask nor a NaN).
    """
    X = check_array(X, dtype=(np.float32, np.float64), ensure_all_finite="allow-nan", input_name="X")
    unknown = np.isnan(X)
    if mask is not None:
        mask = np.asarray(mask)
        if mask.dtype != bool:
            raise ValueError(f"mask must be a boolean array (True = unknown entry); got dtype {mask.dtype}")
        if mask.shape != X.shape:
            raise ValueError(f"mask has shape {mask.shape} but X has shape {X.shape}; they must match")
        unknown |= mask
    elif not unknown.any():
        unknown = None
    if unknown is not None:
        X = np.where(unknown, 0.0, X).astype(X.dtype)
    return check_X(estimator, X, reset=False, units=units), unknown
