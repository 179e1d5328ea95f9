import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits, make_regression
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

import deepbelief.training.rectified as rectified
from deepbelief.estimators._rectified import rectified_dbn
from deepbelief import DBN, RBM, DBNClassifier, DBNRegressor, load
from deepbelief.datasets import load_mnist

from tests.helpers import B1, B2, SHARED, V_EXAMPLE, W1, W2, needs_shared

FAST = dict(hidden_layer_sizes=(32,), n_iter=2, max_iter=15, random_state=0)


@pytest.fixture(scope="module")
def split():
    X, y = load_digits(return_X_y=True)
    return train_test_split((X / 16).astype(np.float32), y, test_size=0.2, random_state=0)


def test_seed_example_2_backpropagation_through_to_torch():
    dbn = DBN.from_rbms([RBM.from_weights(W1, np.zeros(4), B1), RBM.from_weights(W2, B1, B2)])
    net = dbn.to_torch().double()
    head = torch.nn.Linear(2, 1).double()
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[0.6, -0.4]]))
        head.bias.fill_(0.1)
    captured = {}
    net[2].register_forward_hook(lambda module, inp, out: captured.update(pre_h2=out))
    h2 = net(torch.tensor(V_EXAMPLE))
    captured["pre_h2"].retain_grad()
    y_hat = torch.sigmoid(head(h2))
    loss = torch.nn.functional.binary_cross_entropy(y_hat, torch.ones(1, 1, dtype=torch.float64))
    loss.backward()
    # The seed rounds h2 to [0.562, 0.530] before the output layer; 2e-3 covers that rounding.
    assert y_hat.item() == pytest.approx(0.556, abs=1e-3)
    assert loss.item() == pytest.approx(0.588, abs=2e-3)
    np.testing.assert_allclose(head.weight.grad.numpy(), [[-0.249, -0.235]], atol=2e-3)
    np.testing.assert_allclose(captured["pre_h2"].grad.numpy(), [[-0.065, 0.044]], atol=2e-3)


def test_classifier_learns_digits_and_pretraining_is_used(split):
    Xtr, Xte, ytr, yte = split
    clf = DBNClassifier(hidden_layer_sizes=(64,), n_iter=5, max_iter=30, random_state=0).fit(Xtr, ytr)
    assert clf.score(Xte, yte) > 0.93
    assert clf.loss_curve_[-1] < clf.loss_curve_[0] and clf.n_iter_ == 30
    assert isinstance(clf.dbn_, DBN)
    proba = clf.predict_proba(Xte)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(1)], clf.predict(Xte))
    # Fine-tuning starts from the pretrained weights: unrolled before training, the network computes transform.
    torch.testing.assert_close(torch.as_tensor(clf.dbn_.transform(Xte[:5])),
                               clf.dbn_.to_torch()(torch.as_tensor(Xte[:5])))


def test_same_seed_same_model(split):
    Xtr, Xte, ytr, _ = split
    a = DBNClassifier(dropout=0.2, **FAST).fit(Xtr, ytr)
    b = DBNClassifier(dropout=0.2, **FAST).fit(Xtr, ytr)
    np.testing.assert_array_equal(a.predict_proba(Xte), b.predict_proba(Xte))


def test_random_init_baseline_has_the_same_network(split):
    Xtr, _, ytr, _ = split
    pre = DBNClassifier(**FAST).fit(Xtr, ytr)
    raw = DBNClassifier(pretrain=False, **FAST).fit(Xtr, ytr)
    assert raw.dbn_ is None
    assert [p.shape for p in pre.network_.parameters()] == [p.shape for p in raw.network_.parameters()]


def test_string_labels_and_binary_problems(split):
    Xtr, Xte, ytr, yte = split
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])
    clf = DBNClassifier(**FAST).fit(Xtr, names[ytr])
    assert clf.predict(Xte).dtype == names.dtype and set(clf.predict(Xte)) <= set(names)
    binary = DBNClassifier(**FAST).fit(Xtr, ytr >= 5)
    assert binary.decision_function(Xte).shape == (len(Xte),)
    assert binary.predict_proba(Xte).shape == (len(Xte), 2)
    assert binary.score(Xte, yte >= 5) > 0.8


