"""The names and constructor parameters of the widely used older ``dbn`` package, on deepbelief's estimators.

Tutorial code written for that package runs after changing its import line, e.g.
``from dbn.tensorflow import SupervisedDBNClassification`` ->
``from deepbelief.compat import SupervisedDBNClassification``.

Meaning of the parameters, as in that package:

- ``hidden_layers_structure``: hidden layer sizes; ``activation_function``: 'sigmoid' or 'relu', the hidden units
  of pretraining and fine-tuning;
- ``learning_rate_rbm``, ``n_epochs_rbm``, ``contrastive_divergence_iter``: plain CD-k pretraining (no momentum,
  no weight decay). With 'sigmoid' these are Bernoulli RBMs. With 'relu' it is that package's rectified "RBM",
  which is not an energy model but is what its tutorials' accuracies were reached with: hidden states drawn as
  Bernoulli(min(1, relu(pre))), reconstructions relu(W^T h + a) without sampling, statistics from relu(pre), and
  its initialisation (weights from a normal truncated to [-0.2, 0.2], biases 0.1, all divided by sqrt(n_visible));
  see :func:`deepbelief.training.rectified_cd`;
- ``learning_rate``, ``n_iter_backprop``: plain SGD fine-tuning (no momentum);
- ``l2_regularization``: weight decay of ``l2_regularization / n_samples`` per update on the weights;
- ``dropout_p``: dropout on the inputs and on every hidden layer; ``optimization_algorithm``: only 'sgd'.

Added here: ``random_state`` (the older package used NumPy's global generator) and ``device``.
``save(path)`` / ``Class.load(path)`` use deepbelief's safe model format (safetensors + JSON) instead of pickle.
"""
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from . import io
from ._validation import check_X, check_count, issparse
from .errors import ModelFileError
from .estimators import DBN, DBNClassifier, DBNRegressor
from .estimators._persist import json_params
from .estimators._rectified import rectified_dbn

_PLAIN_CD = {"momentum": 0.0, "final_momentum": 0.0, "weight_decay": 0.0}


class _PlainCDClassifier(DBNClassifier):
    _pretrain_params = _PLAIN_CD
    _auto_by_range = True  # the older package's Bernoulli units for any data in [0, 1]


class _PlainCDRegressor(DBNRegressor):
    _pretrain_params = _PLAIN_CD
    _auto_by_range = True


# Messages of the inner estimators (theirs and scikit-learn's checks, verbose lines) name the class the user made
_PlainCDClassifier.__name__ = _PlainCDClassifier.__qualname__ = "SupervisedDBNClassification"
_PlainCDRegressor.__name__ = _PlainCDRegressor.__qualname__ = "SupervisedDBNRegression"


def _check_algorithm(name):
    if name != "sgd":
        raise ValueError(f"optimization_algorithm={name!r} is not supported; the only option is 'sgd'")


def _rows(X, fitted):
    """Rows to predict from: a single row becomes a 1-row matrix (as the older package allowed); sparse stays; a
    DataFrame with the columns ``fitted`` was trained on, in any order, is put in that order (matched by name),
    and one with other columns goes to scikit-learn's check, which names them."""
    if hasattr(X, "columns"):
        names = getattr(fitted, "feature_names_in_", None)
        if names is not None and set(X.columns) == set(names):
            return X[list(names)]
        return X
    return X if issparse(X) else np.atleast_2d(X)


def _check_settings(model, X):
    """The older package's parameters and X, checked under their own names (they reach the estimators renamed)."""
    name = type(model).__name__
    if X is None:
        raise ValueError(f"{name}.fit needs X, the training rows (an array or sparse matrix); got None")
    if model.activation_function not in ("sigmoid", "relu"):
        raise ValueError(f"{name}(activation_function={model.activation_function!r}): the hidden units are 'sigmoid' "
                         "or 'relu' (the older package's choices)")
    for setting in ("n_epochs_rbm", "n_iter_backprop", "contrastive_divergence_iter", "batch_size"):
        value = getattr(model, setting, 1)
        check_count(value, f"{name}({setting}={value!r})", low=0 if setting in ("n_epochs_rbm", "n_iter_backprop")
                    else 1)


class _Persisted:
    """save/load of a compat estimator: the wrapped deepbelief estimator's file plus the compat parameters."""

    _inner = "estimator_"

    def save(self, path):
        """Save the fitted model to ``path`` (safetensors + JSON; no pickle; atomic)."""
        io.save(self, path)

    def _get_state(self):
        check_is_fitted(self, self._inner)
        tensors, state = getattr(self, self._inner)._get_state()
        return tensors, {"compat_params": json_params(self), "inner": state}

    @classmethod
    def load(cls, path, device=None):
        """Load a model saved with ``save``; raises deepbelief.errors.ModelFileError for a bad file."""
        name, state, tensors = io.read(path)
        if name != cls.__name__:
            raise ModelFileError(f"{str(path)!r} holds a {name}, not a {cls.__name__}")
        try:
            obj = cls(**state["compat_params"])  # the older package's layer lists stay lists
            setattr(obj, cls._inner, cls._inner_class._from_state(state["inner"], tensors, device))
        except ModelFileError:
            raise
        except (KeyError, TypeError, ValueError, IndexError, RuntimeError, AttributeError) as exc:
            raise ModelFileError(f"{str(path)!r} holds an inconsistent {name}: {type(exc).__name__}: {exc}") from None
        return obj


