"""The DBM's math against brute-force enumeration written here in NumPy (every state of every layer)."""
import itertools

import numpy as np
import pytest
import torch

from deepbelief.core.dbm import DBMModule, ScaledRBMModule, compose, pretraining_scales
from deepbelief.core.estimate import (dbm_ais_log_weights, dbm_log_partition_exact, dbm_log_unnormalized_exact,
                                      default_betas)
from deepbelief.core.rbm import RBMModule
from deepbelief.training import DBMConfig, DBMTrainer

from tests.helpers import all_binary


def random_dbm(sizes, visible="bernoulli", scale=1.0, seed=0, n_labels=None):
    g = torch.Generator().manual_seed(seed)
    dbm = DBMModule(sizes, visible=visible, dtype=torch.float64, n_labels=n_labels)
    with torch.no_grad():
        for p in (*dbm.weights, *dbm.biases):
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64) * scale)
    return dbm


def numpy_layers(dbm):
    return [w.numpy().T for w in dbm.weights], [b.numpy() for b in dbm.biases]


def brute_force(dbm):
    """(every state of every layer as a list of arrays, -E of each joint state), Bernoulli visible; a label
    layer takes its one-hot states."""
    W, b = numpy_layers(dbm)
    grids = [all_binary(n) for n in dbm.sizes]
    if dbm.n_labels is not None:
        grids[-1] = np.eye(dbm.n_labels)
    index = np.array(list(itertools.product(*[range(len(g)) for g in grids])))
    states = [grids[l][index[:, l]] for l in range(len(grids))]
    neg = sum(s @ bias for s, bias in zip(states, b))
    neg = neg + sum(((states[l] @ W[l]) * states[l + 1]).sum(1) for l in range(len(W)))
    return states, neg


def logsumexp(x, axis=None):
    m = np.max(x, axis=axis, keepdims=True)
    return np.squeeze(m + np.log(np.exp(x - m).sum(axis=axis, keepdims=True)), axis=axis)


# label DBMs: K softmax label units above the top hidden layer; the label layer odd, even, even in the chain
LABELLED = [((4, 3, 2), 3), ((3, 2), 3), ((3, 2, 2, 2), 2)]


@pytest.mark.parametrize("sizes, n_labels, seed", [((5, 4, 3), None, 1), ((4, 3, 3, 2), None, 1), ((3, 2), None, 1),
                                                   *((sizes, k, 11) for sizes, k in LABELLED)])
def test_exact_log_partition_and_unnormalized_marginal_match_brute_force(sizes, n_labels, seed):
    dbm = random_dbm(sizes, seed=seed, n_labels=n_labels)
    assert dbm.n_hidden_layers == len(sizes) - 1 and dbm.label_layer == (len(sizes) if n_labels else None)
    states, neg = brute_force(dbm)
    np.testing.assert_allclose(float(dbm_log_partition_exact(dbm)), logsumexp(neg), rtol=1e-12)
    V = all_binary(sizes[0])
    expected = [logsumexp(neg[(states[0] == v).all(1)]) for v in V]  # a label summed out
    np.testing.assert_allclose(dbm_log_unnormalized_exact(dbm, torch.tensor(V)).numpy(), expected, rtol=1e-12)


def test_exact_log_partition_integrates_gaussian_visible_units():
    dbm = random_dbm((3, 4, 2), visible="gaussian", scale=0.5, seed=2)
    W, b = numpy_layers(dbm)
    total = []
    for h1 in all_binary(4):
        for h2 in all_binary(2):
            m = b[0] + W[0] @ h1  # integral of exp(-0.5 |v - b0|^2 + v.W1'h1) over v, completed square
            v_part = 0.5 * (m @ m - b[0] @ b[0]) + 1.5 * np.log(2 * np.pi)
            total.append(v_part + h1 @ b[1] + h2 @ b[2] + h1 @ W[1] @ h2)
    np.testing.assert_allclose(float(dbm_log_partition_exact(dbm)), logsumexp(np.array(total)), rtol=1e-12)


def test_exact_estimates_refuse_large_models():
    with pytest.raises(ValueError, match="2\\^30 states.*AIS"):
        dbm_log_partition_exact(DBMModule((10, 30, 5)))


@pytest.mark.parametrize("sizes, visible, n_labels, seed", [
    ((5, 4, 3), "bernoulli", None, 3), ((4, 3, 3, 2), "bernoulli", None, 3), ((4, 3, 2), "gaussian", None, 3),
    ((5, 4, 3), "bernoulli", 3, 12), ((4, 3), "bernoulli", 4, 12)])
