"""scikit-learn estimators."""
from ._persist import load
from .dbn import DBN
from .rbm import RBM
from .supervised import DBNClassifier, DBNRegressor

__all__ = ["DBN", "DBNClassifier", "DBNRegressor", "RBM", "load"]
