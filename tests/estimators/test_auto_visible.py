"""visible='auto' (issue 39): the estimators take the tables users bring, as scikit-learn's MLP does."""
import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_wine
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import deepbelief as db

FAST = dict(n_iter=3, random_state=0)


@pytest.mark.parametrize("make", [lambda: db.RBM(8, **FAST), lambda: db.DBN((8, 4), **FAST),
                                  lambda: db.DeepAutoencoder((8, 2), max_iter=2, **FAST),
                                  lambda: db.AnomalyDetector(model=db.RBM(8, **FAST))])
def test_auto_picks_bernoulli_units_for_data_in_the_unit_interval_and_gaussian_otherwise(digits, make):
    X, _ = digits
    unit = make().fit(X)
    raw = make().fit(X * 16)
    unit, raw = getattr(unit, "model_", unit), getattr(raw, "model_", raw)
    assert unit.visible == raw.visible == "auto"
    assert unit.visible_ == "bernoulli" and raw.visible_ == "gaussian"
    assert np.isfinite(raw.transform(X[:5] * 16)).all()


def test_auto_is_the_explicit_choice_bit_for_bit(digits):
    X, y = digits
    auto = db.DBNClassifier((16,), max_iter=3, **FAST).fit(X, y)
    explicit = db.DBNClassifier((16,), visible="bernoulli", max_iter=3, **FAST).fit(X, y)
    np.testing.assert_array_equal(auto.predict_proba(X), explicit.predict_proba(X))
    raw_auto = db.DBNClassifier((16,), max_iter=3, **FAST).fit(X * 16, y)
    raw_gauss = db.DBNClassifier((16,), visible="gaussian", max_iter=3, **FAST).fit(X * 16, y)
    np.testing.assert_array_equal(raw_auto.predict_proba(X * 16), raw_gauss.predict_proba(X * 16))
    assert raw_auto.visible_ == "gaussian" and raw_auto.dbn_.visible == "gaussian"


def test_defaults_work_on_raw_features_under_cross_validation():
    """DBNClassifier().fit(X, y) on raw wine features raised ('need values in [0, 1]'); so did StandardScaler."""
    X, y = load_wine(return_X_y=True)
    raw = cross_val_score(db.DBNClassifier(max_iter=60, random_state=0), X, y, cv=5)
    standard = cross_val_score(make_pipeline(StandardScaler(), db.DBNClassifier(max_iter=60, random_state=0)),
                               X, y, cv=5)
    assert raw.mean() > 0.85 and standard.mean() > 0.85


def test_the_regressor_takes_raw_features():
    X, y = load_diabetes(return_X_y=True)
    reg = db.DBNRegressor((32,), n_iter=2, max_iter=100, random_state=0).fit(X * 10 + 3, y)
    assert reg.visible_ == "gaussian" and reg.score(X * 10 + 3, y) > 0.3


def test_the_choice_survives_save_and_load_and_shows_in_verbose_output(digits, tmp_path, capsys):
    X, _ = digits
    rbm = db.RBM(8, n_iter=1, verbose=True, random_state=0).fit(X * 16)
    assert "visible='auto' chose gaussian visible units for data in [0, 16]" in capsys.readouterr().err
    rbm.save(tmp_path / "r.dbn")
    loaded = db.load(tmp_path / "r.dbn")
    assert loaded.visible == "auto" and loaded.visible_ == "gaussian"
    np.testing.assert_array_equal(loaded.transform(X * 16), rbm.transform(X * 16))


def test_explicit_units_keep_their_range_check(digits):
    X, _ = digits
    with pytest.raises(ValueError, match="Bernoulli visible units, which need values in \\[0, 1\\]"):
        db.RBM(8, visible="bernoulli", n_iter=1).fit(X * 16)


def test_streamed_rows_pick_their_units_in_the_pass_that_checks_them(digits, tmp_path, monkeypatch):
    from deepbelief.data.streaming import NpyRows

    X, y = digits
    np.save(tmp_path / "raw.npy", X * 16)
    np.save(tmp_path / "unit.npy", X)
    passes = []
    real = NpyRows.blocks
    monkeypatch.setattr(NpyRows, "blocks", lambda self: passes.append(1) or real(self))
    auto = db.RBM(8, n_iter=1, random_state=0).fit(tmp_path / "raw.npy")
    auto_passes, passes[:] = len(passes), []
    explicit = db.RBM(8, visible="gaussian", n_iter=1, random_state=0).fit(tmp_path / "raw.npy")
    assert auto.visible_ == "gaussian" and len(passes) == auto_passes  # no extra pass over the file for 'auto'
    np.testing.assert_array_equal(auto.components_, explicit.components_)
    assert db.DBN((8,), n_iter=1, random_state=0).fit(tmp_path / "unit.npy").visible_ == "bernoulli"
    clf = db.DBNClassifier((8,), max_iter=1, **FAST).fit(tmp_path / "raw.npy", y)
    assert clf.visible_ == "gaussian" and clf.dbn_.visible == "gaussian"
    np.testing.assert_allclose(clf.data_mean_, (X * 16).mean(0), rtol=1e-5)


def test_auto_takes_unit_interval_data_as_bernoulli_only_when_a_quarter_of_the_values_are_0_or_1(digits, tmp_path):
    """Binary data and images (58% of digits' values are 0 or 1) get Bernoulli units; continuous features rescaled
    to [0, 1] (a MinMaxScaler's output) or uniform in [0, 1] get standardised Gaussian units, in memory, sparse
    and streamed alike."""
    import scipy.sparse as sp
    from sklearn.datasets import make_classification
    from sklearn.preprocessing import MinMaxScaler

    X, _ = digits
    continuous = MinMaxScaler().fit_transform(make_classification(300, 10, random_state=0)[0])
    uniform = np.random.default_rng(0).random((300, 10))
    quarter = np.full((100, 4), 0.5)
    quarter[:25] = 0.0  # exactly 25% of the values at 0 (without the first row: 24 of 99)
    expected = {"digits": (X, "bernoulli"), "binary": ((X > 0.5).astype(float), "bernoulli"),
                "minmax": (continuous, "gaussian"), "uniform": (uniform, "gaussian"),
                "a quarter": (quarter, "bernoulli"), "just under": (quarter[1:], "gaussian"),
                "sparse": (sp.random(300, 50, density=0.05, random_state=0, format="csr"), "bernoulli")}
    for name, (data, units) in expected.items():
        assert db.RBM(4, n_iter=1, random_state=0).fit(data).visible_ == units, name
        if not sp.issparse(data):
            np.save(tmp_path / "rows.npy", data.astype(np.float32))
            assert db.RBM(4, n_iter=1, random_state=0).fit(tmp_path / "rows.npy").visible_ == units, name
