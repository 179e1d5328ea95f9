import numpy as np
import pytest
import torch
from scipy.special import logsumexp

from deepbelief.core.estimate import log_likelihood_exact, log_partition_exact
from deepbelief.core.rbm import RBMModule

from tests.helpers import B1, V_EXAMPLE, W1, all_binary, joint_table, numpy_params, random_rbm


def example_rbm():
    rbm = RBMModule(4, 3, dtype=torch.float64)
    rbm.weight.copy_(torch.tensor(W1.T))
    rbm.hidden_bias.copy_(torch.tensor(B1))
    return rbm


def test_seed_example_conditionals():
    rbm = example_rbm()
    ph = rbm.prob_h_given_v(torch.tensor(V_EXAMPLE))
    np.testing.assert_allclose(ph.numpy(), [[0.622, 0.622, 0.711]], atol=5e-4)
    pv = rbm.mean_v_given_h(torch.tensor([[1.0, 1.0, 0.0]], dtype=torch.float64))
    np.testing.assert_allclose(pv.numpy(), [[0.550, 0.646, 0.622, 0.550]], atol=5e-4)


def test_free_energy_sums_out_the_hidden_layer():
    rbm = random_rbm(6, 4, seed=1)
    V, H, neg_energy = joint_table(rbm)
    expected = -logsumexp(neg_energy, axis=1)
    got = rbm.free_energy(torch.tensor(V)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


def test_hidden_free_energy_sums_out_the_visible_layer():
    rbm = random_rbm(6, 4, seed=2)
    V, H, neg_energy = joint_table(rbm)
    expected = -logsumexp(neg_energy, axis=0)
    np.testing.assert_allclose(rbm.free_energy_hidden(torch.tensor(H)).numpy(), expected, rtol=1e-10, atol=1e-10)


def test_energy_matches_the_textbook_formula():
    rbm = random_rbm(6, 4, seed=3)
    V, H, neg_energy = joint_table(rbm)
    i, j = np.meshgrid(np.arange(len(V)), np.arange(len(H)), indexing="ij")
    got = rbm.energy(torch.tensor(V[i.ravel()]), torch.tensor(H[j.ravel()])).numpy()
    np.testing.assert_allclose(got, -neg_energy.ravel(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (5, 5)])
def test_exact_log_partition_equals_the_joint_sum(shape):
    rbm = random_rbm(*shape, seed=4)
    _, _, neg_energy = joint_table(rbm)
    assert log_partition_exact(rbm).item() == pytest.approx(logsumexp(neg_energy), abs=1e-9)


def test_sum_over_visible_states_of_exp_minus_free_energy_is_z():
    rbm = random_rbm(6, 4, seed=5)
    V = torch.tensor(all_binary(6))
    assert torch.logsumexp(-rbm.free_energy(V), 0).item() == pytest.approx(log_partition_exact(rbm).item(), abs=1e-9)
    assert torch.exp(log_likelihood_exact(rbm, V)).sum().item() == pytest.approx(1.0, abs=1e-9)


def test_gaussian_visible_density_integrates_to_one():
    rbm = random_rbm(2, 3, visible="gaussian", scale=0.7, seed=6)
    grid = np.linspace(-12, 12, 801)
    xx, yy = np.meshgrid(grid, grid, indexing="ij")
    V = torch.tensor(np.stack([xx.ravel(), yy.ravel()], 1))
    density = torch.exp(log_likelihood_exact(rbm, V)).numpy().reshape(xx.shape)
    total = np.trapezoid(np.trapezoid(density, grid, axis=1), grid)
    assert total == pytest.approx(1.0, abs=1e-6)


def test_gaussian_visible_conditional_mean_is_linear():
    rbm = random_rbm(3, 2, visible="gaussian", seed=7)
    h = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    W, a, b = numpy_params(rbm)
    np.testing.assert_allclose(rbm.mean_v_given_h(h).numpy(), a + h.numpy() @ W.T, rtol=1e-12)


def exact_gradient(rbm, data):
    """Exact d(mean log-likelihood)/d(W, a, b) by enumeration: <v h>_data - <v h>_model (independent NumPy)."""
    W, a, b = numpy_params(rbm)
    V, H, neg_energy = joint_table(rbm)
    p_joint = np.exp(neg_energy - logsumexp(neg_energy))
    ph_data = 1 / (1 + np.exp(-(data @ W + b)))
    model_vh = V.T @ p_joint @ H
    grad_W = data.T @ ph_data / len(data) - model_vh
    grad_a = data.mean(0) - p_joint.sum(1) @ V
    grad_b = ph_data.mean(0) - p_joint.sum(0) @ H
    return grad_W.T, grad_a, grad_b


def test_exact_gradient_matches_finite_differences():
    rbm = random_rbm(5, 3, scale=0.5, seed=8)
    data = all_binary(5)[[1, 7, 12, 30, 31]]
    grad_W, grad_a, grad_b = exact_gradient(rbm, data)
    eps = 1e-6

    def mean_ll():
        return log_likelihood_exact(rbm, torch.tensor(data)).mean().item()

    for param, grad in [(rbm.weight, grad_W), (rbm.visible_bias, grad_a), (rbm.hidden_bias, grad_b)]:
        flat = param.data.view(-1)
        numeric = np.empty(flat.numel())
        for i in range(flat.numel()):
            flat[i] += eps
            up = mean_ll()
            flat[i] -= 2 * eps
            down = mean_ll()
            flat[i] += eps
            numeric[i] = (up - down) / (2 * eps)
        np.testing.assert_allclose(numeric, grad.ravel(), atol=1e-7)


@pytest.mark.parametrize("persistent", [False, True])
def test_long_chain_cd_statistics_match_the_exact_gradient(persistent):
    # With k large the negative phase samples the model distribution, so the CD statistics become the exact
    # log-likelihood gradient; averaging over many replicated rows shrinks the Monte Carlo error.
    rbm = random_rbm(6, 4, scale=0.5, seed=9)
    data = all_binary(6)[[3, 17, 40, 63]]
    v0 = torch.tensor(np.repeat(data, 5000, axis=0))
    g = torch.Generator().manual_seed(0)
    chain = torch.bernoulli(torch.full_like(v0, 0.5), generator=g) if persistent else None
    stats = rbm.cd_statistics(v0, k=50, generator=g, chain=chain)
    grad_W, grad_a, grad_b = exact_gradient(rbm, data)
    np.testing.assert_allclose(stats.grad_weight.numpy(), grad_W, atol=0.015)
    np.testing.assert_allclose(stats.grad_visible_bias.numpy(), grad_a, atol=0.015)
    np.testing.assert_allclose(stats.grad_hidden_bias.numpy(), grad_b, atol=0.015)


def test_cd1_statistics_by_hand():
    # One CD-1 step recomputed from the same random draws: the positive phase uses E[h|v0], the negative
    # phase the sampled reconstruction v1 and E[h|v1].
    rbm = random_rbm(5, 3, seed=10)
    v0 = torch.tensor(all_binary(5)[[2, 9, 21]])
    stats = rbm.cd_statistics(v0, k=1, generator=torch.Generator().manual_seed(3))
    g = torch.Generator().manual_seed(3)
    ph0 = torch.sigmoid(rbm.hidden_bias + v0 @ rbm.weight.T)
    h0 = (torch.rand(ph0.shape, generator=g, dtype=ph0.dtype) < ph0).double()
    pv1 = torch.sigmoid(rbm.visible_bias + h0 @ rbm.weight)
    v1 = (torch.rand(pv1.shape, generator=g, dtype=pv1.dtype) < pv1).double()
    ph1 = torch.sigmoid(rbm.hidden_bias + v1 @ rbm.weight.T)
    torch.testing.assert_close(stats.grad_weight, (ph0.T @ v0 - ph1.T @ v1) / 3)
    torch.testing.assert_close(stats.grad_visible_bias, (v0 - v1).mean(0))
    torch.testing.assert_close(stats.grad_hidden_bias, (ph0 - ph1).mean(0))
    torch.testing.assert_close(stats.squared_error, ((v0 - pv1) ** 2).sum())
    torch.testing.assert_close(stats.chain, v1)


@pytest.mark.slow
def test_float32_agrees_with_float64():
    rbm64 = random_rbm(20, 10, seed=11)
    rbm32 = RBMModule(20, 10, dtype=torch.float32)
    rbm32.load_state_dict({k: v.float() for k, v in rbm64.state_dict().items()})
    v = torch.tensor(all_binary(20)[::997])
    np.testing.assert_allclose(rbm32.free_energy(v.float()).numpy(), rbm64.free_energy(v).numpy(), rtol=1e-5)
    np.testing.assert_allclose(rbm32.prob_h_given_v(v.float()).numpy(), rbm64.prob_h_given_v(v).numpy(), atol=1e-6)


def test_sigmoid_of_large_inputs_stays_finite():
    rbm = RBMModule(3, 2)
    rbm.weight.fill_(1e4)
    v = torch.ones(1, 3)
    assert torch.isfinite(rbm.free_energy(v)).all()
    assert torch.isfinite(rbm.prob_h_given_v(v)).all()


def test_relu_hidden_free_energy_sums_out_the_stepped_copies():
    # Free energy of v with rectified hidden units = -a.v - sum_j sum_i softplus(b_j + W_j.v - i + 0.5)
    rbm = random_rbm(5, 3, seed=12)
    relu = RBMModule(5, 3, hidden="relu", dtype=torch.float64)
    relu.load_state_dict(rbm.state_dict())
    v = torch.tensor(all_binary(5)[[3, 10, 31]])
    pre = rbm.pre_h(v).numpy()
    W, a, b = numpy_params(rbm)
    expected = -(v.numpy() @ a) - sum(np.logaddexp(0, pre - i + 0.5).sum(1) for i in range(1, 65))
    np.testing.assert_allclose(relu.free_energy(v).numpy(), expected, rtol=1e-12)


def labelled_rbm(seed=13):
    from deepbelief.core.units import LabelledUnits
    base = random_rbm(6, 4, seed=seed)  # a 6-wide visible layer: 4 data units, then 2 label units
    rbm = RBMModule(6, 4, visible=LabelledUnits("bernoulli", 4, 2), dtype=torch.float64)
    rbm.load_state_dict(base.state_dict())
    return rbm


def labelled_states():
    """Every [x, one-hot y] of 4 binary data units and 2 labels."""
    X = all_binary(4)
    return np.concatenate([np.c_[X, np.tile([1.0, 0.0], (16, 1))], np.c_[X, np.tile([0.0, 1.0], (16, 1))]])


def test_labelled_free_energy_and_log_partition_by_enumeration():
    rbm = labelled_rbm()
    W, a, b = numpy_params(rbm)
    V, H = labelled_states(), all_binary(4)
    neg_energy = (V @ a)[:, None] + (H @ b)[None, :] + V @ W @ H.T
    np.testing.assert_allclose(rbm.free_energy(torch.tensor(V)).numpy(), -logsumexp(neg_energy, 1), rtol=1e-10)
    log_z = torch.logsumexp(-rbm.free_energy_hidden(torch.tensor(H)), 0).item()
    assert log_z == pytest.approx(logsumexp(neg_energy), abs=1e-9)


def test_labelled_units_sample_one_hot_labels_with_the_softmax_probabilities():
    rbm = labelled_rbm()
    h = torch.tensor([[1.0, 0.0, 1.0, 1.0]], dtype=torch.float64).expand(40000, 4)
    mean, v = rbm.sample_v_given_h(h, torch.Generator().manual_seed(0))
    labels = v[:, 4:]
    assert torch.all(labels.sum(1) == 1) and set(labels.unique().tolist()) == {0.0, 1.0}
    W, a, b = numpy_params(rbm)
    pre_y = a[4:] + h[0].numpy() @ W[4:].T
    np.testing.assert_allclose(mean[0, 4:].numpy(), np.exp(pre_y) / np.exp(pre_y).sum(), rtol=1e-10)
    np.testing.assert_allclose(labels.mean(0).numpy(), mean[0, 4:].numpy(), atol=0.01)


def test_cd_statistics_into_a_reused_buffer_are_the_same_numbers():
    rbm = random_rbm(6, 4, dtype=torch.float32)
    v0 = (torch.rand(5, 6, generator=torch.Generator().manual_seed(1)) < 0.5).float()
    fresh = rbm.cd_statistics(v0, 2, torch.Generator().manual_seed(2))
    buffer = torch.full_like(rbm.weight, float("nan"))
    reused = rbm.cd_statistics(v0, 2, torch.Generator().manual_seed(2), out=buffer)
    assert reused.grad_weight is buffer
    torch.testing.assert_close(buffer, fresh.grad_weight, rtol=0, atol=0)


# classification RBMs: the exact conditional gradient ------------------------------------------------------
def enumerated_log_conditional(weight, visible_bias, hidden_bias, x, y, n_features):
    """sum_n log P(y_n | x_n) by enumerating the binary hidden states, from the energy alone (differentiable)."""
    H = torch.tensor(all_binary(weight.shape[0]), dtype=weight.dtype)
    K = y.shape[1]
    per_label = []
    for label in range(K):
        v = torch.cat([x, torch.nn.functional.one_hot(torch.full((x.shape[0],), label), K).to(x)], 1)
        neg_energy = (v @ visible_bias)[:, None] + (H @ hidden_bias)[None] + v @ weight.t() @ H.t()
        per_label.append(torch.logsumexp(neg_energy, 1))
    log_joint = torch.stack(per_label, 1)  # (n, K): log sum_h exp(-E(x, y, h))
    return (y * (log_joint - torch.logsumexp(log_joint, 1, keepdim=True))).sum()


def labelled_batch(seed=3, n=7, unlabelled=()):
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(n, 4, generator=g, dtype=torch.float64) < 0.5).double()
    y = torch.nn.functional.one_hot(torch.randint(0, 2, (n,), generator=g), 2).double()
    y[list(unlabelled)] = 0.0
    return x, y


