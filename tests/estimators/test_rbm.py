import pickle

import numpy as np
import pytest
import torch
from sklearn.datasets import load_wine
from sklearn.exceptions import NotFittedError

from deepbelief import RBM, OutOfRangeWarning, TrainingDivergedError

from tests.helpers import B1, V_EXAMPLE, W1


def example_rbm(**params):
    return RBM.from_weights(W1, np.zeros(4), B1, **params)


def test_seed_example_through_the_public_api():
    rbm = example_rbm()
    np.testing.assert_allclose(rbm.transform(V_EXAMPLE), [[0.622, 0.622, 0.711]], atol=5e-4)
    np.testing.assert_allclose(rbm.inverse_transform([[1, 1, 0]]), [[0.550, 0.646, 0.622, 0.550]], atol=5e-4)


def test_from_weights_takes_the_textbook_orientation():
    rbm = example_rbm()
    np.testing.assert_allclose(rbm.components_, W1.T, rtol=1e-6)
    np.testing.assert_allclose(rbm.intercept_hidden_, B1, rtol=1e-6)
    np.testing.assert_allclose(rbm.intercept_visible_, np.zeros(4))
    assert rbm.n_features_in_ == 4 and rbm.n_components == 3


def test_from_weights_checks_shapes():
    with pytest.raises(ValueError, match=r"visible_bias of shape \(4,\).*hidden_bias of shape \(3,\)"):
        RBM.from_weights(W1, np.zeros(3), B1)


def test_free_energy_of_the_seed_example():
    # F(v) = -a.v - sum_j softplus(b_j + W_j.v), with a = 0 and pre-activations [0.5, 0.5, 0.9]
    expected = -np.logaddexp(0, [0.5, 0.5, 0.9]).sum()
    assert example_rbm().free_energy(V_EXAMPLE)[0] == pytest.approx(expected, rel=1e-6)


def test_same_seed_gives_identical_parameters(digits):
    X, _ = digits
    a = RBM(n_components=16, n_iter=2, random_state=3).fit(X)
    b = RBM(n_components=16, n_iter=2, random_state=3).fit(X)
    c = RBM(n_components=16, n_iter=2, random_state=4).fit(X)
    np.testing.assert_array_equal(a.components_, b.components_)
    np.testing.assert_array_equal(a.intercept_visible_, b.intercept_visible_)
    assert not np.array_equal(a.components_, c.components_)


def test_initialisation_follows_the_practical_guide(digits):
    X, _ = digits
    rbm = RBM(n_components=500, n_iter=0, random_state=0).fit(X)
    assert rbm.components_.std() == pytest.approx(0.01, rel=0.05)
    np.testing.assert_array_equal(rbm.intercept_hidden_, 0.0)
    p = np.clip(X.mean(0), 1e-3, 1 - 1e-3)
    np.testing.assert_allclose(rbm.intercept_visible_, np.log(p / (1 - p)), rtol=1e-5, atol=1e-5)


def test_partial_fit_on_one_batch_equals_one_step_of_fit(digits):
    X, _ = digits
    X = X[:100]
    fitted = RBM(n_components=8, batch_size=100, n_iter=1, shuffle=False, random_state=0).fit(X)
    stepped = RBM(n_components=8, batch_size=100, random_state=0).partial_fit(X)
    np.testing.assert_array_equal(fitted.components_, stepped.components_)
    np.testing.assert_array_equal(fitted.intercept_hidden_, stepped.intercept_hidden_)
    np.testing.assert_array_equal(fitted.intercept_visible_, stepped.intercept_visible_)


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_lr_schedule_sets_the_rate_of_each_epoch(digits, schedule):
    # fit's epochs equal single CD steps taken by hand at the hand-computed rates of the schedule.
    X, _ = digits
    X, r, n = X[:100], 0.1, 4
    rates = [r * (1 - e / n) if schedule == "linear" else r * (1 + np.cos(np.pi * e / n)) / 2 for e in range(n)]
    params = dict(n_components=8, learning_rate=r, batch_size=100, shuffle=False, random_state=0)
    fitted = RBM(lr_schedule=schedule, n_iter=n, **params).fit(X)
    by_hand = RBM(n_iter=0, **params).fit(X)
    data = torch.as_tensor(X)
    for epoch, rate in enumerate(rates):
        by_hand._trainer.step(data, epoch, learning_rate=rate)
    np.testing.assert_array_equal(fitted.components_, by_hand.components_)
    np.testing.assert_array_equal(fitted.intercept_hidden_, by_hand.intercept_hidden_)
    constant = RBM(n_iter=n, **params).fit(X)
    assert not np.array_equal(fitted.components_, constant.components_)