def test_ais_is_within_a_tenth_of_a_nat_of_the_exact_log_partition(sizes, visible, n_labels, seed):
    dbm = random_dbm(sizes, visible=visible, scale=0.7, seed=seed, n_labels=n_labels)
    base = torch.zeros(sizes[0], dtype=torch.float64)
    log_w, log_z_base = dbm_ais_log_weights(dbm, 400, torch.linspace(0, 1, 2001, dtype=torch.float64), base,
                                            torch.Generator().manual_seed(0))
    estimate = log_z_base + float(torch.logsumexp(log_w, 0)) - np.log(len(log_w))
    assert abs(estimate - float(dbm_log_partition_exact(dbm))) < 0.1


def test_ais_schedule_must_run_from_zero_to_one():
    with pytest.raises(ValueError, match="betas"):
        dbm_ais_log_weights(random_dbm((3, 2, 2)), 2, [0.0, 0.5], torch.zeros(3, dtype=torch.float64),
                            torch.Generator())
    assert default_betas()[-1] == 1.0


def test_mean_field_bound_lies_below_the_exact_marginal_and_never_decreases():
    dbm = random_dbm((5, 4, 3), scale=1.5, seed=4)
    v = torch.tensor(all_binary(5))
    exact = dbm_log_unnormalized_exact(dbm, v)
    mu, previous = None, None
    for _ in range(20):
        mu = dbm.mean_field(v, 1, mu=mu)
        bound = dbm.mean_field_bound(mu)
        assert (bound <= exact + 1e-10).all()
        if previous is not None:
            assert (bound >= previous - 1e-10).all()
        previous = bound
    assert (exact - bound).max() > 1e-3  # the coupled posterior does not factorise: the bound is not tight


def test_mean_field_bound_is_exact_where_the_posterior_factorises():
    one_layer = random_dbm((5, 3), seed=5)  # an RBM: P(h | v) is factorial
    decoupled = random_dbm((5, 4, 3), seed=5)
    with torch.no_grad():
        decoupled.weights[1].zero_()  # h^2 independent of h^1
    v = torch.tensor(all_binary(5))
    for dbm in (one_layer, decoupled):
        mu = dbm.mean_field(v, 5)
        np.testing.assert_allclose(dbm.mean_field_bound(mu).numpy(), dbm_log_unnormalized_exact(dbm, v).numpy(),
                                   rtol=1e-10)


def test_mean_field_converges_to_a_fixed_point_of_its_equations():
    dbm = random_dbm((6, 5, 4, 3), seed=6)
    v = torch.tensor(all_binary(6)[::7])
    mu = dbm.mean_field(v, 200)
    for layer in range(1, 4):
        np.testing.assert_allclose(mu[layer].numpy(), torch.sigmoid(dbm.pre(layer, mu)).numpy(), atol=1e-9)
    damped = dbm.mean_field(v, 400, damping=0.5)
    np.testing.assert_allclose(damped[3].numpy(), mu[3].numpy(), atol=1e-7)


def test_gibbs_samples_follow_the_exact_distribution():
    dbm = random_dbm((4, 3, 2), seed=7)
    states, neg = brute_force(dbm)
    V = all_binary(4)
    exact = np.array([np.exp(logsumexp(neg[(states[0] == v).all(1)]) - logsumexp(neg)) for v in V])
    g = torch.Generator().manual_seed(0)
    chains = [torch.zeros(4000, n, dtype=torch.float64) for n in dbm.sizes]
    chains, _ = dbm.gibbs(chains, 50, g)
    counts = np.zeros(len(V))
    for _ in range(10):
        chains, _ = dbm.gibbs(chains, 5, g)
        codes = (chains[0].numpy() @ (2 ** np.arange(3, -1, -1))).astype(int)
        counts += np.bincount(codes, minlength=len(V))
    assert 0.5 * np.abs(counts / counts.sum() - exact).sum() < 0.03


def test_persistent_chain_statistics_match_the_exact_model_expectations():
    dbm = random_dbm((4, 3, 2), scale=0.8, seed=8)
    states, neg = brute_force(dbm)
    p = np.exp(neg - logsumexp(neg))
    exact_w = [np.einsum("s,si,sj->ij", p, states[l + 1], states[l]) for l in range(2)]
    exact_b = [p @ s for s in states]
    trainer = DBMTrainer(dbm, DBMConfig(n_particles=20000, n_gibbs=30), torch.Generator().manual_seed(1))
    v0 = torch.zeros(1, 4, dtype=torch.float64)
    grads, means, _ = trainer.statistics(v0)
    mu = dbm.mean_field(v0, trainer.config.n_mean_field)
    for l in range(2):  # model statistic = data statistic - gradient
        model = (mu[l + 1].t() @ mu[l]).numpy() - grads[l].numpy()
        np.testing.assert_allclose(model, exact_w[l], atol=0.015)
    for l in range(3):
        np.testing.assert_allclose(means[l].numpy() - grads[2 + l].numpy(), exact_b[l], atol=0.015)


