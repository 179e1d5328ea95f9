"""Unit types of an RBM layer.

Each unit type is described by its energy term and by the log of its partition
over its own states, which is all that the conditionals and the free energy need.
With ``pre = bias + input`` the natural parameter of a unit given the other layer:

- Bernoulli units, states {0, 1}: energy ``-bias.x``, mean ``sigmoid(pre)``.
- Gaussian units with unit variance: energy ``0.5 ||x - bias||^2``, mean ``pre``.
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

    def sample(self, mean, generator):
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

    def sample(self, mean, generator):
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


UNITS = {"bernoulli": BernoulliUnits(), "gaussian": GaussianUnits()}


def get_units(name):
    """The unit object for ``name`` ('bernoulli' or 'gaussian')."""
    try:
        return UNITS[name]
    except KeyError:
        raise ValueError(f"unknown unit type {name!r}; expected one of {sorted(UNITS)}") from None
