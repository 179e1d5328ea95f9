import math

import numpy as np
import pytest
import torch

from deepbelief.core.units import BernoulliUnits, GaussianUnits, get_units


def test_bernoulli_log_marginal_sums_both_states():
    pre = torch.tensor([[-3.0, 0.0, 2.5]], dtype=torch.float64)
    bias = torch.zeros(3, dtype=torch.float64)
    expected = sum(math.log(1 + math.exp(p)) for p in [-3.0, 0.0, 2.5])
    assert BernoulliUnits().log_marginal(pre, bias).item() == pytest.approx(expected, abs=1e-12)


def test_bernoulli_log_marginal_is_stable_for_large_inputs():
    pre = torch.tensor([[1e4, -1e4]], dtype=torch.float32)
    out = BernoulliUnits().log_marginal(pre, torch.zeros(2))
    assert torch.isfinite(out).all() and out.item() == pytest.approx(1e4)


def test_gaussian_log_marginal_matches_numerical_integral():
    units = GaussianUnits()
    for bias, pre in [(0.0, 0.0), (0.7, -1.3), (-2.0, 1.5)]:
        x = np.linspace(-30, 30, 200001)
        integrand = np.exp(-0.5 * (x - bias) ** 2 + x * (pre - bias))
        expected = math.log(np.trapezoid(integrand, x))
        got = units.log_marginal(torch.tensor([[pre]], dtype=torch.float64), torch.tensor([bias], dtype=torch.float64))
        assert got.item() == pytest.approx(expected, abs=1e-8)


@pytest.mark.parametrize("units", [BernoulliUnits(), GaussianUnits()])
def test_sample_means_approach_the_mean(units):
    g = torch.Generator().manual_seed(0)
    mean = units.mean(torch.tensor([-1.0, 0.3, 2.0], dtype=torch.float64)).expand(200000, 3)
    samples = units.sample(mean, g)
    np.testing.assert_allclose(samples.mean(0).numpy(), mean[0].numpy(), atol=0.01)


def test_get_units_names_the_valid_options():
    with pytest.raises(ValueError, match="unknown unit type 'poisson'.*bernoulli.*gaussian"):
        get_units("poisson")
