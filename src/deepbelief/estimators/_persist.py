"""Save/load of the estimators through :mod:`deepbelief.io` (safetensors + JSON, no pickle)."""
import inspect
import numbers
import os

import numpy as np
import torch

from .. import io
from .._runtime import resolve_device
from ..errors import ModelFileError


def _json_value(value):
    """A parameter value as JSON (tuples -> lists, devices and paths -> strings; a RandomState -> None)."""
    if isinstance(value, torch.device):
        return str(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, np.random.RandomState):
        return None
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "get_params") and hasattr(value, "fit"):  # a nested estimator: its class and parameters
        return {"estimator": type(value).__name__, "params": json_params(value)}
    return value


def nested_estimator(value, classes):
    """A nested estimator from its JSON (see ``_json_value``), one of ``classes``; other values pass through."""
    if not isinstance(value, dict):
        return value
    known = {cls.__name__: cls for cls in classes}
    if set(value) != {"estimator", "params"} or value["estimator"] not in known or not isinstance(value["params"], dict):
        raise ModelFileError(f"the saved nested estimator is not one of {sorted(known)}: {str(value)[:80]}")
    params = {k: tuple(v) if isinstance(v, list) else v for k, v in value["params"].items()}
    estimator = known[value["estimator"]](**params)
    estimator._validate_params()
    return estimator


# Parameters of the running fit, not of the model: saved as None (a callback is code, which model files never hold).
_NOT_SAVED = ("callbacks",)


def json_params(estimator):
    """The constructor parameters as JSON values."""
    return {name: None if name in _NOT_SAVED else _json_value(value)
            for name, value in estimator.get_params(deep=False).items()}


_NOT_CHECKED = ("verbose", "checkpoint_dir", "device", *_NOT_SAVED)


def checkpoint_params(estimator):
    """The hyperparameters a checkpoint must match: all but where and how verbosely the fit runs."""
    return {k: v for k, v in json_params(estimator).items() if k not in _NOT_CHECKED}


def checkpoint_defaults(estimator):
    """The constructor's default hyperparameters as JSON values: a checkpoint written before a parameter existed
    was written with its default."""
    signature = inspect.signature(type(estimator).__init__)
    return {name: _json_value(p.default) for name, p in signature.parameters.items()
            if p.default is not inspect.Parameter.empty and name not in _NOT_CHECKED}


def restore_params(cls, params, device, nested=()):
    """An unfitted ``cls`` from saved parameters; ``device`` (or the saved one if usable, else the CPU). Nested
    estimators (``pretraining=DBN(...)``) must be of the classes ``nested``."""
    if not isinstance(params, dict):
        raise ModelFileError("the saved hyperparameters are not an object")
    params = {k: tuple(v) if isinstance(v, list) else nested_estimator(v, nested) for k, v in params.items()}
    if device is None:
        try:
            resolve_device(params.get("device", "cpu"))
        except ValueError:
            params["device"] = "cpu"
    else:
        params["device"] = device
    estimator = cls(**params)
    estimator._validate_params()
    return estimator


def copy_tensor(target, tensors, name):
    """Copy ``tensors[name]`` into parameter ``target`` after checking its shape."""
    source = tensors[name]
    if tuple(source.shape) != tuple(target.shape):
        raise ModelFileError(f"tensor {name!r} has shape {tuple(source.shape)}, expected {tuple(target.shape)}")
    with torch.no_grad():
        target.copy_(source)


def check_shapes(tensors, shapes, prefix=""):
    """Before a model is built from its saved sizes: every ``tensors[prefix + name]`` has the shape the sizes imply
    (``shapes``: {name: shape}), so that a small file claiming huge layers is refused without allocating them."""
    for name, shape in shapes.items():
        source = tensors.get(prefix + name)
        if source is None:
            raise ModelFileError(f"tensor {prefix + name!r} is missing")
        if tuple(source.shape) != tuple(shape):
            raise ModelFileError(f"tensor {prefix + name!r} has shape {tuple(source.shape)}, but the saved sizes "
                                 f"need {tuple(shape)}")


def check_elements(claimed, tensors, prefixes):
    """Before a network is built from its saved sizes: the ``claimed`` number of parameter values equals what the
    tensors named ``prefix...`` hold (a small file claiming huge layers is refused without allocating them)."""
    held = sum(t.numel() for name, t in tensors.items() if name.startswith(tuple(prefixes)))
    if claimed != held:
        raise ModelFileError(f"the saved sizes need {claimed} parameters, but the file's {'/'.join(prefixes)} "
                             f"tensors hold {held}")


def check_int(value, name, low=1):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
        raise ModelFileError(f"the saved {name} must be an integer >= {low}; got {value!r}")
    return int(value)


class SaveMixin:
    """Saving, and the parameter checks every estimator shares beyond its constraint table."""

    def _validate_params(self):
        """scikit-learn's checks, and: a bool is not a count (``Interval(Integral)`` accepts True as 1)."""
        super()._validate_params()
        for name, constraints in self._parameter_constraints.items():
            value = getattr(self, name, None)
            counted = any(getattr(c, "type", None) is numbers.Integral for c in constraints)
            if counted and isinstance(value, bool) and "boolean" not in constraints:
                raise ValueError(f"The {name!r} parameter of {type(self).__name__} must be an integer, not a bool; "
                                 f"got {value!r}")

    def save(self, path):
        """Save the fitted estimator to ``path`` (one safetensors file with JSON metadata; no pickle).
        The write is atomic: an interrupted save leaves any previous file at ``path`` intact."""
        io.save(self, path)
