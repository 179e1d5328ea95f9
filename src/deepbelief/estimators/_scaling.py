"""The standardisation of Gaussian visible units, shared by the estimators."""
import numpy as np


class GaussianScalingMixin:
    """Per-feature standardisation for ``visible='gaussian'``: ``data_mean_`` and ``data_scale_`` (None for other
    unit types, whose data are used as they are)."""

    def _set_scaler(self, X):
        if self.visible == "gaussian":
            self.data_mean_ = X.mean(0)
            scale = X.std(0)
            self.data_scale_ = np.where(scale > 1e-8, scale, 1.0).astype(X.dtype)
        else:
            self.data_mean_ = self.data_scale_ = None

    def _standardize(self, X):
        """Data units -> model units."""
        return X if self.data_mean_ is None else (X - self.data_mean_) / self.data_scale_