def test_centred_step_is_a_gradient_step_in_the_centred_parameters():
    dbm = random_dbm((4, 3, 2), seed=9)
    trainer = DBMTrainer(dbm, DBMConfig(centering=True), torch.Generator().manual_seed(2))
    g = torch.Generator().manual_seed(3)
    grads = [torch.randn(p.shape, generator=g, dtype=torch.float64) for p in trainer.params]
    o = [torch.rand(n, generator=g, dtype=torch.float64) for n in dbm.sizes]
    trainer.offsets = [x.clone() for x in o]
    W, b = [w.clone() for w in dbm.weights], [x.clone() for x in dbm.biases]
    gw, gb = grads[:2], grads[2:]

    def centred_biases(W, b):  # b'_l = b_l + W_l o_(l-1) + W_(l+1)' o_(l+1)
        return [b[0] + W[0].t() @ o[1], b[1] + W[0] @ o[0] + W[1].t() @ o[2], b[2] + W[1] @ o[1]]

    # the centred gradients: statistics of (h_l - o_l), written with the ordinary ones
    gw_c = [gw[l] - torch.outer(gb[l + 1], o[l]) - torch.outer(o[l + 1], gb[l]) for l in range(2)]
    W_new = [W[l] + gw_c[l] for l in range(2)]
    b_new_c = [c + g_ for c, g_ in zip(centred_biases(W, b), gb)]
    b_new = [b_new_c[0] - W_new[0].t() @ o[1], b_new_c[1] - W_new[0] @ o[0] - W_new[1].t() @ o[2],
             b_new_c[2] - W_new[1] @ o[1]]
    stepped = [x.clone() for x in grads]
    trainer.center(stepped, [x.clone() for x in o])
    for l in range(2):
        np.testing.assert_allclose((W[l] + stepped[l]).numpy(), W_new[l].numpy(), rtol=1e-12)
    for l in range(3):
        np.testing.assert_allclose((b[l] + stepped[2 + l]).numpy(), b_new[l].numpy(), rtol=1e-12)


def test_scaled_rbm_doubles_its_inputs_and_compose_follows_the_paper():
    rbm = ScaledRBMModule(3, 2, up=2.0, down=1.0, dtype=torch.float64)
    plain = RBMModule(3, 2, dtype=torch.float64)
    with torch.no_grad():
        for p, q in zip(rbm.cd_parameters(), plain.cd_parameters()):
            p.copy_(torch.randn(p.shape, dtype=torch.float64))
            q.copy_(p)
    v, h = torch.rand(4, 3, dtype=torch.float64), torch.rand(4, 2, dtype=torch.float64)
    np.testing.assert_allclose((rbm.pre_h(v) - rbm.hidden_bias).numpy(), 2 * (plain.pre_h(v) - plain.hidden_bias).numpy())
    np.testing.assert_allclose(rbm.pre_v(h).numpy(), plain.pre_v(h).numpy())
    assert pretraining_scales(3) == [(2.0, 1.0, 1.0), (1.0, 1.0, 0.5), (1.0, 2.0, 1.0)]
    rbms = [RBMModule(4, 3, dtype=torch.float64), RBMModule(3, 3, dtype=torch.float64),
            RBMModule(3, 2, dtype=torch.float64)]
    with torch.no_grad():
        for r in rbms:
            for p in r.cd_parameters():
                p.copy_(torch.randn(p.shape, dtype=torch.float64))
    dbm = DBMModule((4, 3, 3, 2), dtype=torch.float64)
    compose(rbms, dbm)
    np.testing.assert_array_equal(dbm.weights[1].numpy(), 0.5 * rbms[1].weight.numpy())
    np.testing.assert_array_equal(dbm.weights[2].numpy(), rbms[2].weight.numpy())
    np.testing.assert_allclose(dbm.biases[2].numpy(), 0.5 * (rbms[1].hidden_bias + rbms[2].visible_bias).numpy())
    np.testing.assert_array_equal(dbm.biases[0].numpy(), rbms[0].visible_bias.numpy())


def test_dbm_refuses_unsupported_layers():
    with pytest.raises(ValueError, match="visible and at least one hidden"):
        DBMModule((5,))
    with pytest.raises(ValueError, match="Bernoulli or Gaussian visible"):
        DBMModule((5, 3), visible="relu")


