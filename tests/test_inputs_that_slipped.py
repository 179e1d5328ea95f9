"""Inputs that slipped through with raw errors (issue 44): each now gets a message that names it."""
import numpy as np
import pytest
from sklearn.ensemble import IsolationForest

import deepbelief as db


@pytest.fixture(scope="module")
def fitted(digits):
    X, y = digits
    return db.RBM(16, n_iter=1, random_state=0).fit(X), db.DBN((16,), n_labels=10, n_iter=1, random_state=0).fit(X, y)


def test_counts_are_checked(digits, fitted):
    X, _ = digits
    rbm, _ = fitted
    with pytest.raises(ValueError, match="n_gibbs must be an integer >= 0; got -1"):  # UnboundLocalError before
        rbm.reconstruct(X[:3], n_gibbs=-1)
    with pytest.raises(ValueError, match="'n_components' parameter of RBM must be an integer, not a bool"):
        db.RBM(n_components=True).fit(X)
    with pytest.raises(ValueError, match="n_samples must be an integer >= 1; got True"):
        rbm.sample(True)
    assert db.RBM(4, persistent=True, n_iter=1).fit(X[:50]).persistent is True  # booleans stay booleans


def test_a_learning_rate_beyond_float32_is_refused(digits):
    X, _ = digits
    with pytest.raises(ValueError, match="learning_rate=1e\\+300 is beyond float32's range"):
        db.RBM(16, n_iter=1, learning_rate=1e300).fit(X)


def test_labels_for_generation_and_up_down_must_match_the_rows(digits, fitted):
    X, y = digits
    _, dbn = fitted
    with pytest.raises(ValueError, match="label holds 2 labels for 3 samples"):
        dbn.generate(3, label=[1, 2])
    assert dbn.generate(2, label=[1, 2], n_gibbs=1, burn_in=1, random_state=0).shape == (2, 64)
    with pytest.raises(ValueError, match="y has 1796 labels but X has 1797 rows"):
        dbn.fine_tune_up_down(X, y[:-1], n_iter=1)


def test_any_scikit_learn_outlier_detector_serves_the_anomaly_detector(digits, tmp_path):
    X, _ = digits
    detector = db.AnomalyDetector(IsolationForest(n_estimators=20), random_state=0).fit(X)
    np.testing.assert_allclose(detector.score_samples(X[:5]), detector.model_.score_samples(X[:5]))
    assert set(np.unique(detector.predict(X))) <= {-1, 1} and 0.05 < np.mean(detector.predict(X) == -1) < 0.15
    with pytest.raises(ValueError, match="leave anomaly_score at its default"):
        db.AnomalyDetector(IsolationForest(n_estimators=5), anomaly_score="reconstruction").fit(X)
    with pytest.raises(TypeError, match="only an AnomalyDetector of a deepbelief RBM or DBN can be saved"):
        detector.save(tmp_path / "a.dbn")


def test_an_impossible_allocation_is_a_device_memory_error(digits):
    X, _ = digits
    with pytest.raises(db.DeviceMemoryError, match="RBM.fit ran out of memory on device='cpu'.*smaller hidden"):
        db.RBM(n_components=10 ** 9, n_iter=1).fit(X)


def test_partial_fit_gets_the_divergence_rule(digits):
    """20 partial_fit calls at an absurd rate left NaN parameters without an error."""
    X, _ = digits
    rbm = db.RBM(8, visible="gaussian", learning_rate=1e20, random_state=0)
    with pytest.raises(db.TrainingDivergedError, match="partial_fit diverged.*keeps its parameters"):
        for _ in range(20):
            rbm.partial_fit(X * 16)
    assert np.isfinite(rbm.components_).all() and np.isfinite(rbm.transform(X[:3] * 16)).all()


