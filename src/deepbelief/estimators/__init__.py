"""scikit-learn estimators."""
from ._persist import load
from .anomaly import AnomalyDetector
from .autoencoder import DeepAutoencoder
from .dbn import DBN
from .rbm import RBM
from .sequence import ConditionalDBN, ConditionalRBM
from .supervised import DBNClassifier, DBNRegressor

__all__ = ["AnomalyDetector", "ConditionalDBN", "ConditionalRBM", "DBN", "DBNClassifier", "DBNRegressor",
           "DeepAutoencoder", "RBM", "load"]