def test_partial_fit_steps_at_the_base_rate_whatever_the_schedule(digits):
    X, _ = digits
    X = X[:100]
    a, b = (RBM(n_components=8, batch_size=100, lr_schedule=s, n_iter=3, random_state=0)
            for s in ("linear", "constant"))
    for rbm in (a, b):
        rbm.partial_fit(X).partial_fit(X)
    np.testing.assert_array_equal(a.components_, b.components_)


def test_partial_fit_continues_training(digits):
    X, _ = digits
    rbm = RBM(n_components=16, batch_size=64, random_state=0)
    for _ in range(10):  # past the plateau that small initial weights give, as fit has too
        for start in range(0, len(X), 64):
            rbm.partial_fit(X[start:start + 64])
    untrained = RBM(n_components=16, n_iter=0, random_state=0).fit(X)
    assert rbm.reconstruction_error(X).mean() < 0.8 * untrained.reconstruction_error(X).mean()
    with pytest.raises(ValueError, match="X has 3 features, but RBM is expecting 64"):
        rbm.partial_fit(X[:5, :3])


def test_reconstruction_error_falls_on_digits(digits):
    X, _ = digits
    rbm = RBM(n_components=64, n_iter=15, random_state=0).fit(X)
    errors = [h["reconstruction_error"] for h in rbm.history_]
    assert len(errors) == 15 and rbm.n_iter_ == 15
    assert errors[-1] < 0.7 * errors[0]
    assert sum(b < a for a, b in zip(errors, errors[1:])) >= 10  # monotone-ish
    untrained = RBM(n_components=64, n_iter=0, random_state=0).fit(X)
    assert rbm.score_samples(X).mean() > untrained.score_samples(X).mean() + 5
    assert rbm.reconstruction_error(X).mean() < untrained.reconstruction_error(X).mean()


def test_gaussian_rbm_reconstructs_standardised_real_data():
    X = load_wine().data  # 13 real-valued features on very different scales
    untrained = RBM(n_components=32, visible="gaussian", n_iter=0, random_state=0).fit(X)
    rbm = RBM(n_components=32, visible="gaussian", n_iter=100, batch_size=16, random_state=0).fit(X)
    np.testing.assert_allclose(rbm.data_mean_, X.mean(0), rtol=1e-6)
    np.testing.assert_allclose(rbm.data_scale_, X.std(0), rtol=1e-6)
    before = ((untrained.reconstruct(X) - X) / X.std(0)) ** 2
    after = ((rbm.reconstruct(X) - X) / X.std(0)) ** 2
    assert after.mean() < 0.6 * before.mean()
    assert rbm.reconstruct(X).mean(0) == pytest.approx(X.mean(0), rel=0.1)  # back in the data's units


def test_gibbs_returns_reproducible_binary_samples(digits):
    X, _ = digits
    rbm = RBM(n_components=16, n_iter=1, random_state=0).fit(X)
    a = rbm.gibbs(X[:20], k=3, random_state=1)
    assert set(np.unique(a)) <= {0.0, 1.0} and a.shape == (20, 64)
    np.testing.assert_array_equal(a, rbm.gibbs(X[:20], k=3, random_state=1))
    r = rbm.reconstruct(X[:20], n_gibbs=2, random_state=1)
    assert r.min() >= 0 and r.max() <= 1


