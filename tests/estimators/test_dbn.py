import numpy as np
import pytest
import torch
from sklearn.datasets import load_wine

from deepbelief import DBN, RBM

from tests.helpers import B1, B2, V_EXAMPLE, W1, W2


def example_dbn():
    rbm1 = RBM.from_weights(W1, np.zeros(4), B1)
    rbm2 = RBM.from_weights(W2, B1, B2)  # b1 is the generative (visible) bias of RBM 2, as in the seed
    return DBN.from_rbms([rbm1, rbm2])


def test_seed_example_bottom_up():
    dbn = example_dbn()
    np.testing.assert_allclose(dbn.transform(V_EXAMPLE, layer=0), [[0.622, 0.622, 0.711]], atol=5e-4)
    # the seed rounds h1 before the second layer: 0.5625 exactly vs its 0.562
    np.testing.assert_allclose(dbn.transform(V_EXAMPLE), [[0.562, 0.530]], atol=1e-3)


def test_seed_example_top_down():
    dbn = example_dbn()
    np.testing.assert_allclose(dbn.rbms_[1].inverse_transform([[1, 0]]), [[0.599, 0.599, 0.426]], atol=5e-4)
    np.testing.assert_allclose(dbn.inverse_transform([[1, 1, 0]], layer=0), [[0.550, 0.646, 0.622, 0.550]],
                               atol=5e-4)
    np.testing.assert_allclose(dbn.inverse_transform([[1, 0]]),
                               dbn.rbms_[0].inverse_transform(dbn.rbms_[1].inverse_transform([[1, 0]])), rtol=1e-6)


def test_greedy_pretraining_trains_each_layer_on_the_one_below(digits):
    X, _ = digits
    dbn = DBN(hidden_layer_sizes=(32, 16), n_iter=(3, 2), learning_rate=(0.1, 0.05), lr_schedule="linear",
              random_state=0).fit(X)
    assert [r.n_components for r in dbn.rbms_] == [32, 16]
    assert [r.n_features_in_ for r in dbn.rbms_] == [64, 32]
    assert [len(h) for h in dbn.history_] == [3, 2]
    config = dbn.rbms_[1]._cd_config()
    assert (config.learning_rate, config.schedule, config.n_epochs) == (0.05, "linear", 2)  # over its own epochs
    # Layer 2 alone, trained on layer 1's activations with the same seed, gives the same weights.
    seed = dbn.rbms_[1].random_state
    alone = RBM(n_components=16, visible="bernoulli", n_iter=2, learning_rate=0.05, lr_schedule="linear",
                random_state=seed).fit(dbn.transform(X, layer=0))  # probabilities: 'auto' would standardise them
    np.testing.assert_allclose(alone.components_, dbn.rbms_[1].components_, rtol=1e-5, atol=1e-6)


def test_transform_shapes_and_ranges(digits):
    X, _ = digits
    dbn = DBN(hidden_layer_sizes=(20, 10, 5), n_iter=1, random_state=0).fit(X)
    for layer, width in [(0, 20), (1, 10), (2, 5), (-1, 5), (-3, 20)]:
        H = dbn.transform(X[:7], layer=layer)
        assert H.shape == (7, width) and H.dtype == np.float32 and 0 <= H.min() and H.max() <= 1
    assert dbn.inverse_transform(dbn.transform(X[:7])).shape == (7, 64)
    assert dbn.reconstruct(X[:7]).shape == (7, 64)


def test_same_seed_gives_identical_parameters(digits):
    X, _ = digits
    a, b = (DBN(hidden_layer_sizes=(16, 8), n_iter=2, propagate="sample", random_state=1).fit(X) for _ in range(2))
    for ra, rb in zip(a.rbms_, b.rbms_):
        np.testing.assert_array_equal(ra.components_, rb.components_)


