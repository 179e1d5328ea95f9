"""scikit-learn estimators."""
from .dbn import DBN
from .rbm import RBM

__all__ = ["DBN", "RBM"]