def test_discriminative_gradient_equals_autograd_of_the_enumerated_conditional_likelihood():
    rbm = labelled_rbm()
    x, y = labelled_batch()
    params = [p.detach().clone().requires_grad_() for p in (rbm.weight, rbm.visible_bias, rbm.hidden_bias)]
    enumerated_log_conditional(*params, x, y, 4).backward()
    grad_weight, grad_visible, grad_hidden, loss, _ = rbm.discriminative_statistics(x, y)
    for got, param in zip((grad_weight, grad_visible, grad_hidden), params):
        torch.testing.assert_close(got, param.grad / x.shape[0], rtol=1e-10, atol=1e-12)
    assert grad_visible[:4].abs().max() == 0  # the data units' biases cancel out of P(y | x)
    assert loss.item() == pytest.approx(-enumerated_log_conditional(*params, x, y, 4).item(), rel=1e-12)


def enumerated_weighted_entropy(weight, visible_bias, hidden_bias, x, weights):
    """sum_n w_n H(P(y | x_n)), P by enumerating the binary hidden states (differentiable)."""
    K = 2
    log_p = torch.stack([enumerated_log_conditional(weight, visible_bias, hidden_bias, x[n:n + 1],
                                                    torch.eye(K, dtype=x.dtype)[k:k + 1], 4)
                         for n in range(x.shape[0]) for k in range(K)]).reshape(-1, K)
    return -(weights * (log_p.exp() * log_p).sum(1)).sum()


