"""Unit types of an RBM layer.

Each unit type is described by its energy term and by the log of its partition
over its own states, which is all that the conditionals and the free energy need.
With ``pre = bias + input`` the natural parameter of a unit given the other layer:

- Bernoulli units, states {0, 1}: energy ``-bias.x``, mean ``sigmoid(pre)``.
- Gaussian units with unit variance: energy ``0.5 ||x - bias||^2``, mean ``pre``.
- Rectified linear units (Nair & Hinton 2010): the stepped-sigmoid model, many copies of a binary unit with
  biases ``bias - 0.5, bias - 1.5, ...``, whose sum is sampled as ``max(0, pre + N(0, sigmoid(pre)))``, mean
  ``max(0, pre)``.

``sample(pre, mean, generator)`` takes both the pre-activation and the mean (each unit type needs one of them).
"""
import math

import torch
import torch.nn.functional as F

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


class BernoulliUnits:
    """Binary stochastic units with values in {0, 1}."""

    name = "bernoulli"
    binary = True

    def mean(self, pre):
        """E[x | pre] = sigmoid(pre)."""
        return torch.sigmoid(pre)

    def sample(self, pre, mean, generator):
        """x ~ Bernoulli(mean), drawn with ``generator``."""
        noise = torch.rand(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        return (noise < mean).to(mean.dtype)

    def energy(self, x, bias):
        """Energy term -bias.x, one value per row."""
        return -(x @ bias)

    def log_marginal(self, pre, bias):
        """log sum_x exp(pre.x) = sum softplus(pre): the layer summed out, one value per row."""
        return F.softplus(pre).sum(-1)


class GaussianUnits:
    """Real-valued units with unit variance (the data are expected standardised)."""

    name = "gaussian"
    binary = False

    def mean(self, pre):
        """E[x | pre] = pre."""
        return pre

    def sample(self, pre, mean, generator):
        """x ~ N(mean, 1), drawn with ``generator``."""
        noise = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        return mean + noise

    def energy(self, x, bias):
        """Energy term 0.5 ||x - bias||^2, one value per row."""
        return 0.5 * ((x - bias) ** 2).sum(-1)

    def log_marginal(self, pre, bias):
        """log of the integral over x of exp(-0.5 (x - bias)^2 + x (pre - bias)), one value per row.

        Completing the square gives 0.5 (pre^2 - bias^2) + 0.5 log(2 pi) per unit.
        """
        return (0.5 * (pre**2 - bias**2) + _HALF_LOG_2PI).sum(-1)


class ReLUUnits:
    """Noisy rectified linear units: non-negative real values (Nair & Hinton 2010)."""

    name = "relu"
    binary = False
    n_steps = 64  # terms of the stepped-sigmoid sum kept in the free energy: exact for pre below about 60

    def mean(self, pre):
        """E[x | pre] ~= max(0, pre), the usual approximation of the stepped-sigmoid mean."""
        return torch.relu(pre)

    def sample(self, pre, mean, generator):
        """x = max(0, pre + N(0, sigmoid(pre))), drawn with ``generator``."""
        noise = torch.randn(pre.shape, generator=generator, device=pre.device, dtype=pre.dtype)
        return torch.relu(pre + noise * torch.sigmoid(pre).sqrt())

    def energy(self, x, bias):
        """Energy term -bias.x, one value per row (the copies' offsets live in the partition)."""
        return -(x @ bias)

    def log_marginal(self, pre, bias):
        """sum_{i=1..n_steps} softplus(pre - i + 0.5): the stepped-sigmoid copies summed out, one value per row."""
        offsets = torch.arange(self.n_steps, device=pre.device, dtype=pre.dtype) + 0.5
        return F.softplus(pre[..., None] - offsets).sum((-1, -2))


UNITS = {"bernoulli": BernoulliUnits(), "gaussian": GaussianUnits(), "relu": ReLUUnits()}


def get_units(name):
    """The unit object for ``name`` ('bernoulli' or 'gaussian')."""
    try:
        return UNITS[name]
    except KeyError:
        raise ValueError(f"unknown unit type {name!r}; expected one of {sorted(UNITS)}") from None
