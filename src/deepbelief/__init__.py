"""deepbelief: restricted Boltzmann machines and deep belief networks on PyTorch.

The estimators load on first use (PEP 562), so that ``deepbelief --help`` and ``import deepbelief.cli`` do not
import torch and scikit-learn.
"""
import importlib

from ._version import __version__

_LAZY = {"AnomalyDetector": "estimators", "ConditionalDBN": "estimators", "ConditionalRBM": "estimators",
         "ConvDBN": "estimators", "ConvRBM": "estimators",
         "DBM": "estimators", "DBN": "estimators", "DBNClassifier": "estimators", "DBNRegressor": "estimators",
         "DeepAutoencoder": "estimators", "RBM": "estimators", "load": "estimators",
         "DeviceMemoryError": "errors", "ModelFileError": "errors", "OutOfRangeWarning": "errors",
         "TrainingDivergedError": "errors"}

__all__ = [*sorted(_LAZY), "__version__", "errors"]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    else:  # a submodule: deepbelief.core, deepbelief.evaluate, ...
        try:
            value = importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module 'deepbelief' has no attribute {name!r}") from None
    globals()[name] = value
    return value


def __dir__():
    return sorted({*globals(), *__all__})