def test_entropy_gradient_equals_autograd_and_finite_differences_of_the_enumerated_entropy():
    rbm = labelled_rbm(seed=7)
    x, _ = labelled_batch(seed=8)
    weights = torch.tensor([0.0, 1.0, 0.5, 1.0, 0.0, 2.0, 1.0], dtype=torch.float64)
    params = [p.detach().clone().requires_grad_() for p in (rbm.weight, rbm.visible_bias, rbm.hidden_bias)]
    entropy = enumerated_weighted_entropy(*params, x, weights)
    (-entropy).backward()
    *grads, total = rbm.entropy_statistics(x, weights)
    assert total.item() == pytest.approx(entropy.item(), rel=1e-12)
    for got, param in zip(grads, params):
        torch.testing.assert_close(got, param.grad / x.shape[0], rtol=1e-10, atol=1e-12)
    eps = 1e-6
    for i, j in [(0, 1), (2, 4), (1, 5)]:
        values = []
        for sign in (1, -1):
            rbm.weight[i, j] += sign * eps
            values.append(rbm.entropy_statistics(x, weights)[3].item())
            rbm.weight[i, j] -= sign * eps
        assert grads[0][i, j].item() == pytest.approx(-(values[0] - values[1]) / (2 * eps) / x.shape[0], abs=1e-7)
    zero = rbm.entropy_statistics(x, torch.zeros_like(weights))
    assert all(g.abs().max() == 0 for g in zero[:3])