def test_continuous_dbn_on_real_data():
    X = load_wine().data
    dbn = DBN(hidden_layer_sizes=(24, 12), visible="gaussian", n_iter=30, batch_size=16, random_state=0).fit(X)
    assert dbn.rbms_[0].visible == "gaussian" and dbn.rbms_[1].visible == "bernoulli"
    assert np.isfinite(dbn.transform(X)).all()
    assert dbn.reconstruct(X).shape == X.shape


def test_pretraining_lowers_reconstruction_error(digits):
    X, _ = digits
    trained = DBN(hidden_layer_sizes=(64, 32), n_iter=15, random_state=0).fit(X)
    untrained = DBN(hidden_layer_sizes=(64, 32), n_iter=0, random_state=0).fit(X)
    err = lambda d: ((d.reconstruct(X) - X) ** 2).mean()  # noqa: E731
    assert err(trained) < 0.7 * err(untrained)


def test_verbose_shows_one_bar_per_layer(digits, capsys):
    DBN(hidden_layer_sizes=(8, 4), n_iter=1, verbose=True, random_state=0).fit(digits[0])
    err = capsys.readouterr().err
    assert "layer 1/2" in err and "layer 2/2" in err


@pytest.mark.parametrize("params, message", [
    ({"hidden_layer_sizes": ()}, "non-empty sequence of integers"),
    ({"hidden_layer_sizes": (10, 0)}, "non-empty sequence of integers >= 1"),
    ({"n_iter": (1, 2, 3)}, "n_iter has 3 values but there are 2 layers"),
    ({"learning_rate": (0.1, -1.0)}, "'learning_rate' parameter of RBM"),
])
def test_bad_parameters(digits, params, message):
    with pytest.raises(ValueError, match=message):
        DBN(**{"hidden_layer_sizes": (4, 2), "n_iter": 1, **params}).fit(digits[0])


def test_bad_layer_and_hidden_values():
    dbn = example_dbn()
    with pytest.raises(ValueError, match="layer=2 is not a hidden layer.*0..1"):
        dbn.transform(V_EXAMPLE, layer=2)
    with pytest.raises(ValueError, match="H has 3 columns but hidden layer 1 has 2 units"):
        dbn.inverse_transform([[1, 0, 1]])
    with pytest.raises(ValueError, match="X has 3 features, but DBN is expecting 4"):
        dbn.transform([[1, 0, 1]])


def test_from_rbms_checks_the_stack():
    rbm1 = RBM.from_weights(W1, np.zeros(4), B1)
    with pytest.raises(ValueError, match="3 hidden units is followed by one with 4 visible units"):
        DBN.from_rbms([rbm1, rbm1])
    with pytest.raises(ValueError, match="the layer below it has 'bernoulli' units, so its visible units must be"):
        DBN.from_rbms([rbm1, RBM.from_weights(W2, B1, B2, visible="gaussian")])
    with pytest.raises(ValueError, match="a DBN has one hidden unit type"):
        DBN.from_rbms([rbm1, RBM.from_weights(W2, B1, B2, hidden="relu")])
    with pytest.raises(TypeError, match="takes RBM estimators"):
        DBN.from_rbms([rbm1, "rbm"])


def test_rectified_dbn_stacks_relu_layers(digits):
    X, _ = digits
    dbn = DBN(hidden_layer_sizes=(32, 16), hidden="relu", n_iter=10, random_state=0).fit(X)
    assert [(r.visible, r.hidden) for r in dbn.rbms_] == [("bernoulli", "relu"), ("relu", "relu")]
    H = dbn.transform(X)
    assert H.min() >= 0 and H.max() > 1  # rectified features are not probabilities
    np.testing.assert_allclose(dbn.to_torch()(torch.as_tensor(X[:5])).detach().numpy(), H[:5], rtol=1e-5, atol=1e-6)
    errors = [h["reconstruction_error"] for h in dbn.history_[0]]
    assert errors[-1] < errors[0]
    with pytest.raises(ValueError, match=r"relu\) units, which take values >= 0"):
        dbn.inverse_transform(-H)


