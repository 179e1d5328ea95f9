"""The convolutional RBM against an explicitly unrolled dense RBM, exact enumeration of pooling blocks and of tiny
models, autograd, and its exact distribution (sampling)."""
import itertools
import math

import numpy as np
import pytest
import torch

from deepbelief.core.conv import ConvRBMModule, conv_shapes
from deepbelief.core.rbm import RBMModule
from deepbelief.training import CDConfig, ConvCDTrainer

from tests.helpers import all_binary


def random_conv(image_shape, n_filters, filter_size, pool_size, visible="bernoulli", scale=0.7, seed=0):
    g = torch.Generator().manual_seed(seed)
    m = ConvRBMModule(image_shape, n_filters, filter_size, pool_size, visible=visible, dtype=torch.float64)
    with torch.no_grad():
        for p in (m.weight, m.hidden_bias, m.visible_bias):
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64) * scale)
    return m


def unrolled(conv):
    """The dense RBM whose weight matrix is the convolution written out unit by unit (hidden units ordered filter,
    row, column; visible units channel, row, column)."""
    C, H, W = conv.image_shape
    K, (fh, fw), (dh, dw) = conv.n_filters, conv.filter_size, conv.detection_shape
    w = conv.weight.detach().numpy()
    dense = np.zeros((K * dh * dw, C * H * W))
    for k, i, j, c, a, b in itertools.product(range(K), range(dh), range(dw), range(C), range(fh), range(fw)):
        dense[k * dh * dw + i * dw + j, c * H * W + (i + a) * W + (j + b)] = w[k, c, a, b]
    rbm = RBMModule(C * H * W, K * dh * dw, visible=conv.visible.name, dtype=torch.float64)
    with torch.no_grad():
        rbm.weight.copy_(torch.from_numpy(dense))
        rbm.hidden_bias.copy_(conv.hidden_bias.repeat_interleave(dh * dw))
        rbm.visible_bias.copy_(conv.visible_bias.repeat_interleave(H * W))
    return rbm


def tie(conv, dense_grad):
    """Sum a dense weight gradient over the entries that share each filter weight."""
    C, H, W = conv.image_shape
    K, (fh, fw), (dh, dw) = conv.n_filters, conv.filter_size, conv.detection_shape
    g = dense_grad.numpy()
    out = np.zeros(tuple(conv.weight.shape))
    for k, i, j, c, a, b in itertools.product(range(K), range(dh), range(dw), range(C), range(fh), range(fw)):
        out[k, c, a, b] += g[k * dh * dw + i * dw + j, c * H * W + (i + a) * W + (j + b)]
    return out


def allowed_states(conv):
    """Every hidden configuration with at most one detection unit on per pooling block, as (n, K, H', W'): all
    binary maps, filtered."""
    K, (dh, dw) = conv.n_filters, conv.detection_shape
    h = torch.from_numpy(all_binary(K * dh * dw)).double().reshape(-1, K, dh, dw)
    return h[(conv._blocks(h).sum(-1) <= 1).reshape(len(h), -1).all(1)]


@pytest.mark.parametrize("visible", ["bernoulli", "gaussian"])
def test_pool_one_is_the_unrolled_dense_rbm(visible):
    conv = random_conv((2, 5, 6), 3, (2, 3), 1, visible=visible)
    dense = unrolled(conv)
    g = torch.Generator().manual_seed(1)
    v = torch.rand(4, 2 * 5 * 6, generator=g, dtype=torch.float64)
    h = (torch.rand(4, dense.n_hidden, generator=g, dtype=torch.float64) < 0.5).double()
    maps = h.reshape(4, *conv.weight.shape[:1], *conv.detection_shape)
    torch.testing.assert_close(conv.pre_h(v).reshape(4, -1), dense.pre_h(v))
    torch.testing.assert_close(conv.pre_v(maps).reshape(4, -1), dense.pre_v(h))
    torch.testing.assert_close(conv.prob_h_given_v(v)[0].reshape(4, -1), dense.prob_h_given_v(v))
    torch.testing.assert_close(conv.free_energy(v), dense.free_energy(v))
    torch.testing.assert_close(conv.energy(v, maps), dense.energy(v, h))

    # CD statistics with the same draws (a pool of 1 draws one uniform per detection unit, in the dense order)
    for chain in (None, torch.rand(3, 60, generator=g, dtype=torch.float64).round()):
        a = conv.cd_statistics(v, 2, torch.Generator().manual_seed(5), chain)
        b = dense.cd_statistics(v, 2, torch.Generator().manual_seed(5), chain)
        torch.testing.assert_close(a.chain, b.chain)
        positions, pixels = 4 * 4, 5 * 6
        np.testing.assert_allclose(a.grad_weight.numpy() * positions, tie(conv, b.grad_weight), atol=1e-12)
        torch.testing.assert_close(a.grad_hidden_bias * positions, b.grad_hidden_bias.reshape(3, -1).sum(1))
        torch.testing.assert_close(a.grad_visible_bias * pixels, b.grad_visible_bias.reshape(2, -1).sum(1))
        torch.testing.assert_close(a.squared_error, b.squared_error)


