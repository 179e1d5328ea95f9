import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split

import torch

from deepbelief.compat import SupervisedDBNClassification, SupervisedDBNRegression, UnsupervisedDBN
from deepbelief.training import rectified_cd


@pytest.mark.slow
def test_the_seed_tutorial_runs_with_only_its_import_changed():
    # ../shared/seeds/001_*: the tutorial's code, with `from dbn.tensorflow import ...` replaced.
    digits = load_digits()
    X, Y = digits.data, digits.target
    X = (X / 16).astype(np.float32)
    X_train, X_test, Y_train, Y_test = train_test_split(X, Y, test_size=0.2, random_state=0)
    classifier = SupervisedDBNClassification(hidden_layers_structure=[256, 256], learning_rate_rbm=0.05,
                                             learning_rate=0.1, n_epochs_rbm=10, n_iter_backprop=100, batch_size=32,
                                             activation_function='relu', dropout_p=0.2, verbose=False)
    classifier.fit(X_train, Y_train)
    Y_pred = classifier.predict(X_test)
    # The tutorial reports 0.9833; measured here 0.9944-0.9972 over random_state 0-4 (benchmarks/digits.py).
    assert accuracy_score(Y_test, Y_pred) > 0.98
    proba = classifier.predict_proba_dict(X_test[:2])
    assert len(proba) == 2 and sum(proba[0].values()) == pytest.approx(1.0)


@pytest.mark.parametrize("schedule, rates", [("constant", [0.3, 0.3, 0.3]), ("linear", [0.3, 0.2, 0.1])])
def test_rectified_pretraining_matches_a_per_sample_computation(schedule, rates):
    # The older package's rule, one sample at a time in float64 NumPy, on the same random draws; one batch of all
    # 6 rows per epoch, at the schedule's rate of each epoch.
    rng = np.random.default_rng(0)
    V = rng.random((6, 5)).astype(np.float32)
    W, a, b = rectified_cd(torch.as_tensor(V), 4, 0.3, 3, 1, 6, torch.Generator().manual_seed(1), schedule=schedule)
    g = torch.Generator().manual_seed(1)
    W0 = torch.nn.init.trunc_normal_(torch.empty(4, 5), a=-0.2, b=0.2, generator=g).double().numpy() / 5**0.5
    assert np.abs(W0).max() <= 0.2 / 5**0.5
    relu = lambda x: np.maximum(x, 0.0)  # noqa: E731
    a0, b0 = np.full(5, 0.1 / 5**0.5), np.full(4, 0.1 / 5**0.5)
    for rate in rates:
        order = torch.randperm(6, generator=g).numpy()
        draws = torch.rand(6, 4, generator=g).double().numpy()
        dW, da, db = np.zeros((4, 5)), np.zeros(5), np.zeros(4)
        for row, u in zip(V[order].astype(np.float64), draws):
            h0 = relu(W0 @ row + b0)
            vk = relu(W0.T @ (u < h0) + a0)
            hk = relu(W0 @ vk + b0)
            dW += np.outer(h0, row) - np.outer(hk, vk)
            da += row - vk
            db += h0 - hk
        W0, a0, b0 = W0 + rate * dW / 6, a0 + rate * da / 6, b0 + rate * db / 6
    np.testing.assert_allclose(W.numpy(), W0, atol=1e-6)
    np.testing.assert_allclose(a.numpy(), a0, atol=1e-6)
    np.testing.assert_allclose(b.numpy(), b0, atol=1e-6)


def test_relu_models_use_the_rectified_pretraining():
    X = np.random.default_rng(0).random((60, 6))
    dbn = UnsupervisedDBN(hidden_layers_structure=[5, 3], activation_function="relu", n_epochs_rbm=2, verbose=False,
                          random_state=0).fit(X)
    rbm0, rbm1 = dbn.dbn_.rbms_
    assert rbm0.hidden == rbm1.visible == "relu"
    h = np.maximum(X @ rbm0.components_.T + rbm0.intercept_hidden_, 0)
    np.testing.assert_allclose(dbn.transform(X), np.maximum(h @ rbm1.components_.T + rbm1.intercept_hidden_, 0),
                               rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="values in"):
        UnsupervisedDBN(activation_function="relu").fit(X - 1)
    clf = SupervisedDBNClassification(hidden_layers_structure=[5], activation_function="relu", n_epochs_rbm=1,
                                      n_iter_backprop=1, verbose=False, random_state=0).fit(X, X[:, 0] > 0.5)
    assert clf.estimator_.dbn_.rbms_[0].hidden == "relu"


