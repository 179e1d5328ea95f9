"""Input checks with messages that name the problem and the remedy."""
import numbers

import numpy as np
from sklearn.utils import check_array
from sklearn.utils.validation import validate_data

from .core.units import get_units


def check_X(estimator, X, *, reset, units="gaussian"):
    """Validate a data matrix for ``estimator``: 2-D, finite, numeric, at least one row, the fitted feature count,
    and values that ``units`` ('bernoulli': [0, 1], 'relu': >= 0, 'gaussian': any) can take.

    Returns a float32/float64 NumPy array.
    """
    owner = type(estimator).__name__
    try:
        X = validate_data(estimator, X, reset=reset, dtype=(np.float32, np.float64), ensure_min_samples=1)
    except ValueError as exc:
        raise clearer(exc, owner) from None
    check_range(X, units, owner)
    return X


def check_X_y(estimator, X, y, *, units, **kwargs):
    """``check_X`` for a supervised fit: X and y validated together (``kwargs`` go to scikit-learn's
    ``validate_data``); ``units=None`` leaves the range check to the caller. Returns (X, y)."""
    owner = type(estimator).__name__
    try:
        X, y = validate_data(estimator, X, y, dtype=(np.float32, np.float64), ensure_min_samples=1, **kwargs)
    except ValueError as exc:
        raise clearer(exc, owner) from None
    if units is not None:
        check_range(X, units, owner)
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


def check_range(X, units, owner, what="X"):
    """Raise ValueError unless the values of ``X`` suit ``units`` (a unit type's name; the unit object's rule)."""
    get_units(units).check_values(X, owner, what)


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
