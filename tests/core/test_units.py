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
    samples = units.sample(None, mean, g)
    np.testing.assert_allclose(samples.mean(0).numpy(), mean[0].numpy(), atol=0.01)


def test_get_units_names_the_valid_options():
    with pytest.raises(ValueError, match="unknown unit type 'poisson'.*bernoulli.*gaussian"):
        get_units("poisson")


def test_relu_log_marginal_is_the_stepped_sigmoid_sum():
    # The stepped-sigmoid model: copies of a binary unit with offsets 0.5, 1.5, ...; summing each copy out
    # independently gives sum_i log(1 + exp(pre - i + 0.5)).
    from deepbelief.core.units import ReLUUnits
    pre = torch.tensor([[-2.0, 0.3, 7.5]], dtype=torch.float64)
    expected = sum(math.log1p(math.exp(p - i + 0.5)) for p in [-2.0, 0.3, 7.5] for i in range(1, 200))
    got = ReLUUnits().log_marginal(pre, torch.zeros(3, dtype=torch.float64)).item()
    assert got == pytest.approx(expected, rel=1e-12)


def test_relu_samples_follow_max_of_zero_and_a_noisy_input():
    from deepbelief.core.units import ReLUUnits
    units = ReLUUnits()
    g = torch.Generator().manual_seed(1)
    pre = torch.tensor([-1.0, 0.5, 3.0], dtype=torch.float64).expand(200000, 3)
    samples = units.sample(pre, units.mean(pre), g)
    assert (samples >= 0).all()
    for j, p in enumerate([-1.0, 0.5, 3.0]):
        # E[max(0, p + s z)] with s^2 = sigmoid(p), by numerical integration over z ~ N(0, 1)
        s = math.sqrt(1 / (1 + math.exp(-p)))
        z = np.linspace(-10, 10, 200001)
        expected = np.trapezoid(np.maximum(0, p + s * z) * np.exp(-z**2 / 2) / math.sqrt(2 * math.pi), z)
        assert samples[:, j].mean().item() == pytest.approx(expected, abs=0.01)
    np.testing.assert_array_equal(units.mean(pre[:1]).numpy(), [[0.0, 0.5, 3.0]])


@pytest.mark.parametrize("split", [False, True])
def test_label_samples_are_one_hot_with_softmax_frequencies(split):
    from deepbelief.core.units import LabelledUnits, RankDraws

    units = LabelledUnits("bernoulli", 2, 4)
    pre = torch.tensor([[0.0, 0.0, 1.0, -1.0, 0.5, 2.0]]).expand(200000, -1)
    generator = torch.Generator().manual_seed(0)
    x = units.sample(pre, units.mean(pre), RankDraws(generator, 0, 1) if split else generator)
    y = x[:, 2:]
    assert torch.equal(y.sum(1), torch.ones(len(y)))
    np.testing.assert_allclose(y.mean(0), torch.softmax(pre[0, 2:], 0), atol=4e-3)


@pytest.mark.parametrize("name", ["bernoulli", "gaussian", "relu"])
def test_rank_draws_split_the_draws_of_the_whole_batch(name):
    from deepbelief.core.units import LabelledUnits, RankDraws

    units = LabelledUnits(name, 3, 2)
    pre = torch.randn(8, 5, generator=torch.Generator().manual_seed(1))
    reference = torch.Generator().manual_seed(2)
    whole = units.sample(pre, units.mean(pre), RankDraws(reference, 0, 1))
    for world in (2, 4):
        n = len(pre) // world
        parts = []
        for rank in range(world):
            generator = torch.Generator().manual_seed(2)
            rows = slice(rank * n, (rank + 1) * n)
            parts.append(units.sample(pre[rows], units.mean(pre[rows]), RankDraws(generator, rank, world)))
            assert torch.equal(generator.get_state(), reference.get_state())  # every rank's generator in step
        torch.testing.assert_close(torch.cat(parts), whole, rtol=0, atol=0)


@pytest.mark.parametrize("name", ["bernoulli", "gaussian", "relu"])
def test_log_marginal_grad_is_the_derivative_of_the_log_marginal(name):
    from deepbelief.core.units import get_units
    units = get_units(name)
    pre = torch.linspace(-6, 70, 39, dtype=torch.float64).reshape(3, 13).requires_grad_()
    bias = torch.zeros(13, dtype=torch.float64)
    units.log_marginal(pre, bias).sum().backward()
    # torch's softplus is linear beyond 20, so its derivative there is 1, not sigmoid's 1 - 2e-9
    torch.testing.assert_close(units.log_marginal_grad(pre.detach()), pre.grad, rtol=1e-10, atol=1e-8)