def test_information_gradient_equals_autograd_of_the_enumerated_objective():
    """-sum_n w_n H(P(y | x_n)) + W H(pbar), pbar = sum_n w_n P(y | x_n) / W a function of the parameters too."""
    rbm = labelled_rbm(seed=7)
    x, _ = labelled_batch(seed=8)
    weights = torch.tensor([0.0, 1.0, 0.5, 1.0, 0.0, 2.0, 1.0], dtype=torch.float64)
    params = [p.detach().clone().requires_grad_() for p in (rbm.weight, rbm.visible_bias, rbm.hidden_bias)]
    P = torch.stack([enumerated_log_conditional(*params, x[n:n + 1], torch.eye(2, dtype=x.dtype)[k:k + 1], 4)
                     for n in range(x.shape[0]) for k in range(2)]).reshape(-1, 2).exp()
    pbar = (weights[:, None] * P).sum(0) / weights.sum()
    objective = (weights * (P * P.log()).sum(1)).sum() - weights.sum() * (pbar * pbar.log()).sum()
    objective.backward()
    *grads, value = rbm.entropy_statistics(x, weights, marginal=pbar.detach())
    assert value.item() == pytest.approx(-objective.item(), rel=1e-12)
    for got, param in zip(grads, params):
        torch.testing.assert_close(got, param.grad / x.shape[0], rtol=1e-10, atol=1e-12)
    # without the marginal term the gradient is the entropy term's alone
    entropy_only = rbm.entropy_statistics(x, weights)
    assert not torch.allclose(entropy_only[0], grads[0])