@pytest.mark.slow
def test_ais_at_mnist_width_matches_an_exact_decoupled_dbm():
    """784 visible units: with W_2 = 0 the DBM is an RBM (exact by enumerating its 12 hidden units) beside free
    units, log Z = log Z_RBM + sum softplus(b_2), which AIS over the even layers must find."""
    from deepbelief.core.estimate import log_partition_exact

    g = torch.Generator().manual_seed(0)
    dbm = DBMModule((784, 12, 30), dtype=torch.float64)
    rbm = RBMModule(784, 12, dtype=torch.float64)
    with torch.no_grad():
        dbm.weights[0].copy_(torch.randn(12, 784, generator=g, dtype=torch.float64) * 0.1)
        for b in dbm.biases:
            b.copy_(torch.randn(b.shape, generator=g, dtype=torch.float64) * 0.5)
        rbm.weight.copy_(dbm.weights[0])
        rbm.visible_bias.copy_(dbm.biases[0])
        rbm.hidden_bias.copy_(dbm.biases[1])
    exact = float(log_partition_exact(rbm)) + float(torch.nn.functional.softplus(dbm.biases[2]).sum())
    log_w, log_z_base = dbm_ais_log_weights(dbm, 50, torch.linspace(0, 1, 1500, dtype=torch.float64),
                                            torch.zeros(784, dtype=torch.float64), torch.Generator().manual_seed(1))
    assert abs(log_z_base + float(torch.logsumexp(log_w, 0)) - np.log(50) - exact) < 0.1


# label DBMs ---------------------------------------------------------------------------------------------------------


def exact_joint(dbm):
    """{(v, y) codes: P(v, y)} by brute force: P over every visible state (rows) and label (columns)."""
    states, neg = brute_force(dbm)
    p = np.exp(neg - logsumexp(neg))
    v_code = (states[0] @ (2 ** np.arange(dbm.sizes[0])[::-1])).astype(int)
    joint = np.zeros((2 ** dbm.sizes[0], dbm.n_labels))
    np.add.at(joint, (v_code, states[-1].argmax(1)), p)
    return joint


def test_label_dbm_mean_field_bounds_with_the_label_clamped_and_inferred():
    V = torch.tensor(all_binary(4))
    for sizes in ((4, 3), (4, 3, 2)):
        dbm = random_dbm(sizes, scale=1.5, seed=13, n_labels=3)
        states, neg = brute_force(dbm)
        for y in range(3):  # log p*(v, y) by brute force against the bound with y clamped
            exact = np.array([logsumexp(neg[(states[0] == v).all(1) & (states[-1][:, y] == 1)]) for v in V.numpy()])
            labels = torch.nn.functional.one_hot(torch.full((len(V),), y), 3).double()
            mu = dbm.mean_field(V, 30, labels=labels)
            np.testing.assert_array_equal(mu[-1].numpy(), labels.numpy())
            bound = dbm.mean_field_bound(mu).numpy()
            if len(sizes) == 2:  # one hidden layer: P(h | v, y) factorises, the bound is exact
                np.testing.assert_allclose(bound, exact, rtol=1e-10)
            else:
                assert (bound <= exact + 1e-10).all() and (exact - bound).max() > 1e-3
        free = dbm.mean_field(V, 30)  # the label inferred: a categorical factor, a bound on log p*(v)
        np.testing.assert_allclose(free[-1].sum(1).numpy(), 1.0, rtol=1e-12)
        assert (dbm.mean_field_bound(free) <= dbm_log_unnormalized_exact(dbm, V) + 1e-10).all()
        unknown = torch.zeros(len(V), 3, dtype=torch.float64)  # all-zero rows: unknown labels, as free
        np.testing.assert_allclose(dbm.mean_field(V, 30, labels=unknown)[-1].numpy(), free[-1].numpy(), rtol=1e-12)


def test_label_dbm_gibbs_samples_follow_the_exact_joint_and_the_clamped_conditional():
    dbm = random_dbm((4, 3, 2), seed=14, n_labels=3)
    joint = exact_joint(dbm)
    g = torch.Generator().manual_seed(0)

    def histogram(labels=None):
        chains = dbm.start_chains(4000, g)
        chains, _ = dbm.gibbs(chains, 50, g, labels=labels)
        counts = np.zeros_like(joint)
        for _ in range(10):
            chains, _ = dbm.gibbs(chains, 5, g, labels=labels)
            codes = (chains[0].numpy() @ (2 ** np.arange(3, -1, -1))).astype(int)
            np.add.at(counts, (codes, chains[-1].numpy().argmax(1)), 1)
        return counts / counts.sum()

    assert 0.5 * np.abs(histogram() - joint).sum() < 0.03
    clamped = torch.zeros(4000, 3, dtype=torch.float64)
    clamped[:, 2] = 1
    sampled = histogram(clamped)
    assert sampled[:, 2].sum() == 1.0
    assert 0.5 * np.abs(sampled[:, 2] - joint[:, 2] / joint[:, 2].sum()).sum() < 0.03


