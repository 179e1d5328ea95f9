"""deepbelief: restricted Boltzmann machines and deep belief networks on PyTorch."""
from . import errors
from .errors import DeviceMemoryError, ModelFileError, TrainingDivergedError
from .estimators import (AnomalyDetector, ConditionalDBN, ConditionalRBM, DBN, RBM, DBNClassifier, DBNRegressor,
                         DeepAutoencoder, load)

__version__ = "0.1.0"

__all__ = ["AnomalyDetector", "ConditionalDBN", "ConditionalRBM", "DBN", "DBNClassifier", "DBNRegressor",
           "DeepAutoencoder", "DeviceMemoryError", "ModelFileError", "RBM", "TrainingDivergedError", "__version__",
           "errors", "load"]
