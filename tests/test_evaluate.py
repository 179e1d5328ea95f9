import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from deepbelief import DBM, DBN, RBM
from deepbelief.evaluate import ais, dbn_lower_bound, log_likelihood, log_partition, reconstruction_error

from tests.helpers import all_binary


def random_estimator(n_visible, n_hidden, visible="bernoulli", scale=1.0, seed=0):
    rng = np.random.default_rng(seed)
    return RBM.from_weights(rng.normal(0, scale, (n_visible, n_hidden)), rng.normal(0, scale, n_visible),
                            rng.normal(0, scale, n_hidden), visible=visible)


FAST_BETAS = np.linspace(0, 1, 3001)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ais_agrees_with_enumeration_for_random_bernoulli_rbms(seed):
    rbm = random_estimator(12, 8, seed=seed)
    exact = log_partition(rbm)
    estimate = ais(rbm, n_runs=200, betas=FAST_BETAS, random_state=seed)
    assert abs(estimate.log_z - exact) < 0.1
    assert estimate.lower <= exact <= estimate.upper


def test_ais_interval_is_three_standard_errors_of_the_mean_weight():
    # Salakhutdinov & Murray's RBM_AIS.m: logstd = log(std(w) / sqrt(runs)); bounds log(mean(w) -+ 3 logstd).
    estimate = ais(random_estimator(10, 6, seed=4), n_runs=50, betas=FAST_BETAS[::10], random_state=0)
    w = np.exp(estimate.log_weights.astype(np.float64) + estimate.log_z_base)
    error = w.std(ddof=1) / np.sqrt(len(w))
    np.testing.assert_allclose([estimate.log_z, estimate.lower, estimate.upper],
                               np.log([w.mean(), w.mean() - 3 * error, w.mean() + 3 * error]), rtol=1e-10)
    spread = np.log([w.mean() - 3 * w.std(ddof=1), w.mean() + 3 * w.std(ddof=1)])  # the weights' own spread
    assert estimate.upper - estimate.lower < (spread[1] - spread[0]) / 5  # sqrt(50) = 7 times narrower


def test_ais_agrees_with_enumeration_for_a_gaussian_visible_rbm():
    rbm = random_estimator(6, 8, visible="gaussian", scale=0.3, seed=3)
    exact = log_partition(rbm)  # the hidden layer enumerated, the Gaussian integral in closed form
    estimate = ais(rbm, n_runs=200, betas=FAST_BETAS, random_state=0)
    assert abs(estimate.log_z - exact) < 0.1 and estimate.lower <= exact <= estimate.upper


@pytest.mark.slow
def test_ais_on_a_trained_rbm_with_the_data_base_rate():
    X = (load_digits().data / 16 > 0.5).astype(np.float32)
    rbm = RBM(n_components=12, n_iter=5, random_state=0).fit(X)
    exact = log_partition(rbm)
    estimate = ais(rbm, n_runs=100, betas=FAST_BETAS, data=X, random_state=0)
    assert abs(estimate.log_z - exact) < 0.1
    np.testing.assert_allclose(log_likelihood(rbm, X, estimate.log_z), log_likelihood(rbm, X), atol=0.1)


def test_more_temperatures_lower_the_variance():
    rbm = random_estimator(12, 8, seed=4)
    few = ais(rbm, n_runs=200, betas=np.linspace(0, 1, 30), random_state=0)
    many = ais(rbm, n_runs=200, betas=np.linspace(0, 1, 1000), random_state=0)
    assert many.log_weights.std() < 0.5 * few.log_weights.std()


def test_exact_log_likelihood_normalises():
    rbm = random_estimator(6, 5, seed=5)
    assert np.exp(log_likelihood(rbm, all_binary(6))).sum() == pytest.approx(1.0, abs=1e-5)


def test_dbn_bound_is_below_the_exact_log_likelihood():
    X = (load_digits().data[:, ::8] / 16 > 0.3).astype(np.float32)  # 8 binary features
    dbn = DBN(hidden_layer_sizes=(5, 4), n_iter=10, random_state=0).fit(X)
    bottom, top = dbn.rbms_
    W, b = bottom.components_.astype(np.float64), bottom.intercept_visible_.astype(np.float64)
    H = all_binary(5)
    log_p_top = log_likelihood(top, H)  # p(h1) of the top RBM, exact
    pre = H @ W + b  # p(v | h1) through the directed layer (RBM 0's visible conditional)
    v = X[:20].astype(np.float64)
    log_p_v_h = v @ pre.T - np.logaddexp(0, pre).sum(1)  # (rows, 2^5)
    exact = np.logaddexp.reduce(log_p_v_h + log_p_top, axis=1)
    bound = dbn_lower_bound(dbn, X[:20], n_samples=3000, random_state=0)
    assert np.all(bound <= exact + 0.02) and np.all(bound > exact - 3)
    single = DBN.from_rbms([top])  # one layer: the bound is the log-likelihood itself
    np.testing.assert_allclose(dbn_lower_bound(single, H, n_samples=1), log_likelihood(top, H), atol=1e-6)