def test_semi_supervised_rows_labelled_minus_one_only_pretrain(split):
    Xtr, Xte, ytr, yte = split
    y = ytr.copy()
    y[100:] = -1
    clf = DBNClassifier(**FAST).fit(Xtr, y)
    assert list(clf.classes_) == list(range(10))
    dbn = DBN(hidden_layer_sizes=(32,), n_iter=2, batch_size=64, random_state=clf.dbn_.random_state)
    np.testing.assert_array_equal(clf.dbn_.rbms_[0].components_, rectified_dbn(Xtr, dbn).rbms_[0].components_)
    rbm_clf = DBNClassifier(**{**FAST, "pretrain": "rbm"}).fit(Xtr, y)
    np.testing.assert_array_equal(rbm_clf.dbn_.rbms_[0].components_,
                                  DBN(hidden_layer_sizes=(32,), hidden="relu", n_iter=2, batch_size=64,
                                      random_state=rbm_clf.dbn_.random_state).fit(Xtr).rbms_[0].components_)


def test_pretrain_picks_the_rule(split):
    Xtr, _, ytr, _ = split
    assert DBNClassifier()._pretraining() == "rectified"
    assert DBNClassifier(activation="sigmoid")._pretraining() == "rbm"
    assert DBNClassifier(visible="gaussian")._pretraining() == "rbm"
    assert DBNRegressor()._pretraining() == "rectified" and DBNRegressor(activation="sigmoid")._pretraining() == "rbm"
    assert DBNClassifier(pretrain=False)._pretraining() is None
    with pytest.raises(ValueError, match="pretrain='rectified' .* needs data >= 0"):
        DBNClassifier(visible="gaussian", pretrain="rectified").fit(Xtr, ytr)
    clf = DBNClassifier(**{**FAST, "pretrain": "rectified", "activation": "sigmoid"}).fit(Xtr, ytr)
    assert clf.dbn_.rbms_[0].hidden == "relu"  # the rule's features are rectified whatever the fine-tuning uses


def test_rectified_auto_rate_scales_with_each_layers_input(split, monkeypatch):
    Xtr, _, ytr, _ = split
    rates, real = [], rectified.rectified_cd
    monkeypatch.setattr(rectified, "rectified_cd", lambda V, size, rate, *rest: rates.append(rate) or real(
        V, size, rate, *rest))
    DBNClassifier((16, 8), n_iter=2, max_iter=1, random_state=0).fit(Xtr, ytr)
    assert rates == [0.05, 0.05]  # the older package's rate, kept on digits (mean squared norms 15 and 13)
    clf = DBNClassifier((16, 8), visible="relu", n_iter=2, max_iter=1, random_state=0).fit(4 * Xtr, ytr)
    H = np.maximum(4 * Xtr @ clf.dbn_.rbms_[0].components_.T + clf.dbn_.rbms_[0].intercept_hidden_, 0)
    expected = [0.8 / np.mean(np.sum(Z.astype(np.float64) ** 2, axis=1)) for Z in (4 * Xtr, H)]
    np.testing.assert_allclose(rates[2:], np.minimum(expected, 0.05), rtol=1e-5)
    assert rates[2] < 0.01  # 16 x the squared norm
    DBNClassifier((4,), n_iter=1, max_iter=1).fit(np.zeros((6, 3)), [0, 1] * 3)  # all-zero rows: no division by 0
    assert rates[-1] == 0.05
    DBNClassifier((16, 8), learning_rate_rbm=[0.02, 0.03], n_iter=1, max_iter=1).fit(Xtr, ytr)
    assert rates[-2:] == [0.02, 0.03]


@pytest.mark.parametrize("pretrain", ["rbm", "rectified"])
def test_pretraining_lr_schedule_reaches_both_rules(split, monkeypatch, pretrain):
    Xtr, _, ytr, _ = split
    schedules, real = [], rectified.rectified_cd
    monkeypatch.setattr(rectified, "rectified_cd", lambda *args: schedules.append(args[10]) or real(*args))
    settings = dict(hidden_layer_sizes=(16, 8), pretrain=pretrain, n_iter=3, max_iter=1, random_state=0)
    fitted = {s: DBNClassifier(lr_schedule_rbm=s, **settings).fit(Xtr, ytr) for s in ("constant", "linear")}
    if pretrain == "rectified":
        assert schedules == ["constant"] * 2 + ["linear"] * 2  # one call per layer
    else:  # the DBN's RBMs take it (their schedule is tested in test_rbm.py and test_dbn.py)
        assert [rbm.lr_schedule for rbm in fitted["linear"].dbn_.rbms_] == ["linear", "linear"]
    assert not np.array_equal(fitted["linear"].dbn_.rbms_[0].components_,
                              fitted["constant"].dbn_.rbms_[0].components_)
    with pytest.raises(ValueError, match="lr_schedule_rbm"):
        DBNClassifier(lr_schedule_rbm="step").fit(Xtr, ytr)