def test_validation_fraction_records_the_free_energy_gap(digits):
    X, _ = digits
    rbm = RBM(n_components=16, n_iter=2, validation_fraction=0.2, random_state=0).fit(X)
    assert set(rbm.history_[0]) == {"reconstruction_error", "free_energy_train", "free_energy_valid",
                                    "free_energy_gap"}


def test_pickle_round_trip_keeps_predictions(digits):
    X, _ = digits
    rbm = RBM(n_components=16, n_iter=1, random_state=0).fit(X)
    again = pickle.loads(pickle.dumps(rbm))
    np.testing.assert_array_equal(rbm.transform(X), again.transform(X))


def test_verbose_shows_a_progress_bar_with_the_monitor(digits, capsys):
    X, _ = digits
    RBM(n_components=8, n_iter=2, verbose=True, random_state=0).fit(X)
    err = capsys.readouterr().err
    assert "RBM" in err and "reconstruction_error" in err and "2/2" in err


def test_divergence_keeps_a_usable_model():
    X = load_wine().data
    rbm = RBM(n_components=8, visible="gaussian", learning_rate=1e3, n_iter=20, random_state=0)
    with pytest.raises(TrainingDivergedError, match="lower the learning rate"):
        rbm.fit(X)
    assert np.isfinite(rbm.components_).all() and np.isfinite(rbm.transform(X)).all()


BAD_INPUTS = [
    (np.array([[0.5, np.nan]]), "NaN"),
    (np.array([[0.5, np.inf]]), "infinity"),
    (np.array([0.5, 0.2]), "(?s)Expected 2D array.*reshape"),
    (np.zeros((0, 2)), "0 sample"),
    (np.array([[0.5, 1.5]]), r"Bernoulli visible units.*\[0, 1\].*\[0.5, 1.5\].*visible='gaussian'"),
    (np.array([["a", "b"]]), "could not convert|numeric"),
]


@pytest.mark.parametrize("X, message", BAD_INPUTS)
def test_bad_input_to_fit_names_the_problem(X, message):
    with pytest.raises(ValueError, match=message):
        RBM(n_components=2, n_iter=1, visible="bernoulli").fit(X)


def test_feature_count_mismatch_after_fit(digits):
    X, _ = digits
    rbm = RBM(n_components=4, n_iter=1).fit(X)
    for method in (rbm.transform, rbm.free_energy, rbm.score_samples, rbm.reconstruct, rbm.gibbs):
        with pytest.raises(ValueError, match="X has 10 features, but RBM is expecting 64 features"):
            method(X[:, :10])


@pytest.mark.parametrize("params, message", [
    ({"n_components": 0}, "'n_components' parameter of RBM must be an int in the range \\[1, inf\\)"),
    ({"learning_rate": -1.0}, "'learning_rate' parameter"),
    ({"batch_size": 0}, "'batch_size' parameter"),
    ({"visible": "poisson"}, "'visible' parameter.*(bernoulli.*gaussian|gaussian.*bernoulli)"),
    ({"device": "tpu"}, "device='tpu'"),
    ({"centering": "yes"}, "'centering' parameter"),
])
def test_bad_parameters_name_the_parameter(digits, params, message):
    X, _ = digits
    with pytest.raises(ValueError, match=message):
        RBM(n_iter=1, **params).fit(X)


def test_unfitted_model_raises_not_fitted():
    with pytest.raises(NotFittedError):
        RBM().transform(np.zeros((1, 2)))


def test_inverse_transform_checks_hidden_values():
    rbm = example_rbm()
    with pytest.raises(ValueError, match="H has 2 columns but the RBM has n_components=3"):
        rbm.inverse_transform([[1, 0]])
    with pytest.raises(ValueError, match=r"values in \[0, 1\]"):
        rbm.inverse_transform([[2, 0, 0]])


