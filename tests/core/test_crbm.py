import numpy as np
import torch
from scipy.special import logsumexp

from deepbelief.core.crbm import ConditionalRBMModule
from deepbelief.core.rbm import RBMModule

from tests.helpers import all_binary


def random_crbm(n_visible, n_hidden, order, visible="bernoulli", temporal=1.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    m = ConditionalRBMModule(n_visible, n_hidden, order, visible=visible, dtype=torch.float64)
    for p in m.cd_parameters():
        p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64))
    m.autoregressive.mul_(temporal)
    m.past_hidden.mul_(temporal)
    return m


def as_plain_rbm(crbm):
    rbm = RBMModule(crbm.n_visible, crbm.n_hidden, visible=crbm.visible.name, dtype=torch.float64)
    for name in ("weight", "visible_bias", "hidden_bias"):
        getattr(rbm, name).copy_(getattr(crbm, name))
    return rbm


def test_zero_temporal_weights_give_the_plain_rbm():
    crbm = random_crbm(5, 3, order=2, temporal=0.0)
    rbm = as_plain_rbm(crbm)
    g = torch.Generator().manual_seed(1)
    v = (torch.rand(8, 5, generator=g) < 0.5).double()
    u = torch.randn(8, 10, generator=g, dtype=torch.float64)  # any history: A = B = 0 ignores it
    a_t, b_t = crbm.dynamic_biases(u)
    torch.testing.assert_close(crbm.prob_h_given_v(v, b_t), rbm.prob_h_given_v(v))
    h = (torch.rand(8, 3, generator=g) < 0.5).double()
    torch.testing.assert_close(crbm.mean_v_given_h(h, a_t), rbm.mean_v_given_h(h))
    torch.testing.assert_close(crbm.free_energy(torch.cat([v, u], 1)), rbm.free_energy(v))
    # Same random draws in the same order: the CD statistics of W, a, b are the plain RBM's exactly.
    stats = crbm.cd_statistics(torch.cat([v, u], 1), 3, torch.Generator().manual_seed(5))
    plain = rbm.cd_statistics(v, 3, torch.Generator().manual_seed(5))
    for got, want in ((stats.grad_weight, plain.grad_weight), (stats.grad_visible_bias, plain.grad_visible_bias),
                      (stats.grad_hidden_bias, plain.grad_hidden_bias), (stats.chain, plain.chain)):
        torch.testing.assert_close(got, want)


def brute_force_log_conditional(crbm, v, u):
    """log p(v | u) of a binary CRBM by enumerating every (v', h), written from the energy alone."""
    W = crbm.weight.numpy()
    a_t = crbm.visible_bias.numpy() + crbm.autoregressive.numpy() @ u
    b_t = crbm.hidden_bias.numpy() + crbm.past_hidden.numpy() @ u
    V, H = all_binary(crbm.n_visible), all_binary(crbm.n_hidden)
    neg_energy = V @ a_t[:, None] + (H @ b_t)[None, :] + V @ W.T @ H.T  # (2^nv, 2^nh)
    log_marginal = logsumexp(neg_energy, axis=1)
    row = int("".join(str(int(x)) for x in v), 2)
    return log_marginal[row] - logsumexp(log_marginal)


def test_free_energy_and_conditional_match_enumeration():
    crbm = random_crbm(4, 3, order=2, seed=3)
    g = torch.Generator().manual_seed(0)
    u = torch.rand(8, generator=g, dtype=torch.float64)
    V = torch.tensor(all_binary(4))
    F = crbm.free_energy(torch.cat([V, u.expand(16, -1)], 1)).numpy()
    log_p = -F - logsumexp(-F)  # log p(v | u), normalised over the 16 frames
    expected = [brute_force_log_conditional(crbm, v, u.numpy()) for v in all_binary(4)]
    np.testing.assert_allclose(log_p, expected, rtol=1e-10, atol=1e-10)


def test_dynamic_weight_gradients_match_autograd_and_cd_expectation():
    """d log p(v|u) / dA = (v - E[v|u]) u^T and d/dB = (E[h|v,u] - E[h|u]) u^T: autograd of the enumerated
    log-conditional, and the mean of CD-k statistics with a long chain, agree with these formulas."""
    crbm = random_crbm(3, 2, order=1, temporal=0.5, seed=4)
    v, u = torch.tensor([1.0, 0.0, 1.0], dtype=torch.float64), torch.tensor([0.3, -0.7, 1.1], dtype=torch.float64)
    V = torch.tensor(all_binary(3))
    A = crbm.autoregressive.detach().clone().requires_grad_(True)
    B = crbm.past_hidden.detach().clone().requires_grad_(True)

    def log_conditional(A, B):
        a_t, b_t = crbm.visible_bias + A @ u, crbm.hidden_bias + B @ u
        neg_f = V @ a_t + torch.nn.functional.softplus(b_t + V @ crbm.weight.t()).sum(1)
        row = int("101", 2)
        return neg_f[row] - torch.logsumexp(neg_f, 0)

    grad_A, grad_B = torch.autograd.grad(log_conditional(A, B), (A, B))
    # The exact gradient from the model's distribution over frames.
    neg_f = -crbm.free_energy(torch.cat([V, u.expand(8, -1)], 1))
    p = torch.softmax(neg_f, 0)
    a_t, b_t = crbm.dynamic_biases(u[None])
    torch.testing.assert_close(grad_A, torch.outer(v - p @ V, u))
    ph_model = p @ crbm.prob_h_given_v(V, b_t)
    torch.testing.assert_close(grad_B, torch.outer(crbm.prob_h_given_v(v[None], b_t)[0] - ph_model, u))
    # CD-50 from the data approaches the exact expectation: average its statistics over many copies of the row.
    rows = torch.cat([v, u]).expand(40000, -1).contiguous()
    stats = crbm.cd_statistics(rows, 50, torch.Generator().manual_seed(0))
    dA, dB = stats.extra
    torch.testing.assert_close(dA, grad_A, atol=0.02, rtol=0)
    torch.testing.assert_close(dB, grad_B, atol=0.02, rtol=0)


def test_gaussian_frames_use_mean_field_reconstructions():
    crbm = random_crbm(4, 3, order=1, visible="gaussian", temporal=0.3, seed=6)
    rows = torch.randn(5, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    stats = crbm.cd_statistics(rows, 1, torch.Generator().manual_seed(1))
    v, u = crbm.split(rows)
    a_t, b_t = crbm.dynamic_biases(u)
    _, h0 = crbm.sample_h_given_v(v, b_t, torch.Generator().manual_seed(1))
    torch.testing.assert_close(stats.chain, crbm.mean_v_given_h(h0, a_t))


def test_sample_frame_clamps_the_history():
    # With W = 0 the frame ignores h: E[v_t | u_t] = sigmoid(a + A u) whatever the chain does.
    crbm = random_crbm(3, 2, order=1, seed=7)
    crbm.weight.zero_()
    u = torch.randn(4, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    frame = crbm.sample_frame(u, torch.zeros(4, 3, dtype=torch.float64), 5, torch.Generator().manual_seed(0))
    torch.testing.assert_close(frame, torch.sigmoid(crbm.dynamic_biases(u)[0]))
    torch.testing.assert_close(crbm.mean_field_frame(u, torch.zeros(4, 3, dtype=torch.float64), 3), frame)