@needs_shared
@pytest.mark.slow
def test_rectified_auto_rate_keeps_mnist_units_alive():
    # A fixed 0.05 (right for digits) killed 92% of these units on MNIST; measured: none dead with 'auto'.
    (X, _), _ = load_mnist(data_home=SHARED)
    V = torch.as_tensor(X[:1000])
    for rate, most_dead in ((0.05, True), (rectified.rectified_rate(V), False)):
        W, _, b = rectified.rectified_cd(V, 64, rate, 3, 1, 64, torch.Generator().manual_seed(0))
        dead = float((torch.relu(V @ W.T + b).amax(0) == 0).float().mean())
        assert (dead > 0.5) if most_dead else (dead < 0.05), (rate, dead)


def test_early_stopping_keeps_the_best_epoch(split):
    Xtr, _, ytr, _ = split
    clf = DBNClassifier(early_stopping=True, n_iter_no_change=3, **{**FAST, "max_iter": 200}).fit(Xtr, ytr)
    assert clf.n_iter_ < 200 and len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)


@pytest.mark.parametrize("schedule, rates", [("constant", [0.01] * 4), ("linear", [0.01, 0.0075, 0.005, 0.0025])])
def test_fine_tuning_rate_follows_lr_schedule(split, monkeypatch, schedule, rates):
    from deepbelief.training import finetune
    seen = []
    monkeypatch.setattr(finetune._Adam, "set_lr", lambda self, lr: seen.append(lr))
    Xtr, _, ytr, _ = split
    DBNClassifier((8,), pretrain=False, optimizer="adam", learning_rate=0.01, lr_schedule=schedule,
                  max_iter=4).fit(Xtr, ytr)
    assert seen == pytest.approx(rates)
    with pytest.raises(ValueError, match="lr_schedule"):
        DBNClassifier((8,), lr_schedule="step").fit(Xtr, ytr)



@pytest.mark.filterwarnings("ignore:max_norm")
def test_max_norm_bounds_the_hidden_layers_of_classifier_and_regressor(split, tmp_path):
    Xtr, _, ytr, _ = split
    def hidden_norm(est):
        return torch.linalg.vector_norm(next(m for m in est.network_ if isinstance(m, torch.nn.Linear)).weight,
                                        dim=1).max()

    fast = {**FAST, "max_iter": 5}
    for est, y in ((DBNClassifier(max_norm=1.5, learning_rate=0.5, **fast), ytr),
                   (DBNRegressor(max_norm=1.5, learning_rate=0.05, **fast), ytr.astype(float))):
        assert hidden_norm(est.fit(Xtr, y)) <= 1.5 + 1e-5
        assert hidden_norm(clone(est).set_params(max_norm=None).fit(Xtr, y)) > 1.5  # the bound was binding
        est.save(tmp_path / "model")
        assert load(tmp_path / "model").max_norm == 1.5
    for bad in (0, -1.0):
        with pytest.raises(ValueError, match="max_norm"):
            DBNClassifier(max_norm=bad, **FAST).fit(Xtr, ytr)


def test_max_norm_below_the_pretrained_weights_lengths_warns(split):
    Xtr, _, ytr, _ = split
    with pytest.warns(UserWarning, match="discarding part of what pretraining learned"):
        DBNClassifier(max_norm=0.05, **FAST).fit(Xtr, ytr)
    with warnings.catch_warnings(record=True) as caught:  # a random start is shorter than this bound: no warning
        warnings.simplefilter("always")
        DBNClassifier(max_norm=1.5, pretrain=False, **FAST).fit(Xtr, ytr)
    assert not [w for w in caught if "max_norm" in str(w.message)]


def test_ema_decay_gives_the_averaged_network_to_classifier_and_regressor(split, tmp_path):
    Xtr, Xte, ytr, _ = split
    fast = {**FAST, "max_iter": 5}
    for est, y in ((DBNClassifier(ema_decay=0.9, **fast), ytr), (DBNRegressor(ema_decay=0.9, **fast),
                                                                  ytr.astype(float))):
        est.fit(Xtr, y)
        plain = clone(est).set_params(ema_decay=None).fit(Xtr, y)
        assert plain.loss_curve_ == est.loss_curve_  # the same training, another network at its end
        assert not torch.allclose(next(plain.network_.parameters()), next(est.network_.parameters()))
        est.save(tmp_path / "model")
        again = load(tmp_path / "model")
        assert again.ema_decay == 0.9
        for a, b in zip(again.network_.parameters(), est.network_.parameters()):
            assert torch.equal(a, b)
    for bad in (0, 1.0, -0.5):
        with pytest.raises(ValueError, match="ema_decay"):
            DBNClassifier(ema_decay=bad, **FAST).fit(Xtr, ytr)


