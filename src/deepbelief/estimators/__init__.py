"""scikit-learn estimators."""
from .. import io
from ..errors import ModelFileError
from .anomaly import AnomalyDetector
from .autoencoder import DeepAutoencoder
from .conv import ConvDBN, ConvRBM
from .dbm import DBM
from .dbn import DBN
from .rbm import RBM
from .sequence import ConditionalRBM
from .sequence_dbn import ConditionalDBN
from .classifier import DBNClassifier
from .regressor import DBNRegressor

__all__ = ["AnomalyDetector", "ConditionalDBN", "ConditionalRBM", "ConvDBN", "ConvRBM", "DBM", "DBN", "DBNClassifier", "DBNRegressor",
           "DeepAutoencoder", "RBM", "load"]

# The classes a model file may name: the one table that load() and the command line read.
MODEL_CLASSES = {cls.__name__: cls for cls in (RBM, DBN, DBM, DBNClassifier, DBNRegressor, DeepAutoencoder,
                                               AnomalyDetector, ConditionalRBM, ConditionalDBN, ConvRBM,
                                               ConvDBN)}


def load(path, device=None):
    """Load an estimator saved with ``save``.

    Parameters
    ----------
    path : str or Path
    device : str or None
        Where to put the model; None keeps its saved device where available, else the CPU.

    Raises
    ------
    deepbelief.errors.ModelFileError for a missing, truncated, corrupted or foreign file, or one written in a
    newer format version.
    """
    name, state, tensors = io.read(path)
    if name in ("SupervisedDBNClassification", "SupervisedDBNRegression", "UnsupervisedDBN"):
        raise ModelFileError(f"{str(path)!r} holds a deepbelief.compat.{name}; load it with {name}.load(path)")
    if name not in MODEL_CLASSES:
        raise ModelFileError(f"{str(path)!r} holds an unknown model class {name!r}; known: {sorted(MODEL_CLASSES)}")
    try:
        estimator = MODEL_CLASSES[name]._from_state(state, tensors, device)
        expected = set(estimator._get_state()[0])
        if set(tensors) != expected:
            unexpected = sorted(set(tensors) - expected) or sorted(expected - set(tensors))
            raise ModelFileError(f"its tensors do not match the model (e.g. {unexpected[0]!r})")
        return estimator
    except ModelFileError as exc:
        raise ModelFileError(f"{str(path)!r} holds an inconsistent {name}: {exc}") from None
    except (KeyError, TypeError, ValueError, IndexError, RuntimeError, AttributeError) as exc:
        raise ModelFileError(f"{str(path)!r} holds an inconsistent {name}: {type(exc).__name__}: {exc}") from None
