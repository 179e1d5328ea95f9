"""Classification RBMs as users train them: RBM(n_labels=K, objective=...) and a DBN's top RBM."""
import numpy as np
import pytest
from scipy.special import logsumexp
from sklearn.datasets import load_digits
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

import deepbelief
from deepbelief import DBN, RBM

from tests.helpers import all_binary


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16, y


def test_predictions_are_the_argmax_of_the_posterior_by_enumeration():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 60)
    X = (rng.random((60, 5)) < 0.2 + 0.6 * (np.arange(5) % 3 == y[:, None])).astype(float)
    rbm = RBM(4, n_labels=3, objective="discriminative", n_iter=20, batch_size=10, random_state=0).fit(X, y)
    W, a, b = rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_
    U, c = rbm.label_components_, rbm.intercept_label_
    H = all_binary(4)
    log_joint = np.stack([logsumexp((X @ a)[:, None] + c[k] + H @ b + (X @ W.T + U[:, k]) @ H.T, axis=1)
                          for k in range(3)], 1)
    posterior = np.exp(log_joint - logsumexp(log_joint, 1, keepdims=True))
    np.testing.assert_allclose(rbm.predict_proba(X), posterior, rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(rbm.predict(X), rbm.classes_[posterior.argmax(1)])


@pytest.mark.parametrize("objective", ["discriminative", "hybrid"])
def test_classification_rbm_in_a_pipeline_under_cross_validation(digits, objective):
    X, y = digits
    model = make_pipeline(MinMaxScaler(), RBM(100, n_labels=10, objective=objective, n_iter=10, learning_rate=0.05,
                                              batch_size=10, random_state=0))
    scores = cross_val_score(model, X * 16, y, cv=3)
    assert scores.mean() > 0.9


def test_discriminative_training_beats_generative_training_at_equal_budget(digits):
    X, y = digits
    accuracy = {}
    for objective in ("generative", "discriminative"):
        rbm = RBM(50, n_labels=10, objective=objective, n_iter=10, learning_rate=0.05, batch_size=10,
                  random_state=0)
        accuracy[objective] = cross_val_score(rbm, X, y, cv=3).mean()
    assert accuracy["discriminative"] > accuracy["generative"] + 0.02


def test_history_reports_the_log_loss_and_the_validation_error(digits):
    X, y = digits
    rbm = RBM(50, n_labels=10, objective="hybrid", n_iter=4, batch_size=10, validation_fraction=0.2,
              random_state=0).fit(X, y)
    assert [set(h) >= {"log_loss", "log_loss_valid", "error_valid", "free_energy_gap"} for h in rbm.history_] == [
        True] * 4
    assert rbm.history_[-1]["log_loss"] < rbm.history_[0]["log_loss"]
    assert 0 <= rbm.history_[-1]["error_valid"] < 0.2


def test_objectives_need_label_units(digits):
    X, y = digits
    with pytest.raises(ValueError, match="objective='discriminative' trains a classification RBM.*set n_labels"):
        RBM(8, objective="discriminative", n_iter=1).fit(X)
    with pytest.raises(ValueError, match="unlabelled_weight=0.5 trains a classification RBM"):
        RBM(8, unlabelled_weight=0.5, n_iter=1).fit(X)
    with pytest.raises(ValueError, match="objective"):
        RBM(8, n_labels=10, objective="supervised").fit(X, y)


def test_semi_supervised_rows_train_with_unlabelled_weight(digits):
    X, y = digits
    y_few = y.copy()
    y_few[200:] = -1
    common = dict(n_labels=10, objective="hybrid", generative_weight=0.1, n_iter=3, batch_size=10,
                  learning_rate=0.1, random_state=0)
    left_out = RBM(30, **common).fit(X, y_few)
    labelled_only = RBM(30, **common).fit(X[:200], y[:200])
    np.testing.assert_array_equal(left_out.components_, labelled_only.components_)
    semi = RBM(100, unlabelled_weight=0.1, **{**common, "n_iter": 10}).fit(X, y_few)
    assert semi.n_iter_ == 10 and semi.score(X[200:], y[200:]) > 0.7


def test_same_seed_same_model_and_the_objective_survives_save_and_load(digits, tmp_path):
    X, y = digits
    a = RBM(20, n_labels=10, objective="hybrid", generative_weight=0.1, n_iter=2, random_state=1).fit(X, y)
    b = RBM(20, n_labels=10, objective="hybrid", generative_weight=0.1, n_iter=2, random_state=1).fit(X, y)
    np.testing.assert_array_equal(a.components_, b.components_)
    a.save(tmp_path / "m")
    loaded = deepbelief.load(tmp_path / "m")
    assert loaded.objective == "hybrid" and loaded.generative_weight == 0.1
    np.testing.assert_array_equal(loaded.predict_proba(X), a.predict_proba(X))


def test_dbn_top_rbm_trained_discriminatively(digits):
    X, y = digits
    common = dict(hidden_layer_sizes=(64, 64), n_labels=10, n_iter=5, batch_size=10, random_state=0)
    generative = DBN(**common).fit(X, y)
    discriminative = DBN(objective="discriminative", **common).fit(X, y)
    assert discriminative.rbms_[-1].objective == "discriminative"
    assert discriminative.rbms_[0].objective == "generative"
    np.testing.assert_array_equal(discriminative.rbms_[0].components_, generative.rbms_[0].components_)
    assert "log_loss" in discriminative.rbms_[-1].history_[0]
    assert discriminative.score(X, y) > generative.score(X, y)


def test_dbn_semi_supervised_top_rbm_sees_every_row(digits):
    X, y = digits
    y_few = y.copy()
    y_few[300:] = -1
    dbn = DBN((32,), n_labels=10, objective="hybrid", unlabelled_weight=0.5, n_iter=2, random_state=0).fit(X, y_few)
    assert dbn.predict(X).shape == (len(X),)
    plain = DBN((32,), n_labels=10, objective="hybrid", n_iter=2, random_state=0).fit(X, y_few)
    assert not np.allclose(dbn.rbms_[-1].components_, plain.rbms_[-1].components_)


def test_entropy_on_unlabelled_rows_through_rbm_dbn_and_model_files(digits, tmp_path):
    X, y = digits
    y_few = np.full(len(y), -1)
    y_few[::6] = y[::6]  # 300 labels
    unlabelled = y_few == -1
    common = dict(n_labels=10, objective="discriminative", n_iter=10, batch_size=10, learning_rate=0.05,
                  random_state=0)
    plain = RBM(100, **common).fit(X, y_few)
    semi = RBM(100, unlabelled_weight=0.1, unlabelled_objective="entropy", **common).fit(X, y_few)

    def entropy(model):
        p = model.predict_proba(X[unlabelled]).clip(1e-12)
        return -(p * np.log(p)).sum(1).mean()

    assert entropy(semi) < 0.8 * entropy(plain)  # 0.791 against 1.168 nats
    assert semi.score(X[unlabelled], y[unlabelled]) > plain.score(X[unlabelled], y[unlabelled]) - 0.05
    semi.save(tmp_path / "semi")
    loaded = deepbelief.load(tmp_path / "semi")
    assert loaded.unlabelled_objective == "entropy"
    np.testing.assert_array_equal(loaded.predict_proba(X[:20]), semi.predict_proba(X[:20]))
    dbn = DBN((32, 16), unlabelled_weight=0.1, unlabelled_objective="entropy", **{**common, "n_iter": 2}).fit(X, y_few)
    assert dbn.rbms_[-1].unlabelled_objective == "entropy" and dbn.rbms_[0].n_labels is None
    with pytest.raises(ValueError, match="'unlabelled_objective' parameter of RBM"):
        RBM(8, n_labels=10, unlabelled_weight=0.1, unlabelled_objective="mutual").fit(X, y_few)


def test_hidden_bias_decrement_makes_a_sparse_hybrid_rbm_and_reaches_dbn_layers(digits, tmp_path):
    X, y = digits
    common = dict(n_labels=10, objective="hybrid", generative_weight=0.1, n_iter=5, batch_size=10,
                  learning_rate=0.05, random_state=0)
    plain = RBM(100, **common).fit(X, y)
    sparse = RBM(100, hidden_bias_decrement=1e-3, **common).fit(X, y)  # 900 updates: biases lowered by 0.9
    assert sparse.transform(X).mean() < 0.8 * plain.transform(X).mean()  # 0.337 against 0.486
    assert sparse.score(X, y) > plain.score(X, y) - 0.02  # 0.899 against 0.892
    sparse.save(tmp_path / "sparse")
    assert deepbelief.load(tmp_path / "sparse").hidden_bias_decrement == 1e-3
    dbn = DBN((16, 8), hidden_bias_decrement=(0.0, 0.05), n_iter=2, random_state=0).fit(X)
    assert [rbm.hidden_bias_decrement for rbm in dbn.rbms_] == [0.0, 0.05]
    with pytest.raises(ValueError, match="'hidden_bias_decrement' parameter of RBM"):
        RBM(8, hidden_bias_decrement=-0.1).fit(X)
    with pytest.raises(ValueError, match="hidden_bias_decrement has 3 values but there are 2 layers"):
        DBN((16, 8), hidden_bias_decrement=(0.0, 0.1, 0.2)).fit(X)


def test_persistent_samplers_are_for_generative_rbms(digits):
    X, y = digits
    with pytest.raises(ValueError, match="sampler='tempered' trains generative RBMs"):
        RBM(8, n_labels=10, objective="hybrid", sampler="tempered", n_iter=1).fit(X, y)
    tempered = RBM(8, n_labels=10, sampler="tempered", n_temperatures=3, n_iter=2, random_state=0).fit(X, y)
    assert tempered.predict(X).shape == (len(X),)


@pytest.mark.parametrize("make", [lambda: deepbelief.RBM(16, n_labels=10, n_iter=2, random_state=0),
                                  lambda: deepbelief.DBN((16, 16), n_labels=10, n_iter=2, random_state=0),
                                  lambda: deepbelief.DBM((16,), n_labels=10, n_iter=2, max_iter=1, random_state=0)])
def test_label_posteriors_sum_to_one_in_float64(make):
    """scikit-learn's log_loss warns when rows miss 1 by float32 rounding (1e-7)."""
    import warnings

    from sklearn.datasets import load_digits
    from sklearn.metrics import log_loss

    X, y = load_digits(return_X_y=True)
    model = make().fit(X[:200] / 16, y[:200])
    P = model.predict_proba(X[:200] / 16)
    assert P.dtype == np.float64 and np.abs(P.sum(1) - 1).max() < 1e-12
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        log_loss(y[:200], P, labels=model.classes_)


def test_the_information_term_keeps_few_labels_from_collapsing_into_one_class(digits, tmp_path):
    """With 50 labels the entropy term at 0.1 pulls almost every unlabelled row into a few classes (test accuracy
    0.297 in BENCHMARKS.md); the mutual-information term keeps the predicted classes spread and the accuracy up."""
    X, y = digits
    rng = np.random.default_rng(0)
    y_few = np.full(len(y), -1)
    keep = np.concatenate([rng.choice(np.flatnonzero(y == c), 5, replace=False) for c in range(10)])
    y_few[keep] = y[keep]
    unlabelled = y_few == -1
    common = dict(n_labels=10, objective="discriminative", n_iter=20, batch_size=10, learning_rate=0.05,
                  unlabelled_weight=0.1, random_state=0)
    entropy = RBM(100, unlabelled_objective="entropy", **common).fit(X, y_few)
    information = RBM(100, unlabelled_objective="information", **common).fit(X, y_few)
    spread = {name: np.bincount(m.predict(X[unlabelled]), minlength=10) / unlabelled.sum()
              for name, m in (("entropy", entropy), ("information", information))}
    # measured: the largest class share 0.19 against 1.0 (every row in one class); accuracy 0.633 against 0.099
    assert spread["information"].max() < 0.3 < spread["entropy"].max()
    assert information.score(X[unlabelled], y[unlabelled]) > entropy.score(X[unlabelled], y[unlabelled]) + 0.2
    information.save(tmp_path / "m")
    assert deepbelief.load(tmp_path / "m").unlabelled_objective == "information"
    dbn = DBN((32, 16), unlabelled_objective="information", **{**common, "n_iter": 2}).fit(X, y_few)
    assert dbn.rbms_[-1].unlabelled_objective == "information"