def test_to_torch_reproduces_predictions(split):
    Xtr, Xte, ytr, _ = split
    clf = DBNClassifier(dropout=0.3, input_dropout=0.1, activation="relu", **FAST).fit(Xtr, ytr)
    net = clf.to_torch()
    assert isinstance(net, torch.nn.Sequential)
    logits = net(torch.as_tensor(Xte)).detach().numpy()
    np.testing.assert_allclose(logits, clf.decision_function(Xte), rtol=1e-5, atol=1e-5)


@pytest.mark.slow
def test_regressor_multi_output_and_single_output():
    X, y = make_regression(n_samples=300, n_features=8, n_targets=2, noise=1.0, random_state=0)
    X = MinMaxScaler().fit_transform(X)
    params = dict(hidden_layer_sizes=(32,), n_iter=2, max_iter=100, learning_rate=1e-2, random_state=0)
    reg = DBNRegressor(**params).fit(X, y)
    assert reg.predict(X).shape == (300, 2) and reg.score(X, y) > 0.9
    single = DBNRegressor(**params).fit(X, y[:, 0])
    assert single.predict(X).shape == (300,) and single.score(X, y[:, 0]) > 0.9


def test_gaussian_visible_units_take_raw_features():
    X, y = make_regression(n_samples=300, n_features=8, noise=1.0, random_state=1)
    reg = DBNRegressor(hidden_layer_sizes=(32,), visible="gaussian", n_iter=2, max_iter=100, learning_rate=1e-2,
                       random_state=0)
    assert reg.fit(X * 100 + 5, y).score(X * 100 + 5, y) > 0.9


def test_works_with_pipelines_and_model_selection(split):
    Xtr, _, ytr, _ = split
    pipe = make_pipeline(MinMaxScaler(clip=True), DBNClassifier(**FAST))
    assert cross_val_score(pipe, Xtr[:300], ytr[:300], cv=2).mean() > 0.5
    grid = GridSearchCV(DBNClassifier(**{**FAST, "max_iter": 5}), {"dropout": [0.0, 0.2]}, cv=2)
    assert grid.fit(Xtr[:300], ytr[:300]).best_params_["dropout"] in (0.0, 0.2)
    assert clone(grid.best_estimator_).get_params()["dropout"] == grid.best_params_["dropout"]


@pytest.mark.parametrize("y_change, message", [
    (lambda y: np.where(np.arange(len(y)) == 3, np.nan, y), "NaN"),
    (lambda y: np.zeros_like(y), "only 1 class"),
    (lambda y: y[:-5], "inconsistent numbers of samples"),
    (lambda y: np.full_like(y, -1), "no labelled rows"),
])
def test_bad_labels(split, y_change, message):
    Xtr, _, ytr, _ = split
    with pytest.raises(ValueError, match=message):
        DBNClassifier(**FAST).fit(Xtr, y_change(ytr.astype(float)))


def test_predict_checks(split):
    Xtr, Xte, ytr, _ = split
    with pytest.raises(NotFittedError):
        DBNClassifier().predict(Xte)
    clf = DBNClassifier(**FAST).fit(Xtr, ytr)
    with pytest.raises(ValueError, match="X has 10 features, but DBNClassifier is expecting 64"):
        clf.predict(Xte[:, :10])


def test_the_rectified_rules_progress_bars_close_when_a_layer_diverges(digits, monkeypatch):
    import deepbelief.estimators._rectified as module
    from deepbelief.errors import TrainingDivergedError
    opened, closed = [], []

    class Bar(module.EpochBar):
        def __init__(self, *args):
            super().__init__(*args)
            opened.append(self)

        def close(self):
            closed.append(self)
            super().close()

    monkeypatch.setattr(module, "EpochBar", Bar)
    X, _ = digits
    with pytest.raises(TrainingDivergedError):
        rectified_dbn(X, DBN((16, 8), n_iter=3, learning_rate=["auto", 1e12], verbose=True, random_state=0))
    assert opened and set(map(id, opened)) <= set(map(id, closed))


def _friedman(n=600):
    from sklearn.datasets import make_friedman1
    from sklearn.preprocessing import StandardScaler
    X, y = make_friedman1(n, noise=1.0, random_state=0)
    return StandardScaler().fit_transform(X).astype(np.float32), y


