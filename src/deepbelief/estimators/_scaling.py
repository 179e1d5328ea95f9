"""The standardisation of Gaussian visible units, shared by the estimators."""
import sys

import numpy as np

from .. import io
from .._validation import check_X, extreme_count, fit_range, issparse, resolve_visible, value_range
from ..core.units import VISIBLE_UNITS, get_units


class AutoVisibleMixin:
    """``visible='auto'``: the unit type is chosen from the training data at ``fit`` (see
    :func:`deepbelief._validation.resolve_visible`) and is the fitted attribute ``visible_``; an explicit
    ``visible`` is its own ``visible_``."""

    # deepbelief.compat sets it: the older package took any data in [0, 1] as Bernoulli units, whatever its share
    # of 0s and 1s
    _auto_by_range = False

    @property
    def visible_(self):
        resolved = self.__dict__.get("_visible_resolved")
        return self.visible if resolved is None else resolved

    def _check_fit_X(self, X, sparse=False):
        """``check_X`` for a fit (``sparse``: a SciPy sparse matrix is accepted), then ``_fit_visible``."""
        return self._fit_visible(check_X(self, X, reset=True, units=None, sparse=sparse))

    def _fit_visible(self, X):
        """Validate the training data X (already checked by ``check_X`` with ``units=None``), choose ``visible_``
        from it and check (or round-clip) its range for those units; returns X."""
        lo, hi = value_range(X)
        # the share of 0s and 1s decides only for data in [0, 1] (compat: never); a pass over X only then
        by_share = self.visible == "auto" and not self._auto_by_range and resolve_visible("auto", lo, hi) == "bernoulli"
        share = extreme_count(X) / max(X.shape[0] * X.shape[1], 1) if by_share else 1.0
        self._visible_resolved = resolve_visible(self.visible, lo, hi, share)
        if self.visible == "auto" and self.verbose:
            print(f"{type(self).__name__}: visible='auto' chose {self._visible_resolved} visible units for data in "
                  f"[{lo:.4g}, {hi:.4g}]" + (f" with {share:.0%} of the values 0 or 1" if by_share else ""),
                  file=sys.stderr)
        return fit_range(X, self._visible_resolved, type(self).__name__)

    def _visible_state(self):
        return {"visible_": self.visible_}

    def _set_visible_state(self, state):
        resolved = state.get("visible_")  # files written before 'auto' existed hold an explicit visible
        if resolved is not None and resolved not in VISIBLE_UNITS:
            raise ValueError(f"the saved visible_ {resolved!r} is not a unit type")
        self._visible_resolved = resolved

    def _positive_only(self):
        return self.visible != "auto" and get_units(self.visible).low >= 0


class GaussianScalingMixin:
    """Per-feature standardisation for ``visible='gaussian'``: ``data_mean_`` and ``data_scale_`` (None for other
    unit types, whose data are used as they are)."""

    def _set_scaler(self, X):
        if get_units(self.visible_).standardized and issparse(X):  # the moments without a dense copy
            mean = np.asarray(X.mean(0, dtype=np.float64)).ravel()
            square = np.asarray(X.multiply(X).mean(0, dtype=np.float64)).ravel()
            self._set_scaler_from_moments(mean, np.sqrt(np.maximum(square - mean**2, 0.0)), X.dtype)
        elif get_units(self.visible_).standardized:
            with np.errstate(over="ignore", invalid="ignore"):
                mean, std = X.mean(0), X.std(0)
            if not (np.isfinite(mean).all() and np.isfinite(std).all()):  # float32 squares overflow near 1e19
                mean, std = X.mean(0, dtype=np.float64), X.std(0, dtype=np.float64)
            # a constant column's float32 std is its mean's rounding error (1.2e-7 for 0.7), not 0: it would be
            # divided by that and come out as amplified noise
            std = np.where(X.max(0) == X.min(0), 0.0, std)
            self._set_scaler_from_moments(mean, std, X.dtype)
        else:
            self.data_mean_ = self.data_scale_ = None

    def _set_scaler_from_moments(self, mean, std, dtype):
        """The standardisation from per-feature moments (None: no standardisation); constant features keep scale 1."""
        if mean is None:
            self.data_mean_ = self.data_scale_ = None
        else:
            self.data_mean_, self.data_scale_ = mean.astype(dtype), np.where(std > 1e-8, std, 1.0).astype(dtype)

    def _standardize(self, X):
        """Data units -> model units."""
        return X if self.data_mean_ is None else (X - self.data_mean_) / self.data_scale_

    def _data_log_jacobian(self):
        """log-density correction from model units to the data's units: -sum log data_scale_ for standardised
        (Gaussian) visible units, else 0."""
        return 0.0 if self.data_scale_ is None else -float(np.log(self.data_scale_).sum())

    def _scaler_state(self):
        """The standardisation as JSON values for a model file."""
        return {name: None if value is None else io.encode_array(value)
                for name, value in (("data_mean", self.data_mean_), ("data_scale", self.data_scale_))}

    def _set_scaler_state(self, state, n_features=None):
        """Restore ``_scaler_state``; with ``n_features``, check that it matches the visible units (ValueError)."""
        self.data_mean_ = io.decode_array(state["data_mean"])
        self.data_scale_ = io.decode_scale(state["data_scale"])
        if n_features is not None and ((self.data_mean_ is None) == get_units(self.visible_).standardized or (
                self.data_mean_ is not None and self.data_mean_.shape != (n_features,))):
            raise ValueError("the saved standardisation does not match the visible units")