def test_errors_and_monitors():
    rbm = random_estimator(6, 4)
    with pytest.raises(ValueError, match="method must be"):
        log_partition(rbm, method="magic")
    with pytest.raises(TypeError, match="expected a fitted deepbelief RBM"):
        log_partition(DBN())
    with pytest.raises(ValueError, match="n_runs must be"):
        ais(rbm, n_runs=1)
    with pytest.raises(ValueError, match="betas must increase"):
        ais(rbm, betas=[0, 0.5, 0.4, 1])
    gaussian = RBM(n_components=3, hidden="gaussian", n_iter=1, random_state=0).fit(all_binary(4))
    with pytest.raises(ValueError, match="not gaussian .a Gaussian layer has no base distribution"):
        ais(gaussian)
    with pytest.raises(ValueError, match="at most 2\\^24"):
        log_partition(RBM(n_components=30, n_iter=1).fit(np.zeros((2, 30))))
    assert reconstruction_error(rbm, all_binary(6)).shape == (64,)
    assert torch.is_tensor(torch.as_tensor(ais(rbm, n_runs=4, betas=[0, 1], random_state=0).log_weights))


@pytest.mark.parametrize("seed", range(3))
def test_likelihood_bounds_bracket_the_exact_mean_log_likelihood_of_the_training_data(seed):
    from deepbelief.evaluate import likelihood_bounds
    X = (load_digits().data[:400, ::4] > 7).astype(np.float64)  # 16 binary pixels
    rbm = RBM(n_components=8, n_iter=20, learning_rate=0.1, random_state=seed).fit(X)
    exact = log_likelihood(rbm, X).mean()
    bounds = likelihood_bounds(rbm, X, ais_runs=100, raise_runs=5, betas=np.linspace(0, 1, 300), data=X,
                               random_state=seed)
    assert bounds.lower <= exact <= bounds.upper
    assert bounds.lower <= bounds.raise_mean and bounds.estimate <= bounds.upper and bounds.upper - bounds.lower < 0.5
    assert bounds.raise_rows.shape == (400,)


def test_likelihood_bounds_narrow_as_temperatures_are_added():
    from deepbelief.evaluate import likelihood_bounds
    X = (load_digits().data[:300, ::4] > 7).astype(np.float64)
    rbm = RBM(n_components=8, n_iter=20, learning_rate=0.1, random_state=0).fit(X)
    widths = [(b.upper - b.lower) for b in (likelihood_bounds(rbm, X, ais_runs=50, raise_runs=2,
                                                              betas=np.linspace(0, 1, n), random_state=0)
                                            for n in (10, 100, 1000))]
    assert widths[0] > widths[1] > widths[2]


def test_raise_of_label_and_gaussian_rbms_in_the_data_units():
    from deepbelief.evaluate import raise_log_likelihood
    X = load_digits().data[:200, 26:34] / 16  # 8 central pixels
    y = load_digits().target[:200] % 3
    labelled = RBM(n_components=4, n_labels=3, n_iter=5, random_state=0).fit(X > 0.4, y)
    exact = log_likelihood(labelled, X > 0.4)
    raised = raise_log_likelihood(labelled, X > 0.4, n_runs=10, betas=np.linspace(0, 1, 1000), random_state=0)
    assert abs((raised - exact).mean()) < 0.01 and np.abs(raised - exact).mean() < 0.06
    gaussian = RBM(n_components=3, visible="gaussian", n_iter=5, random_state=0).fit(X * 4 + 1)
    exact = log_likelihood(gaussian, X * 4 + 1)  # includes the standardisation's log-Jacobian
    raised = raise_log_likelihood(gaussian, X * 4 + 1, n_runs=10, betas=np.linspace(0, 1, 1000), random_state=0)
    assert abs((raised - exact).mean()) < 0.01 and np.abs(raised - exact).mean() < 0.06
    with pytest.raises(ValueError, match="n_runs must be an integer >= 1"):
        raise_log_likelihood(gaussian, X, n_runs=0)
    dbm = DBM((3, 2), n_iter=1, max_iter=1, n_particles=4, random_state=0).fit(X > 0.4)
    with pytest.raises(TypeError, match="RAISE starts from each row's unnormalised probability"):
        raise_log_likelihood(dbm, X > 0.4)