def test_parameters_keep_the_older_meaning():
    X, y = load_digits(return_X_y=True)
    X = X / 16
    clf = SupervisedDBNClassification(hidden_layers_structure=[16], n_epochs_rbm=1, n_iter_backprop=2,
                                      l2_regularization=2.0, dropout_p=0.1, verbose=False, random_state=0).fit(X, y)
    inner = clf.estimator_
    assert inner.weight_decay == pytest.approx(2.0 / len(X)) and inner.optimizer == "sgd" and inner.momentum == 0
    assert inner.dropout == inner.input_dropout == 0.1
    assert inner.dbn_.rbms_[0].momentum == 0 and inner.dbn_.rbms_[0].weight_decay == 0
    assert clf.transform(X[:3]).shape == (3, 16)
    with pytest.raises(ValueError, match="optimization_algorithm='adam' is not supported"):
        SupervisedDBNClassification(optimization_algorithm="adam").fit(X, y)


def test_regression_and_unsupervised():
    rng = np.random.default_rng(0)
    X = rng.random((200, 6))
    reg = SupervisedDBNRegression(hidden_layers_structure=[16], n_epochs_rbm=2, n_iter_backprop=50,
                                  learning_rate=0.05, verbose=False, random_state=0).fit(X, X.sum(1))
    assert reg.score(X, X.sum(1)) > 0.6  # plain SGD, as the older package; measured 0.744
    codes = UnsupervisedDBN(hidden_layers_structure=[8, 4], n_epochs_rbm=2, verbose=False,
                            random_state=0).fit(X).transform(X)
    assert codes.shape == (200, 4)


def test_save_and_load_like_the_older_package(tmp_path):
    import deepbelief
    from deepbelief.errors import ModelFileError
    X, y = load_digits(return_X_y=True)
    X = X / 16
    clf = SupervisedDBNClassification(hidden_layers_structure=[16], n_epochs_rbm=1, n_iter_backprop=2,
                                      verbose=False, random_state=0).fit(X, y)
    clf.save(tmp_path / "model.pkl")
    loaded = SupervisedDBNClassification.load(tmp_path / "model.pkl")
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert loaded.get_params() == clf.get_params()
    dbn = UnsupervisedDBN(hidden_layers_structure=[8], n_epochs_rbm=1, verbose=False, random_state=0).fit(X)
    dbn.save(tmp_path / "dbn.pkl")
    np.testing.assert_array_equal(UnsupervisedDBN.load(tmp_path / "dbn.pkl").transform(X), dbn.transform(X))
    with pytest.raises(ModelFileError, match="holds a SupervisedDBNClassification, not a UnsupervisedDBN"):
        UnsupervisedDBN.load(tmp_path / "model.pkl")
    with pytest.raises(ModelFileError, match=r"SupervisedDBNClassification.load\(path\)"):
        deepbelief.load(tmp_path / "model.pkl")


@pytest.mark.parametrize("cls", [SupervisedDBNClassification, SupervisedDBNRegression])
def test_messages_name_the_class_the_user_made(cls, capsys):
    X = np.random.default_rng(0).random((12, 4))
    model = cls(hidden_layers_structure=[4], n_epochs_rbm=1, n_iter_backprop=1, verbose=True, random_state=0)
    model.fit(X, np.arange(12) % 2)
    assert f"{cls.__name__}: visible='auto' chose bernoulli" in capsys.readouterr().err
    with pytest.raises(ValueError, match=f"{cls.__name__} does not accept missing values"):
        model.predict(np.full((1, 4), np.nan))