def test_label_dbm_persistent_chain_statistics_match_the_exact_model_expectations():
    dbm = random_dbm((4, 3, 2), scale=0.8, seed=15, n_labels=3)
    states, neg = brute_force(dbm)
    p = np.exp(neg - logsumexp(neg))
    trainer = DBMTrainer(dbm, DBMConfig(n_particles=20000, n_gibbs=30), torch.Generator().manual_seed(1))
    rows = torch.tensor([[1.0, 0, 1, 0, 0, 1, 0]], dtype=torch.float64)  # v, then the one-hot label
    grads, means, _ = trainer.statistics(rows)
    mu = dbm.mean_field(rows[:, :4], trainer.config.n_mean_field, labels=rows[:, 4:])
    np.testing.assert_array_equal(means[-1].numpy(), [0, 1, 0])  # the data side clamps the label
    for l in range(3):  # the label weights U are weights[2]; model statistic = data statistic - gradient
        model = (mu[l + 1].t() @ mu[l]).numpy() - grads[l].numpy()
        np.testing.assert_allclose(model, np.einsum("s,si,sj->ij", p, states[l + 1], states[l]), atol=0.015)
    for l in range(4):
        np.testing.assert_allclose(means[l].numpy() - grads[3 + l].numpy(), p @ states[l], atol=0.015)


def test_softmax_units_sample_one_hot_rows_at_their_probabilities_on_every_rank():
    from deepbelief.core.units import RankDraws, SoftmaxUnits
    units = SoftmaxUnits()
    pre = torch.tensor([[0.0, 1.0, -1.0, 2.0]], dtype=torch.float64).expand(40000, -1)
    draws = units.sample(pre, units.mean(pre), torch.Generator().manual_seed(0))
    assert (draws.sum(1) == 1).all()
    np.testing.assert_allclose(draws.mean(0).numpy(), units.mean(pre[0]).numpy(), atol=0.01)
    one = units.sample(pre[:8], units.mean(pre[:8]), torch.Generator().manual_seed(1))
    ranks = [units.sample(pre[:4], units.mean(pre[:4]), RankDraws(torch.Generator().manual_seed(1), r, 2))
             for r in range(2)]
    np.testing.assert_array_equal(torch.cat(ranks).numpy(), one.numpy())
    np.testing.assert_allclose(float(units.log_marginal(pre[0], None)), float(torch.logsumexp(pre[0], 0)))


def test_scaled_label_rbm_doubles_the_data_units_only_and_compose_places_the_label_weights():
    from deepbelief.core.units import LabelledUnits
    g = torch.Generator().manual_seed(16)
    top = ScaledRBMModule(5, 2, visible=LabelledUnits("bernoulli", 3, 2), up=1.0, down=2.0, dtype=torch.float64)
    bottom = ScaledRBMModule(4, 3, up=2.0, dtype=torch.float64)
    for r in (top, bottom):
        with torch.no_grad():
            for p in r.cd_parameters():
                p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64))
    h = torch.rand(6, 2, generator=g, dtype=torch.float64)
    top_down = (h @ top.weight).numpy()
    expected = top.visible_bias.numpy() + np.concatenate([2 * top_down[:, :3], top_down[:, 3:]], 1)
    np.testing.assert_allclose(top.pre_v(h).numpy(), expected, rtol=1e-12)
    dbm = DBMModule((4, 3, 2), dtype=torch.float64, n_labels=2)
    compose([bottom, top], dbm)
    np.testing.assert_array_equal(dbm.weights[1].numpy(), top.weight[:, :3].numpy())
    np.testing.assert_array_equal(dbm.weights[2].numpy(), top.weight[:, 3:].t().numpy())  # U: (labels, top units)
    np.testing.assert_array_equal(dbm.biases[3].numpy(), top.visible_bias[3:].numpy())
    np.testing.assert_allclose(dbm.biases[1].numpy(), 0.5 * (bottom.hidden_bias + top.visible_bias[:3]).numpy())
    with pytest.raises(ValueError, match="n_labels >= 2"):
        DBMModule((4, 3), n_labels=1)
