"""Label models (``n_labels``): an RBM, or a DBN's top RBM, that models its input jointly with one-hot label units
and classifies by free energies (Hinton, Osindero & Teh 2006). The classes define ``predict_proba``."""
import numpy as np
import torch
from sklearn.utils.metaestimators import available_if


def has_labels(estimator):
    """predict / predict_proba exist only for models with label units."""
    return estimator.n_labels is not None


def one_hot(labels, n_labels, like):
    """One-hot rows (n, n_labels) of the label indices ``labels`` (-1: an unlabelled row, all zeros), with the
    tensor ``like``'s dtype and device."""
    labels = torch.as_tensor(labels, dtype=torch.long)
    rows = torch.nn.functional.one_hot(labels.clamp_min(0), n_labels)
    return (rows * (labels >= 0)[:, None]).to(like)


class LabelModelMixin:
    """``predict`` and ``score`` of a label model from its ``predict_proba``."""

    @available_if(has_labels)
    def predict(self, X):
        """The label with the lowest free energy F(x, y) (label models)."""
        return self.classes_[self.predict_proba(X).argmax(1)]

    @available_if(has_labels)
    def score(self, X, y):
        """Mean accuracy of ``predict`` on (X, y) (label models), so that ``cross_val_score`` and grid searches
        score them as classifiers."""
        return float(np.mean(self.predict(X) == np.asarray(y)))
