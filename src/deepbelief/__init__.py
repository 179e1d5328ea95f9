"""deepbelief: restricted Boltzmann machines and deep belief networks on PyTorch."""
from .errors import TrainingDivergedError
from .estimators import DBN, RBM, DBNClassifier, DBNRegressor

__version__ = "0.1.0"

__all__ = ["DBN", "DBNClassifier", "DBNRegressor", "RBM", "TrainingDivergedError", "__version__"]