def test_discriminative_gradient_matches_finite_differences():
    rbm = labelled_rbm(seed=5)
    x, y = labelled_batch(seed=6)
    grad_weight = rbm.discriminative_statistics(x, y)[0]
    eps = 1e-6
    for i, j in [(0, 0), (1, 3), (2, 4), (3, 5)]:  # data weights and label weights
        loss = []
        for sign in (1, -1):
            rbm.weight[i, j] += sign * eps
            loss.append(rbm.discriminative_statistics(x, y)[3].item())
            rbm.weight[i, j] -= sign * eps
        # the loss is -sum log P; the gradient is of the mean log P
        assert grad_weight[i, j].item() == pytest.approx(-(loss[0] - loss[1]) / (2 * eps) / x.shape[0], abs=1e-7)


@pytest.mark.parametrize("visible, hidden", [("gaussian", "bernoulli"), ("bernoulli", "relu"),
                                             ("bernoulli", "gaussian")])
def test_discriminative_gradient_of_other_unit_types_equals_autograd(visible, hidden):
    from deepbelief.core.units import LabelledUnits
    rbm = RBMModule(6, 3, visible=LabelledUnits(visible, 4, 2), hidden=hidden, dtype=torch.float64)
    rbm.load_state_dict(random_rbm(6, 3, seed=8, scale=0.5).state_dict())
    x, y = labelled_batch(seed=9)
    x = x + 0.3 * torch.randn(x.shape, generator=torch.Generator().manual_seed(1), dtype=x.dtype)
    module = RBMModule(6, 3, visible=LabelledUnits(visible, 4, 2), hidden=hidden, dtype=torch.float64)
    for p in module.parameters():
        p.requires_grad_()
    module.load_state_dict(rbm.state_dict())
    (y * torch.log_softmax(-module.label_free_energies(x), 1)).sum().backward()
    grads = rbm.discriminative_statistics(x, y)[:3]
    for got, param in zip(grads, (module.weight, module.visible_bias, module.hidden_bias)):
        torch.testing.assert_close(got, param.grad / x.shape[0], rtol=1e-9, atol=1e-12)


