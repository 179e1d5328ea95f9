"""AnomalyDetector: an RBM or DBN as a scikit-learn outlier detector."""
from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin, _fit_context, clone
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..callbacks import reports
from ..errors import ModelFileError
from ._persist import SaveMixin, json_params
from .dbn import DBN
from ._scoring import SCORES
from .rbm import RBM


class AnomalyDetector(SaveMixin, OutlierMixin, BaseEstimator):
    """Outlier detection with a generative model of the normal data, like scikit-learn's outlier detectors.

    Parameters
    ----------
    model : RBM, DBN or None, default=None
        The unfitted model (cloned at ``fit``); None means ``RBM()``.
    anomaly_score : {'free_energy', 'reconstruction', 'pseudo_likelihood'}, default='free_energy'
        The model's ``score_samples`` score: -F(v) of the (first) RBM, minus the reconstruction error through the
        stack, or the pseudo-log-likelihood.
    contamination : float in (0, 0.5], default=0.1
        Expected share of outliers in the training data: ``offset_`` is that quantile of the training scores.
    random_state : int, RandomState or None, default=None
        When not None, sets the model's ``random_state``.
    callbacks : list of :class:`deepbelief.callbacks.Callback` or callables, default=None
        Each is called with a :class:`deepbelief.callbacks.Epoch` after every epoch of every stage of the fit
        (pretraining layers, fine-tuning, up-down, joint training); one may end the stage. Not saved with the model.

    Attributes
    ----------
    model_ : the fitted model
    offset_ : float
        ``decision_function = score_samples - offset_``; negative values are outliers.
    n_features_in_ : int

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from deepbelief import RBM, AnomalyDetector
    >>> X = load_digits().data / 16
    >>> detector = AnomalyDetector(RBM(n_components=32, n_iter=2, random_state=0)).fit(X)
    >>> detector.predict(X[:3]).shape
    (3,)
    """

    _parameter_constraints = {
        "model": [None, HasMethods(["fit", "score_samples"])],
        "anomaly_score": [StrOptions(set(SCORES))],
        "contamination": [Interval(Real, 0, 0.5, closed="right")],
        "random_state": ["random_state"],
    }

    def __init__(self, model=None, *, anomaly_score="free_energy", contamination=0.1, random_state=None,
                 callbacks=None):
        self.model = model
        self.anomaly_score = anomaly_score
        self.contamination = contamination
        self.random_state = random_state
        self.callbacks = callbacks

    @reports
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Fit the model on X (normal data, or data with about ``contamination`` outliers) and set ``offset_``."""
        self.model_ = clone(self.model) if self.model is not None else RBM()
        if self.random_state is not None and "random_state" in self.model_.get_params():
            self.model_.set_params(random_state=self.random_state)
        self.model_.fit(X)
        self.n_features_in_ = self.model_.n_features_in_
        scores = self._scores(X)
        self.offset_ = float(np.percentile(scores, 100 * self.contamination))
        return self

    def score_samples(self, X):
        """Normality score of each row (higher = more normal), float64 of shape (n_samples,)."""
        check_is_fitted(self, "model_")
        return self._scores(X)

    def _scores(self, X):
        """The model's normality scores: a deepbelief model's ``anomaly_score``, another outlier detector's own
        ``score_samples`` (any scikit-learn one, e.g. IsolationForest: higher is more normal there too)."""
        if isinstance(self.model_, (RBM, DBN)):
            return self.model_.score_samples(X, score=self.anomaly_score).astype(np.float64)
        if self.anomaly_score != "free_energy":
            raise ValueError(f"anomaly_score={self.anomaly_score!r} is a score of deepbelief's RBM and DBN; a "
                             f"{type(self.model_).__name__} scores with its own score_samples: leave anomaly_score "
                             "at its default")
        return np.asarray(self.model_.score_samples(X), dtype=np.float64)

    def decision_function(self, X):
        """``score_samples - offset_``: negative for outliers."""
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """+1 for inliers, -1 for outliers."""
        return np.where(self.decision_function(X) < 0, -1, 1)

    # persistence: the fitted model's file, its class, and this detector's settings ------------
    def _get_state(self):
        check_is_fitted(self, "model_")
        if not isinstance(self.model_, (RBM, DBN)):
            raise TypeError(f"only an AnomalyDetector of a deepbelief RBM or DBN can be saved (model files hold no "
                            f"pickled objects); this one holds a {type(self.model_).__name__}")
        tensors, model_state = self.model_._get_state(prefix="model.")
        params = {k: v for k, v in json_params(self).items() if k != "model"}
        return tensors, {"params": params, "model_class": type(self.model_).__name__, "model": model_state,
                         "offset": self.offset_}

    @classmethod
    def _from_state(cls, state, tensors, device=None):
        classes = {"RBM": RBM, "DBN": DBN}
        if state["model_class"] not in classes:
            raise ValueError(f"unknown model class {state['model_class']!r}")
        model = classes[state["model_class"]]._from_state(state["model"], tensors, device, prefix="model.")
        detector = cls(model=clone(model), **state["params"])
        detector.model_, detector.offset_ = model, float(state["offset"])
        if not np.isfinite(detector.offset_):
            raise ModelFileError(f"the saved offset {detector.offset_} is not a finite number")
        detector.n_features_in_ = model.n_features_in_
        return detector

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        model = self.model if self.model is not None else RBM()
        tags.input_tags.positive_only = model.__sklearn_tags__().input_tags.positive_only
        tags.input_tags.sparse = model.__sklearn_tags__().input_tags.sparse
        return tags