def test_block_posteriors_and_free_energy_by_enumeration():
    conv = random_conv((1, 5, 5), 2, 2, 2, scale=1.0)  # detection 4x4, 2x2 blocks of 4 units: 5^4 states per filter
    v = (torch.rand(3, 25, generator=torch.Generator().manual_seed(2), dtype=torch.float64) < 0.5).double()
    # one full block per filter (25 joint states); 3x3 maps under 2x2 blocks, which end in smaller blocks
    for small in (random_conv((1, 3, 3), 2, 2, 2, scale=1.0), random_conv((1, 4, 4), 1, 2, 2, scale=1.0)):
        rows = v[:, :small.n_visible]
        h = allowed_states(small)
        neg = -torch.stack([small.energy(row[None].expand(len(h), -1), h) for row in rows])  # (rows, states)
        p = torch.softmax(neg, 1)
        torch.testing.assert_close(small.prob_h_given_v(rows)[0], torch.einsum("rs,skij->rkij", p, h))
        pooled = torch.einsum("rs,skab->rkab", p, small._blocks(h).sum(-1))
        torch.testing.assert_close(small.prob_h_given_v(rows)[1], pooled)
        torch.testing.assert_close(small.free_energy(rows), -torch.logsumexp(neg, 1))
    assert random_conv((1, 4, 4), 1, 2, 2).pooled_shape == (2, 2)
    # the larger model: each block alone by enumeration of its 5 states
    pre = conv._blocks(conv.pre_h(v))
    states = torch.cat([torch.eye(4, dtype=torch.float64), torch.zeros(1, 4, dtype=torch.float64)])  # 5 states
    logits = pre @ states.t()  # (n, K, 2, 2, 5)
    torch.testing.assert_close(conv.block_states(conv.pre_h(v)), torch.softmax(logits, -1))


def test_block_samples_follow_the_block_posteriors():
    conv = random_conv((1, 3, 3), 1, 2, 2, scale=1.0)
    v = torch.tensor([[1, 0, 1, 1, 1, 0, 0, 1, 1]], dtype=torch.float64).expand(40000, -1)
    p, h = conv.sample_h_given_v(v, torch.Generator().manual_seed(3))
    assert (conv._blocks(h).sum(-1) <= 1).all()  # at most one unit on per block
    freq = torch.cat([conv._blocks(h).mean(0).reshape(-1), 1 - conv._blocks(h).sum(-1).mean(0).reshape(-1)])
    exact = conv.block_states(conv.pre_h(v[:1])).reshape(-1)
    assert (freq - exact).abs().max() < 0.01