class _Supervised(_Persisted, BaseEstimator):
    _estimator_class = None

    def __init__(self, hidden_layers_structure=(100, 100), activation_function="sigmoid",
                 optimization_algorithm="sgd", learning_rate=1e-3, learning_rate_rbm=1e-3, n_iter_backprop=100,
                 l2_regularization=1.0, n_epochs_rbm=10, contrastive_divergence_iter=1, batch_size=32, dropout_p=0,
                 verbose=True, random_state=None, device="cpu"):
        self.hidden_layers_structure = hidden_layers_structure
        self.activation_function = activation_function
        self.optimization_algorithm = optimization_algorithm
        self.learning_rate = learning_rate
        self.learning_rate_rbm = learning_rate_rbm
        self.n_iter_backprop = n_iter_backprop
        self.l2_regularization = l2_regularization
        self.n_epochs_rbm = n_epochs_rbm
        self.contrastive_divergence_iter = contrastive_divergence_iter
        self.batch_size = batch_size
        self.dropout_p = dropout_p
        self.verbose = verbose
        self.random_state = random_state
        self.device = device

    def fit(self, X, y, pre_train=True):
        """Pretrain (unless ``pre_train=False``) and fine-tune; see the module docstring for the parameters."""
        _check_algorithm(self.optimization_algorithm)
        _check_settings(self, X)
        n_samples = X.shape[0] if hasattr(X, "shape") else len(X)
        self.estimator_ = self._estimator_class(
            hidden_layer_sizes=tuple(self.hidden_layers_structure), pretrain=pre_train, n_iter=self.n_epochs_rbm,
            learning_rate_rbm=self.learning_rate_rbm, k=self.contrastive_divergence_iter,
            activation=self.activation_function, optimizer="sgd", learning_rate=self.learning_rate, momentum=0.0,
            weight_decay=self.l2_regularization / max(n_samples, 1), dropout=self.dropout_p,
            input_dropout=self.dropout_p, max_iter=self.n_iter_backprop, batch_size=self.batch_size,
            early_stopping=False, revive_dead_units=False, device=self.device, random_state=self.random_state,
            verbose=self.verbose)
        self.estimator_.fit(X, y)
        return self

    def predict(self, X):
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict(_rows(X, self.estimator_))

    def transform(self, X):
        """Top hidden layer activations of the pretrained DBN."""
        check_is_fitted(self, "estimator_")
        if self.estimator_.dbn_ is None:
            raise ValueError("transform needs the pretrained DBN, but the model was fitted with pre_train=False")
        return self.estimator_.dbn_.transform(_rows(X, self.estimator_))


class SupervisedDBNClassification(ClassifierMixin, _Supervised):
    """The older package's DBN classifier (softmax output) on :class:`deepbelief.DBNClassifier`."""

    _estimator_class = _inner_class = _PlainCDClassifier

    def predict_proba(self, X):
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict_proba(_rows(X, self.estimator_))

    def predict_proba_dict(self, X):
        """One dict {label: probability} per row."""
        proba = self.predict_proba(X)
        return [dict(zip(self.estimator_.classes_, row)) for row in proba]

    @property
    def classes_(self):
        check_is_fitted(self, "estimator_")
        return self.estimator_.classes_


class SupervisedDBNRegression(RegressorMixin, _Supervised):
    """The older package's DBN regressor (linear output, squared error) on :class:`deepbelief.DBNRegressor`."""

    _estimator_class = _inner_class = _PlainCDRegressor


class UnsupervisedDBN(_Persisted, TransformerMixin, BaseEstimator):
    """The older package's unsupervised DBN on :class:`deepbelief.DBN` (plain CD-k pretraining)."""

    _inner = "dbn_"
    _inner_class = DBN

    def __init__(self, hidden_layers_structure=(100, 100), activation_function="sigmoid",
                 optimization_algorithm="sgd", learning_rate_rbm=1e-3, n_epochs_rbm=10,
                 contrastive_divergence_iter=1, batch_size=32, verbose=True, random_state=None, device="cpu"):
        self.hidden_layers_structure = hidden_layers_structure
        self.activation_function = activation_function
        self.optimization_algorithm = optimization_algorithm
        self.learning_rate_rbm = learning_rate_rbm
        self.n_epochs_rbm = n_epochs_rbm
        self.contrastive_divergence_iter = contrastive_divergence_iter
        self.batch_size = batch_size
        self.verbose = verbose
        self.random_state = random_state
        self.device = device

    def fit(self, X, y=None):
        _check_algorithm(self.optimization_algorithm)
        _check_settings(self, X)
        dbn = DBN(hidden_layer_sizes=tuple(self.hidden_layers_structure), learning_rate=self.learning_rate_rbm,
                  n_iter=self.n_epochs_rbm, k=self.contrastive_divergence_iter, batch_size=self.batch_size,
                  device=self.device, random_state=self.random_state, verbose=self.verbose, **_PLAIN_CD)
        if self.activation_function == "relu":
            self.dbn_ = rectified_dbn(check_X(self, X, reset=True, units="bernoulli", sparse=True), dbn)
        else:
            dbn._auto_by_range = True  # the older package's Bernoulli units for any data in [0, 1]
            self.dbn_ = dbn.fit(X)
        return self

    def transform(self, X):
        check_is_fitted(self, "dbn_")
        return self.dbn_.transform(_rows(X, self.dbn_))
