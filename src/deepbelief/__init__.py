"""deepbelief: restricted Boltzmann machines and deep belief networks on PyTorch."""
from . import errors
from ._version import __version__
from .errors import DeviceMemoryError, ModelFileError, OutOfRangeWarning, TrainingDivergedError
from .estimators import (AnomalyDetector, ConditionalDBN, ConditionalRBM, DBN, RBM, DBNClassifier, DBNRegressor,
                         DeepAutoencoder, load)

__all__ = ["AnomalyDetector", "ConditionalDBN", "ConditionalRBM", "DBN", "DBNClassifier", "DBNRegressor",
           "DeepAutoencoder", "DeviceMemoryError", "ModelFileError", "OutOfRangeWarning", "RBM", "TrainingDivergedError", "__version__",
           "errors", "load"]
