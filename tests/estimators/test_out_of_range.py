"""Rows outside the training range (issue 39): fitted models clip them with a warning instead of refusing them,
and training data within rounding of [0, 1] are accepted."""
import numpy as np
import pytest
import torch
from sklearn.datasets import load_wine
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

import deepbelief as db
from deepbelief import OutOfRangeWarning

SMALL = dict(n_iter=2, random_state=0)


def test_a_minmax_pipeline_cross_validates_on_a_raw_table():
    """The held-out fold, scaled with the training fold's minimum and maximum, leaves [0, 1]; predict used to raise."""
    X, y = load_wine(return_X_y=True)
    pipe = make_pipeline(MinMaxScaler(), db.DBNClassifier((32,), visible="bernoulli", max_iter=60, **SMALL))
    with pytest.warns(OutOfRangeWarning, match="outside \\[0, 1\\].*clipped"):
        scores = cross_val_score(pipe, X, y, cv=5)
    assert scores.mean() > 0.85
    # 'auto' standardises such continuous features (one 0 and one 1 per column) as Gaussian units: no clipping
    pipe = make_pipeline(MinMaxScaler(), db.DBNClassifier((32,), max_iter=60, **SMALL))
    assert cross_val_score(pipe, X, y, cv=5).mean() > 0.9
    assert pipe.fit(X, y)[-1].visible_ == "gaussian"


@pytest.mark.parametrize("make", [
    lambda: db.RBM(8, **SMALL),
    lambda: db.DBN((8, 4), **SMALL),
    lambda: db.DBNClassifier((8,), max_iter=2, **SMALL),
    lambda: db.DeepAutoencoder((8, 2), max_iter=2, **SMALL),
    lambda: db.AnomalyDetector(model=db.RBM(8, **SMALL)),
])
def test_inference_on_rows_out_of_range_clips_them_and_touches_nothing_fitted(digits, make):
    X, y = digits
    model = make().fit(X, y)
    before = {k: v.clone() for k, v in _tensors(model).items()}
    rows = X[:20] * 1.5 - 0.2  # values in [-0.2, 1.3]
    given = rows.copy()
    methods = [m for m in ("predict", "predict_proba", "transform", "score_samples", "reconstruct", "denoise")
               if hasattr(model, m)]
    for method in methods:
        with pytest.warns(OutOfRangeWarning) as caught:
            out = getattr(model, method)(rows)
        expected = getattr(model, method)(np.clip(rows, 0, 1))
        np.testing.assert_array_equal(out, expected, err_msg=method)
        outside = int(((rows < 0) | (rows > 1)).sum())
        assert f"{outside} of the {rows.size} values" in str(caught[0].message)
    np.testing.assert_array_equal(rows, given)  # the caller's array is not clipped in place
    assert all(torch.equal(before[k], v) for k, v in _tensors(model).items())


def _tensors(model):
    return model._get_state()[0]


def test_training_data_within_rounding_of_the_unit_interval_are_clipped_and_accepted(digits):
    X, _ = digits
    rounded = X.copy()
    rounded[0, 0], rounded[1, 1] = 1.0 + 1e-7, -1e-7  # what float32 scaling leaves
    fitted = db.RBM(8, **SMALL).fit(rounded)
    np.testing.assert_array_equal(fitted.components_, db.RBM(8, **SMALL).fit(np.clip(rounded, 0, 1)).components_)
    with pytest.raises(ValueError, match="need values in \\[0, 1\\].*\\[0, 1.001\\]"):
        db.RBM(8, visible="bernoulli", **SMALL).fit(np.where(X == X.max(), 1.001, X))
    with pytest.raises(ValueError, match="need values in \\[0, 1\\]"):
        db.DBNClassifier((8,), visible="bernoulli", max_iter=1, **SMALL).fit(X * 2, np.arange(len(X)) % 3)


def test_partial_fit_and_up_down_check_their_training_rows(digits):
    X, y = digits
    rbm = db.RBM(8, **SMALL).partial_fit(X[:50])
    with pytest.raises(ValueError, match="need values in \\[0, 1\\]"):
        rbm.partial_fit(X[:50] * 2)
    dbn = db.DBN((8,), **SMALL).fit(X)
    with pytest.raises(ValueError, match="need values in \\[0, 1\\]"):
        dbn.fine_tune_up_down(X * 2, n_iter=1)