def test_values_beyond_float32_are_refused_and_large_float32_columns_standardise(digits):
    """visible='auto' makes huge rows Gaussian; 6e307 overflowed to NaN and 1e39 transformed to NaN silently."""
    X, _ = digits
    with pytest.raises(ValueError, match="computes in float32, but X has values as large as 6e\\+307"):
        db.RBM(3, n_iter=1).fit(np.full((3, 1), 6e307))
    gaussian = db.RBM(8, visible="gaussian", n_iter=1, random_state=0).fit(X * 16)
    with pytest.raises(ValueError, match="values as large as 1e\\+39"):
        gaussian.transform(np.full((2, 64), 1e39))
    wide = (X * 16).astype(np.float32)
    wide[:, 0] = 1e20 * (1 + X[:, 5])  # float32 squares of this column overflow
    rbm = db.RBM(8, visible="gaussian", n_iter=1, random_state=0).fit(wide)
    assert np.isfinite(rbm.data_scale_).all() and np.isfinite(rbm.reconstruct(wide[:3])).all()


def test_compat_checks_the_older_packages_parameters_and_takes_sparse_rows(digits):
    import scipy.sparse as sp

    from deepbelief import compat
    X, y = digits
    with pytest.raises(ValueError, match="fit needs X, the training rows"):  # a TypeError from len(None) before
        compat.SupervisedDBNClassification(verbose=False).fit(None, y)
    with pytest.raises(ValueError, match="activation_function='tanh'.*'sigmoid' or 'relu'"):  # accepted before
        compat.UnsupervisedDBN(activation_function="tanh", verbose=False).fit(X)
    with pytest.raises(ValueError, match="n_epochs_rbm=-1.*integer >= 0"):  # named 'n_iter' of DBN before
        compat.UnsupervisedDBN(n_epochs_rbm=-1, verbose=False).fit(X)
    S = sp.csr_matrix(X)
    model = compat.SupervisedDBNClassification(hidden_layers_structure=[8], n_epochs_rbm=1, n_iter_backprop=2,
                                               verbose=False, random_state=0)
    np.testing.assert_array_equal(model.fit(S, y).predict(S[:20]), model.fit(X, y).predict(X[:20]))
    relu = compat.UnsupervisedDBN(hidden_layers_structure=[8], activation_function="relu", n_epochs_rbm=1,
                                  verbose=False, random_state=0)
    assert relu.fit(S).transform(S[:2]).shape == (2, 8)


def test_a_regressor_refuses_text_targets_with_the_remedy(digits):
    X, _ = digits
    words = np.array(["cat", "dog"])[np.arange(len(X)) % 2]
    with pytest.raises(ValueError, match="DBNRegressor needs numeric targets, but y holds text such as 'cat'"):
        db.DBNRegressor((4,), n_iter=1, max_iter=1).fit(X, words)
    numbers = np.array(["1.5", "2"])[np.arange(len(X)) % 2]  # numbers written as text are numbers
    assert db.DBNRegressor((4,), n_iter=1, max_iter=1).fit(X, numbers).predict(X[:2]).shape == (2,)


def test_compat_matches_dataframe_columns_by_name(digits):
    """compat's predict(df[df.columns[::-1]]) used the reversed pixels as they came (a warning only): columns of a
    DataFrame are matched by name to those of fit; unknown names are scikit-learn's error."""
    import pandas as pd

    from deepbelief import compat
    X, y = digits
    df = pd.DataFrame(X, columns=[f"p{i}" for i in range(X.shape[1])])
    model = compat.SupervisedDBNClassification(hidden_layers_structure=[16], n_epochs_rbm=2, n_iter_backprop=5,
                                               verbose=False, random_state=0).fit(df, y)
    np.testing.assert_array_equal(model.predict_proba(df[df.columns[::-1]]), model.predict_proba(df))
    with pytest.raises(ValueError, match="Feature names unseen at fit time"):
        model.predict(df.rename(columns={"p0": "other"}))
    unsupervised = compat.UnsupervisedDBN(hidden_layers_structure=[8], n_epochs_rbm=1, verbose=False,
                                          random_state=0).fit(df)
    np.testing.assert_array_equal(unsupervised.transform(df[df.columns[::-1]]), unsupervised.transform(df))
