"""DBNRegressor: greedy pretraining, then backpropagation on the squared error of standardised targets."""
import numpy as np
import torch
from sklearn.base import RegressorMixin, _fit_context

from .. import io
from .._runtime import memory_errors
from .._validation import check_X_y
from ..callbacks import reports
from ..data.streaming import is_streamed
from ._stream import streamed_X_y
from .supervised import SupervisedDBN


class DBNRegressor(RegressorMixin, SupervisedDBN):
    """Deep belief network regressor: greedy RBM pretraining, then fine-tuning with a linear output layer and
    squared error. Targets (one or several columns) are standardised internally and mapped back on ``predict``.

    Parameters are those of :class:`DBNClassifier`, with other defaults: ``activation='relu'`` (so ``pretrain=True``
    is the rectified rule on data in [0, 1] and ReLU-RBM pretraining on Gaussian inputs), ``optimizer='adam'``,
    ``learning_rate=1e-3``, ``lr_schedule='constant'``, ``momentum=0.9`` (SGD only), no dropout, ``batch_size=32``,
    ``early_stopping=True`` (``validation_fraction=0.1`` of the rows held out, the best epoch's weights kept), which
    monitors the R^2 of the held-out rows. These defaults (chosen on ``benchmarks/defaults.py`` and
    ``benchmarks/regressor_settings.py``, BENCHMARKS.md) replace those before 2026-12-03: ``activation='sigmoid'``,
    ``early_stopping=False``, ``revive_dead_units=False``.

    Attributes
    ----------
    y_mean_, y_scale_ : ndarray of shape (n_targets,)
        The target standardisation.
    dbn_, network_, loss_curve_, validation_scores_, best_validation_score_, n_iter_, revived_units_, n_features_in_
        As in :class:`DBNClassifier`.

    Examples
    --------
    >>> import numpy as np
    >>> from deepbelief import DBNRegressor
    >>> X = np.random.default_rng(0).random((200, 5))
    >>> reg = DBNRegressor(hidden_layer_sizes=(16,), n_iter=2, max_iter=20, random_state=0).fit(X, X.sum(1))
    >>> reg.predict(X[:2]).shape
    (2,)
    """

    @reports
    @memory_errors
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, resume=False):
        """Pretrain on X and fine-tune on the targets y.

        Parameters
        ----------
        X : array-like or SciPy sparse matrix of shape (n_samples, n_features), or a .npy path / memmap, as in
            DBNClassifier.fit
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        resume : bool, default=False
            Continue from the checkpoints in ``checkpoint_dir``.

        Returns
        -------
        self
        """
        _check_numeric_targets(y)
        if is_streamed(X):
            X, y = streamed_X_y(self, X, y, dtype=np.float64)  # their pass in _fit_network picks visible_
        else:
            X, y = check_X_y(self, X, y, units=None, multi_output=True, y_numeric=True)
            X = self._fit_visible(X)
        self._single_target = y.ndim == 1
        Y = y.reshape(len(y), -1).astype(np.float64)
        self.y_mean_ = Y.mean(0)
        scale = Y.std(0)
        self.y_scale_ = np.where(scale > 1e-12, scale, 1.0)
        Y = ((Y - self.y_mean_) / self.y_scale_).astype(np.float32)

        def score_fn(out, t):  # mean R^2 over the targets, on standardised values (R^2 is scale-free)
            ss_res = ((out - t) ** 2).sum(0)
            ss_tot = ((t - t.mean(0)) ** 2).sum(0).clamp_min(1e-12)
            return (1 - ss_res / ss_tot).mean().item()

        self._fit_network(X, X, Y, Y.shape[1], torch.nn.functional.mse_loss, score_fn, resume=resume)
        return self

    def _target_state(self):
        return {"y_mean": io.encode_array(self.y_mean_), "y_scale": io.encode_array(self.y_scale_),
                "single_target": self._single_target}

    def _set_target_state(self, state):
        self.y_mean_ = io.decode_array(state["y_mean"]).astype(np.float64)
        self.y_scale_ = io.decode_scale(state["y_scale"]).astype(np.float64)
        self._single_target = bool(state["single_target"])
        if self.y_mean_.ndim != 1 or self.y_mean_.shape != self.y_scale_.shape or not len(self.y_mean_):
            raise ValueError("the saved target standardisation is malformed")

    def _n_outputs(self):
        return len(self.y_mean_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def predict(self, X):
        """Predicted targets, shape (n_samples,) or (n_samples, n_targets) as y was given to ``fit``."""
        out = self._outputs(self._check_predict_X(X)) * self.y_scale_ + self.y_mean_
        return out[:, 0] if self._single_target else out


def _check_numeric_targets(y):
    """ValueError naming the remedy when the targets are text that is not numbers ('a', 'cat')."""
    values = np.asarray(y) if y is not None else None
    if values is None or values.dtype.kind not in "USO":
        return
    try:
        values.astype(np.float64)
    except (TypeError, ValueError):
        example = next((v for v in values.ravel() if not _is_number(v)), values.ravel()[0])
        raise ValueError(f"DBNRegressor needs numeric targets, but y holds text such as {str(example)!r}; for class "
                         "labels use DBNClassifier") from None


def _is_number(value):
    try:
        float(value)
        return True
    except (TypeError, ValueError):
        return False
