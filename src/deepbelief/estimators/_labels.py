"""Label models (``n_labels``): an RBM, or a DBN's top RBM, that models its input jointly with one-hot label units
and classifies by free energies (Hinton, Osindero & Teh 2006). The classes define ``predict_proba``."""
import numpy as np
import torch
from sklearn.utils.metaestimators import available_if


def has_labels(estimator):
    """predict / predict_proba exist only for models with label units."""
    return estimator.n_labels is not None


def probabilities(P):
    """Float32 posteriors -> float64 rows that sum to 1 to float64 rounding (scikit-learn's log_loss warns at
    float32's 1e-7)."""
    P = np.asarray(P, dtype=np.float64)
    return P / P.sum(1, keepdims=True)


def one_hot(labels, n_labels, like):
    """One-hot rows (n, n_labels) of the label indices ``labels`` (-1: an unlabelled row, all zeros), with the
    tensor ``like``'s dtype and device."""
    labels = torch.as_tensor(labels, dtype=torch.long)
    rows = torch.nn.functional.one_hot(labels.clamp_min(0), n_labels)
    return (rows * (labels >= 0)[:, None]).to(like)


def clamped_labels(label, classes, n_samples, like):
    """One-hot rows (n_samples, len(classes)) for ``label``, one class for every sample or one per sample, or
    ValueError naming the problem."""
    given = np.asarray(label, dtype=classes.dtype)
    if given.ndim > 1 or given.size not in (1, n_samples):
        raise ValueError(f"label holds {given.size} labels for {n_samples} samples; give one label for all of them "
                         "or one per sample")
    wanted = np.broadcast_to(given.reshape(-1) if given.ndim else given, (n_samples,))
    index = np.searchsorted(classes, wanted).clip(0, len(classes) - 1)
    unknown = classes[index] != wanted
    if unknown.any():
        raise ValueError(f"label {wanted[unknown][0].item()!r} is not one of the classes {classes.tolist()}")
    return one_hot(index, len(classes), like)


class LabelModelMixin:
    """``predict`` and ``score`` of a label model from its ``predict_proba``."""

    @available_if(has_labels)
    def predict(self, X):
        """The most probable label under ``predict_proba`` (label models: for an RBM or DBN the label with the
        lowest free energy F(x, y))."""
        return self.classes_[self.predict_proba(X).argmax(1)]

    @available_if(has_labels)
    def score(self, X, y):
        """Mean accuracy of ``predict`` on (X, y) (label models), so that ``cross_val_score`` and grid searches
        score them as classifiers."""
        return float(np.mean(self.predict(X) == np.asarray(y)))
