"""Data that only look wrong (issue 39): integer, boolean and float16 tables, constant columns, one row at predict
time. Each is a table users have; each fits and predicts like the float table with the same values."""
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits

import deepbelief as db

FAST = dict(n_iter=1, random_state=0)
MAKERS = {
    "RBM": lambda: db.RBM(8, **FAST),
    "DBN": lambda: db.DBN((8, 4), **FAST),
    "DBNClassifier": lambda: db.DBNClassifier((8,), max_iter=2, **FAST),
    "DBNRegressor": lambda: db.DBNRegressor((8,), max_iter=2, **FAST),
    "DBM": lambda: db.DBM((8, 4), n_iter=1, max_iter=1, random_state=0),
    "DeepAutoencoder": lambda: db.DeepAutoencoder((8, 4), n_iter=1, max_iter=1, random_state=0),
    "AnomalyDetector": lambda: db.AnomalyDetector(db.RBM(8, n_iter=1), random_state=0),
}


@pytest.fixture(scope="module")
def table():
    X, y = load_digits(return_X_y=True)
    return X[:200], y[:200]


def _fit_and_answer(name, X, y):
    """Fit (no warning allowed) and the answer for the first row alone."""
    model = MAKERS[name]()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        if name == "DBNClassifier":
            model.fit(X, y)
        elif name == "DBNRegressor":
            model.fit(X, y * 1.0)
        else:
            model.fit(X)
        row = X[:1]
        out = model.predict(row) if name in ("DBNClassifier", "DBNRegressor") else (
            model.score_samples(row) if name == "AnomalyDetector" else model.transform(row))
    return model, np.asarray(out, dtype=np.float64)


@pytest.mark.parametrize("name", MAKERS)
@pytest.mark.parametrize("kind", ["int64 counts", "uint8 counts", "bool", "float16 in [0, 1]", "float16 counts"])
def test_integer_boolean_and_float16_tables_fit_as_their_float_values(table, name, kind):
    X, y = table
    data = {"int64 counts": X.astype(np.int64), "uint8 counts": X.astype(np.uint8), "bool": X > 8,
            "float16 in [0, 1]": (X / 16).astype(np.float16), "float16 counts": X.astype(np.float16)}[kind]
    model, out = _fit_and_answer(name, data, y)
    _, reference = _fit_and_answer(name, data.astype(np.float64), y)
    assert out.shape[0] == 1 and np.isfinite(out).all()
    np.testing.assert_allclose(out, reference, rtol=1e-5, atol=1e-6)
    if hasattr(model, "visible_"):
        assert model.visible_ == ("bernoulli" if kind in ("bool", "float16 in [0, 1]") else "gaussian")


@pytest.mark.parametrize("name", MAKERS)
def test_a_constant_column_is_harmless(table, name):
    """Gaussian units standardise each column; a constant one (standard deviation 0) becomes zeros, so its value
    does not matter. In [0, 1], a constant column is one more Bernoulli unit that is always at its mean."""
    X, y = table
    _, at_seven = _fit_and_answer(name, np.c_[X, np.full(len(X), 7.0)], y)
    _, at_minus_three = _fit_and_answer(name, np.c_[X, np.full(len(X), -3.0)], y)
    assert np.isfinite(at_seven).all()
    np.testing.assert_allclose(at_seven, at_minus_three, rtol=1e-5, atol=1e-6)
    # in float32 the column's computed standard deviation is its mean's rounding error (1.2e-7 for 0.7), not 0
    _, single_07 = _fit_and_answer(name, np.c_[X, np.full(len(X), 0.7)].astype(np.float32), y)
    _, single_03 = _fit_and_answer(name, np.c_[X, np.full(len(X), 0.3)].astype(np.float32), y)
    np.testing.assert_allclose(single_07, single_03, rtol=1e-5, atol=1e-6)
    _, unit = _fit_and_answer(name, np.c_[X / 16, np.full(len(X), 0.5)], y)
    assert np.isfinite(unit).all()