@pytest.fixture(scope="module")
def digits_dbn():
    from sklearn.datasets import load_digits
    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    return DBN(hidden_layer_sizes=(128, 64), n_iter=10, random_state=0).fit(X[:1400]), X[1400:], y


def test_denoise_keeps_known_values_and_lowers_the_error(digits_dbn):
    dbn, X, _ = digits_dbn
    rng = np.random.default_rng(0)
    mask = np.zeros(X.shape, bool)
    mask[:, 24:48] = True  # rows 3-5 of each 8x8 image are occluded
    corrupted = np.where(mask, rng.random(X.shape), X).astype(np.float32)
    restored = dbn.denoise(corrupted, mask=mask, n_gibbs=60, random_state=0)
    np.testing.assert_array_equal(restored[~mask], corrupted[~mask])
    error_restored, error_corrupted = ((restored - X)[mask] ** 2).mean(), ((corrupted - X)[mask] ** 2).mean()
    assert error_restored < 0.6 * error_corrupted
    with_nan = np.where(mask, np.nan, X)
    np.testing.assert_array_equal(dbn.denoise(with_nan, n_gibbs=60, random_state=0),
                                  dbn.denoise(X, mask=mask, n_gibbs=60, random_state=0))
    np.testing.assert_allclose(dbn.denoise(X), dbn.reconstruct(X))  # no mask: the mean-field pass
    with pytest.raises(ValueError, match="mask has shape"):
        dbn.denoise(X, mask=mask[:, :10])
    with pytest.raises(ValueError, match="mask must be a boolean array"):
        dbn.denoise(X, mask=mask.astype(int))


def test_reconstruct_with_gibbs_steps_is_reproducible(digits_dbn):
    dbn, X, _ = digits_dbn
    a = dbn.reconstruct(X[:5], n_gibbs=3, random_state=1)
    assert a.shape == (5, 64) and 0 <= a.min() and a.max() <= 1
    np.testing.assert_array_equal(a, dbn.reconstruct(X[:5], n_gibbs=3, random_state=1))
    with pytest.raises(ValueError, match="n_gibbs must be an integer >= 0"):
        dbn.reconstruct(X, n_gibbs=-1)


def test_anomaly_scores_rank_noise_below_digits(digits_dbn):
    from sklearn.metrics import roc_auc_score
    dbn, X, _ = digits_dbn
    noise = np.random.default_rng(0).random(X.shape).astype(np.float32)
    labels = np.r_[np.ones(len(X)), np.zeros(len(noise))]
    for score in ("free_energy", "reconstruction", "pseudo_likelihood"):
        scores = dbn.score_samples(np.vstack([X, noise]), score=score)
        assert roc_auc_score(labels, scores) > 0.99, score
    np.testing.assert_allclose(dbn.score_samples(X), -dbn.rbms_[0].free_energy(X), rtol=1e-6)
    np.testing.assert_allclose(dbn.score_samples(X, score="reconstruction"),
                               -((dbn.reconstruct(X) - X) ** 2).sum(1), rtol=1e-5)
    with pytest.raises(ValueError, match="score must be one of"):
        dbn.score_samples(X, score="energy")


def test_label_models_score_as_classifiers_under_cross_validation():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import cross_val_score

    from deepbelief import RBM
    X, y = load_digits(return_X_y=True)
    X = X / 16
    dbn = DBN((32,), n_labels=10, n_iter=3, random_state=0).fit(X, y)
    assert dbn.score(X, y) == np.mean(dbn.predict(X) == y)
    assert RBM(16, n_labels=10, n_iter=2, random_state=0).fit(X, y).score(X, y) > 0.1
    scores = cross_val_score(DBN((32,), n_labels=10, n_iter=3, random_state=0), X, y, cv=3)  # needed score()
    assert scores.shape == (3,) and (scores > 0).all()
    assert not hasattr(DBN(), "score") and not hasattr(RBM(), "score")  # no labels, no accuracy
