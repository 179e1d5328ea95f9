"""scikit-learn estimators."""
from ._persist import load
from .anomaly import AnomalyDetector
from .autoencoder import DeepAutoencoder
from .dbn import DBN
from .rbm import RBM
from .supervised import DBNClassifier, DBNRegressor

__all__ = ["AnomalyDetector", "DBN", "DBNClassifier", "DBNRegressor", "DeepAutoencoder", "RBM", "load"]
