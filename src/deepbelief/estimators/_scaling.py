"""The standardisation of Gaussian visible units, shared by the estimators."""
import numpy as np

from .. import io
from ..core.units import get_units


class GaussianScalingMixin:
    """Per-feature standardisation for ``visible='gaussian'``: ``data_mean_`` and ``data_scale_`` (None for other
    unit types, whose data are used as they are)."""

    def _set_scaler(self, X):
        if get_units(self.visible).standardized:
            self._set_scaler_from_moments(X.mean(0), X.std(0), X.dtype)
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

    def _scaler_state(self):
        """The standardisation as JSON values for a model file."""
        return {name: None if value is None else io.encode_array(value)
                for name, value in (("data_mean", self.data_mean_), ("data_scale", self.data_scale_))}

    def _set_scaler_state(self, state, n_features=None):
        """Restore ``_scaler_state``; with ``n_features``, check that it matches the visible units (ValueError)."""
        self.data_mean_ = io.decode_array(state["data_mean"])
        self.data_scale_ = io.decode_array(state["data_scale"])
        if n_features is not None and ((self.data_mean_ is None) == get_units(self.visible).standardized or (
                self.data_mean_ is not None and self.data_mean_.shape != (n_features,))):
            raise ValueError("the saved standardisation does not match the visible units")