def test_cuda_request_without_a_gpu_is_a_clear_error(digits):
    import torch
    if torch.cuda.is_available():
        pytest.skip("a GPU is present; the CPU-only message cannot be triggered")
    with pytest.raises(ValueError, match="CUDA is not available.*device='cpu'"):
        RBM(device="cuda", n_iter=1).fit(digits[0])


def test_relu_visible_units_take_non_negative_data(digits):
    X, _ = digits
    rbm = RBM(n_components=16, visible="relu", hidden="relu", n_iter=3, random_state=0).fit(X * 4)
    assert rbm._cd_config().learning_rate == 0.01
    assert rbm.reconstruct(X * 4).min() >= 0
    with pytest.raises(ValueError, match="rectified linear \\(relu\\) units, which take values >= 0.*minimum of -1"):
        RBM(n_components=4, visible="relu").fit(X * 4 - 1)
    with pytest.warns(OutOfRangeWarning, match="lie outside \\[0, inf\\].*clipped"):
        np.testing.assert_array_equal(rbm.transform(X * 4 - 1), rbm.transform(np.clip(X * 4 - 1, 0, None)))


def test_label_rbm_posterior_matches_enumeration():
    from scipy.special import logsumexp
    from tests.helpers import all_binary
    rng = np.random.default_rng(0)
    W, a, b = rng.normal(size=(6, 4)), rng.normal(size=6), rng.normal(size=4)
    rbm = RBM(n_components=4, n_labels=2, n_iter=0).fit(all_binary(4), [0, 1] * 8)  # builds the shapes
    rbm.module_.weight.copy_(torch.as_tensor(W.T))
    rbm.module_.visible_bias.copy_(torch.as_tensor(a))
    rbm.module_.hidden_bias.copy_(torch.as_tensor(b))
    X = all_binary(4)
    # independent: log sum_h exp(-E([x, y], h)) for each label by enumerating h
    H = all_binary(4)
    log_joint = np.stack([logsumexp((np.c_[X, np.tile(y, (16, 1))] @ a)[:, None] + (H @ b)[None]
                                    + np.c_[X, np.tile(y, (16, 1))] @ W @ H.T, axis=1) for y in np.eye(2)], 1)
    expected = np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))
    np.testing.assert_allclose(rbm.predict_proba(X), expected, rtol=1e-5)
    np.testing.assert_allclose(rbm.free_energy(X), -logsumexp(log_joint, axis=1), rtol=1e-5)
    # transform is E[h | x] with the label summed out
    ph = 1 / (1 + np.exp(-(b + np.c_[X, np.zeros((16, 2))] @ W)[:, None, :] - W[4:][None]))  # (16, 2, 4)
    np.testing.assert_allclose(rbm.transform(X), (expected[..., None] * ph).sum(1), rtol=1e-5)


def test_label_rbm_is_a_generative_classifier(digits):
    X, y = digits
    names = np.array(list("abcdefghij"))[y]
    rbm = RBM(n_components=100, n_labels=10, n_iter=30, random_state=0).fit(X[:1400], names[:1400])
    assert list(rbm.classes_) == list("abcdefghij")
    assert (rbm.predict(X[1400:]) == names[1400:]).mean() > 0.85
    assert rbm.components_.shape == (100, 64) and rbm.label_components_.shape == (100, 10)
    np.testing.assert_allclose(rbm.predict_proba(X[:5]).sum(1), 1.0, rtol=1e-6)


def test_label_rbm_errors(digits):
    X, y = digits
    with pytest.raises(ValueError, match="n_labels=10 needs labels: call fit\\(X, y\\)"):
        RBM(n_labels=10, n_iter=1).fit(X)
    with pytest.raises(ValueError, match="n_labels=3 but the labelled rows of y have 10 classes"):
        RBM(n_labels=3, n_iter=1).fit(X, y)
    with pytest.raises(ValueError, match="partial_fit does not take labels"):
        RBM(n_labels=10).partial_fit(X)
