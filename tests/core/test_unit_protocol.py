"""Every unit type owns its rules, and a new one is one class and one register_units call."""
import itertools
import math

import numpy as np
import pytest
import torch

from deepbelief import RBM, OutOfRangeWarning
from deepbelief.core.units import HIDDEN_UNITS, STACKED_UNITS, UNITS, VISIBLE_UNITS, draw, register_units

PROTOCOL = ("name", "binary", "low", "high", "standardized", "default_learning_rate", "conditional_learning_rate",
            "visible", "hidden", "stacked", "check_values", "initial_bias", "mean", "sample", "energy",
            "log_marginal")


@pytest.mark.parametrize("name", sorted(UNITS))
def test_every_registered_unit_type_carries_the_whole_protocol(name):
    unit = UNITS[name]
    assert all(hasattr(unit, attribute) for attribute in PROTOCOL)
    assert unit.low < unit.high and unit.default_learning_rate > 0 and unit.conditional_learning_rate > 0
    inside = np.clip(np.array([[0.0, 0.5, 1.0]]), unit.low, unit.high)
    unit.check_values(inside, "RBM")  # accepted
    if math.isfinite(unit.high):
        with pytest.raises(ValueError, match="RBM .* X "):
            unit.check_values(inside + unit.high + 1, "RBM")


def test_the_registries_are_what_the_constraints_read():
    assert VISIBLE_UNITS == {"bernoulli", "gaussian", "relu"} and HIDDEN_UNITS == {"bernoulli", "gaussian", "relu"}
    assert STACKED_UNITS == {"bernoulli", "relu"}
    assert RBM._parameter_constraints["visible"][0].options is VISIBLE_UNITS


class SpinUnits:
    """Ising spins in {-1, +1}: a unit type the package does not ship, to show the protocol is complete."""

    name = "spin"
    binary = False
    low, high = -1.0, 1.0
    standardized = False
    default_learning_rate, conditional_learning_rate = 0.05, 0.005
    visible = hidden = stacked = True

    def check_values(self, X, owner, what="X"):
        if float(np.min(X)) < -1 or float(np.max(X)) > 1:
            raise ValueError(f"{owner} has spin units, which take values in [-1, 1], but {what} leaves them")

    def initial_bias(self, mean):
        return torch.atanh(mean.clamp(-0.999, 0.999))

    def mean(self, pre):
        return torch.tanh(pre)

    def sample(self, pre, mean, generator):
        return 2.0 * (draw(torch.rand, mean.shape, generator, mean) < (1 + mean) / 2).to(mean.dtype) - 1.0

    def energy(self, x, bias):
        return -(x * bias).sum(-1)

    def log_marginal(self, pre, bias):
        return torch.logaddexp(pre, -pre).sum(-1)  # log(e^pre + e^-pre) per unit


@pytest.fixture
def spin():
    register_units(SpinUnits())
    yield
    for registry in (VISIBLE_UNITS, HIDDEN_UNITS, STACKED_UNITS):
        registry.discard("spin")
    del UNITS["spin"]


def test_a_new_unit_type_is_one_class_and_one_registration(spin, digits):
    X = 2.0 * (digits[0][:300] > 0.5) - 1.0
    rbm = RBM(12, visible="spin", hidden="spin", n_iter=2, random_state=0).fit(X)
    assert rbm.get_params()["visible"] == "spin"
    assert rbm._trainer.config.learning_rate == 0.05  # the type's own default rate
    H = rbm.transform(X[:5])
    assert H.shape == (5, 12) and np.all(np.abs(H) <= 1)
    with pytest.raises(ValueError, match="spin units, which take values in \\[-1, 1\\]"):
        RBM(4, visible="spin", hidden="spin").fit(X * 3)  # training data out of range: an error
    with pytest.warns(OutOfRangeWarning, match="values of its spin visible units"):  # rows to infer from: clipped
        np.testing.assert_array_equal(rbm.transform(X[:5] * 3), rbm.transform(X[:5]))
    # The free energy, computed from the type's log-marginal, equals enumeration over the hidden states.
    small = RBM(3, visible="spin", hidden="spin", n_iter=1, random_state=0).fit(X[:, :4])
    module = small.module_
    v = torch.as_tensor(X[:6, :4], dtype=torch.float32)
    states = torch.tensor(list(itertools.product([-1.0, 1.0], repeat=3)))
    energies = torch.stack([module.energy(v, h.expand(len(v), -1)) for h in states], 1)
    torch.testing.assert_close(module.free_energy(v), -torch.logsumexp(-energies, 1))
