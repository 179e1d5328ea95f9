"""deepbelief: restricted Boltzmann machines and deep belief networks on PyTorch."""
from . import errors
from .errors import ModelFileError, TrainingDivergedError
from .estimators import DBN, RBM, DBNClassifier, DBNRegressor, load

__version__ = "0.1.0"

__all__ = ["DBN", "DBNClassifier", "DBNRegressor", "ModelFileError", "RBM", "TrainingDivergedError", "__version__",
           "errors", "load"]