def test_positive_statistics_are_the_free_energy_gradient():
    conv = random_conv((2, 6, 6), 3, 3, 2)
    v = torch.rand(5, 72, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    params = [conv.weight, conv.hidden_bias, conv.visible_bias]
    for p in params:
        p.requires_grad_(True)
    grads = torch.autograd.grad(-conv.free_energy(v).sum(), params)
    ph = conv.prob_h_given_v(v)[0]
    torch.testing.assert_close(conv.correlation(conv.image(v), ph), grads[0])
    torch.testing.assert_close(ph.sum((0, 2, 3)), grads[1])
    torch.testing.assert_close(conv.image(v).sum((0, 2, 3)), grads[2])


def exact_visible_distribution(conv):
    v = torch.from_numpy(all_binary(conv.n_visible)).double()
    return v, torch.softmax(-conv.free_energy(v), 0)


def test_gibbs_sampling_matches_the_exact_distribution():
    conv = random_conv((1, 2, 3), 2, (1, 2), (2, 2), scale=1.0)  # 6 visible units, one 2x2 block per filter
    states, p = exact_visible_distribution(conv)
    g = torch.Generator().manual_seed(6)
    v = (torch.rand(50000, 6, generator=g, dtype=torch.float64) < 0.5).double()
    for _ in range(30):
        v = conv.gibbs_vhv(v, g)[1]
    index = (v.reshape(len(v), -1) * 2 ** torch.arange(5, -1, -1, dtype=torch.float64)).sum(1).long()
    empirical = torch.bincount(index, minlength=64).double() / len(v)
    tv = 0.5 * (empirical - p).abs().sum()
    assert tv < 0.03, tv
    wrong = torch.softmax(-unrolled_free_energy_without_pooling(conv, states), 0)
    assert 0.5 * (empirical - wrong).abs().sum() > 3 * tv  # the check tells pooling from no pooling


def unrolled_free_energy_without_pooling(conv, v):
    return unrolled(conv).free_energy(v)


def test_conv_cd_raises_the_exact_likelihood_and_sparsity_moves_the_biases():
    conv = ConvRBMModule((1, 3, 3), 2, 2, 2, dtype=torch.float64)
    g = torch.Generator().manual_seed(7)
    with torch.no_grad():
        conv.weight.copy_(torch.randn(conv.weight.shape, generator=g, dtype=torch.float64) * 0.01)
    # data: horizontal and vertical bars
    bars = torch.tensor([[1, 1, 1, 0, 0, 0, 0, 0, 0], [0, 0, 0, 1, 1, 1, 0, 0, 0], [0, 0, 0, 0, 0, 0, 1, 1, 1],
                         [1, 0, 0, 1, 0, 0, 1, 0, 0], [0, 1, 0, 0, 1, 0, 0, 1, 0], [0, 0, 1, 0, 0, 1, 0, 0, 1]],
                        dtype=torch.float64).repeat(20, 1)

    def log_likelihood():
        states = torch.from_numpy(all_binary(9)).double()
        log_z = torch.logsumexp(-conv.free_energy(states), 0)
        return (-conv.free_energy(bars) - log_z).mean().item()

    before = log_likelihood()
    trainer = ConvCDTrainer(conv, CDConfig(learning_rate=0.3, k=1, persistent=True), g)
    for epoch in range(100):
        trainer.run_epoch(bars, 10, epoch)
    after = log_likelihood()
    assert after > before + 0.5, (before, after)  # measured: -6.24 -> -5.48 nats
    assert trainer.chain.shape == (10, 9)

    sparse = ConvCDTrainer(conv, CDConfig(learning_rate=0.1, sparsity_cost=1.0, sparsity_target=0.01), g)
    bias = conv.hidden_bias.clone()
    sparse.run_epoch(bars, 120, 0)
    assert (conv.hidden_bias < bias).all()  # active filters pushed towards the low target
    with pytest.raises(ValueError, match="centring"):
        ConvCDTrainer(conv, CDConfig(centering=True), g)


def test_shapes_and_errors():
    assert conv_shapes((1, 28, 28), 5, 2) == ((24, 24), (12, 12))
    assert conv_shapes((1, 28, 28), 4, 2) == ((25, 25), (13, 13))  # the last blocks are 1 unit high and wide
    with pytest.raises(ValueError, match="larger than the images"):
        conv_shapes((1, 4, 4), 5, 1)
    m = ConvRBMModule((3, 10, 10), 4, 3, 2)
    assert m.n_visible == 300 and m.n_outputs == 4 * 4 * 4
    v = torch.rand(2, 3, 10, 10)
    assert m.pooled(v).shape == (2, 64) and m.pooled(v.reshape(2, -1)).shape == (2, 64)
    assert math.isfinite(m.free_energy(v).sum().item())