def test_unlabelled_rows_add_nothing_to_the_discriminative_gradient_but_count_in_the_mean():
    rbm = labelled_rbm()
    x, y = labelled_batch(unlabelled=(1, 4))
    keep = [0, 2, 3, 5, 6]
    full = rbm.discriminative_statistics(x, y)
    part = rbm.discriminative_statistics(x[keep], y[keep])
    for a, b in zip(full[:3], part[:3]):
        torch.testing.assert_close(a, b * 5 / 7, rtol=1e-12, atol=1e-14)
    assert full[3].item() == pytest.approx(part[3].item(), rel=1e-12)
    torch.testing.assert_close(full[4], part[4], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("persistent", [False, True])
def test_weighted_cd_statistics_with_unit_weights_are_cd_statistics(persistent):
    rbm = random_rbm(6, 4)
    g = torch.Generator().manual_seed(1)
    v0 = (torch.rand(5, 6, generator=g, dtype=torch.float64) < 0.5).double()
    chain = (torch.rand(3, 6, generator=g, dtype=torch.float64) < 0.5).double() if persistent else None
    plain = rbm.cd_statistics(v0, 2, torch.Generator().manual_seed(2), chain)
    ones = rbm.weighted_cd_statistics(v0, torch.ones(5, dtype=torch.float64), 2, torch.Generator().manual_seed(2),
                                      chain)
    twice = rbm.weighted_cd_statistics(v0, torch.full((5,), 2.0, dtype=torch.float64), 2,
                                       torch.Generator().manual_seed(2), chain)
    for name in ("grad_weight", "grad_visible_bias", "grad_hidden_bias"):
        torch.testing.assert_close(getattr(ones, name), getattr(plain, name), rtol=1e-12, atol=1e-14)
        torch.testing.assert_close(getattr(twice, name), 2 * getattr(plain, name), rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(ones.chain, plain.chain, rtol=0, atol=0)


def test_weighted_cd_statistics_drop_rows_of_weight_zero():
    rbm = random_rbm(6, 4)
    v0 = (torch.rand(6, 6, generator=torch.Generator().manual_seed(1), dtype=torch.float64) < 0.5).double()
    weights = torch.tensor([1.0, 0.0, 1.0, 0.0, 1.0, 1.0], dtype=torch.float64)
    stats = rbm.weighted_cd_statistics(v0, weights, 1, torch.Generator().manual_seed(2))
    # CD-1 with these draws, by hand: the positive and negative statistics of the rows of weight one
    g = torch.Generator().manual_seed(2)
    ph0, h0 = rbm.sample_h_given_v(v0, g)
    _, v1 = rbm.sample_v_given_h(h0, g)
    ph1 = rbm.prob_h_given_v(v1)
    keep = weights.bool()
    expected = (ph0[keep].t() @ v0[keep] - ph1[keep].t() @ v1[keep]) / 6
    torch.testing.assert_close(stats.grad_weight, expected, rtol=1e-12, atol=1e-14)