def test_dead_pretrained_relu_units_are_revived():
    """make_friedman1's features are independent, so RBM pretraining finds nothing to model: its second ReLU layer
    is zero on every row and, kept, the network cannot learn (R^2 0). Revived, it fits like a random start."""
    X, y = _friedman()
    kept = DBNRegressor(hidden_layer_sizes=(64, 64), revive_dead_units=False, random_state=0).fit(X[:400], y[:400])
    revived = DBNRegressor(hidden_layer_sizes=(64, 64), random_state=0).fit(X[:400], y[:400])
    assert kept.revived_units_ == (0, 0) and abs(kept.score(X[400:], y[400:])) < 0.05
    assert revived.revived_units_ == (0, 64) and revived.score(X[400:], y[400:]) > 0.85


def test_revive_dead_units_draws_only_the_dead_rows():
    """Layer by layer: a unit is revived when it is <= 0 on every training row given the (revived) layer below;
    its incoming weights become a Glorot-uniform draw, its bias 0; live units keep their weights."""
    from sklearn.datasets import make_regression
    X, _ = make_regression(50, 4, random_state=0)
    reg = DBNRegressor(hidden_layer_sizes=(3, 2), random_state=0)
    reg._fit_visible(X)
    reg._set_scaler(X)
    reg._device = torch.device("cpu")
    first, second = torch.nn.Linear(4, 3), torch.nn.Linear(3, 2)
    with torch.no_grad():
        first.weight.copy_(torch.tensor([[1.0, 0, 0, 0], [0, 0.5, 0, 0], [0.1, 0.1, 0.1, 0.1]]))
        first.bias.copy_(torch.tensor([0.0, 0.0, -100.0]))  # unit 2 is dead on every row
        second.weight.copy_(torch.tensor([[1.0, 1.0, 1.0], [-1.0, -1.0, -50.0]]))
        second.bias.copy_(torch.tensor([0.5, 0.0]))  # on relu inputs (>= 0) unit 1 is <= 0 everywhere, unit 0 > 0
    before = [first.weight.clone(), second.weight.clone()]
    reg._revive_dead_units([first, second], X, torch.Generator().manual_seed(0))
    assert reg.revived_units_ == (1, 1)
    assert torch.equal(first.weight[:2], before[0][:2]) and torch.equal(second.weight[0], before[1][0])
    assert first.bias[2] == 0 and second.bias[1] == 0 and second.bias[0] == 0.5
    for linear, old, n_in, n_out, unit in ((first, before[0], 4, 3, 2), (second, before[1], 3, 2, 1)):
        assert not torch.equal(linear.weight[unit], old[unit])
        assert linear.weight[unit].abs().max() <= (6 / (n_in + n_out)) ** 0.5  # Glorot-uniform bound
    assert (torch.relu(first(reg._encode(X))) > 0).any(0).all()  # the revived unit lives on the rows


def test_revived_units_are_saved(tmp_path):
    X, y = _friedman(300)
    reg = DBNRegressor(hidden_layer_sizes=(16, 16), n_iter=2, max_iter=2, random_state=0).fit(X, y)
    reg.save(tmp_path / "r.dbn")
    assert load(tmp_path / "r.dbn").revived_units_ == reg.revived_units_


def test_regressor_defaults_stop_early_and_fall_back_on_a_handful_of_rows():
    X, y = _friedman(300)
    reg = DBNRegressor(hidden_layer_sizes=(16,), n_iter=1, random_state=0).fit(X, y)
    assert reg.early_stopping and reg.activation == "relu" and len(reg.validation_scores_) == reg.n_iter_
    with pytest.warns(UserWarning, match="holds out 1; training on every row"):
        tiny = DBNRegressor(hidden_layer_sizes=(4,), n_iter=1, max_iter=3, random_state=0).fit(X[:5], y[:5])
    assert tiny.validation_scores_ is None and tiny.n_iter_ == 3 and tiny.predict(X[:2]).shape == (2,)


def test_early_stopping_on_fewer_held_out_rows_than_classes_splits_unstratified(split):
    """30 digits of 10 classes hold out 3 rows: a stratified split would need 10 (scikit-learn raises)."""
    Xtr, _, ytr, _ = split
    order = np.argsort(ytr, kind="stable")
    rows = np.concatenate([order[ytr[order] == c][:3] for c in range(10)])
    clf = DBNClassifier((8,), n_iter=1, max_iter=2, early_stopping=True, random_state=0).fit(Xtr[rows], ytr[rows])
    assert len(clf.validation_scores_) == clf.n_iter_
