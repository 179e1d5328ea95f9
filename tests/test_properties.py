"""Property-based tests of the public API (issue 10): random shapes, dtypes and values either work or raise the
library's documented errors (ValueError / TypeError and their subclasses), and fitted models keep their invariants."""
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

import deepbelief as db

DOCUMENTED = (ValueError, TypeError)  # InvalidParameterError, ModelFileError, DataError are subclasses
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

numeric = st.sampled_from([np.float32, np.float64, np.int64, np.uint8, np.bool_, np.complex64])
shapes = array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=12)
any_arrays = st.one_of(
    arrays(numeric, shapes),  # every value the dtype holds, NaN and infinities included
    arrays(object, shapes, elements=st.one_of(st.floats(), st.integers(-5, 5), st.text(max_size=2))),
    arrays(np.float64, array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=12),
           elements=st.one_of(st.floats(-1e6, 1e6), st.sampled_from([np.nan, np.inf, -np.inf]))),
    arrays(np.float32, array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=12),
           elements=st.floats(0, 1, width=32)),
)
unit_data = arrays(np.float32, st.tuples(st.integers(2, 30), st.integers(1, 6)), elements=st.floats(0, 1, width=32))


def quietly(fn, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args)


@pytest.mark.parametrize("make", [lambda: db.RBM(3, n_iter=1), lambda: db.DBN((3, 2), n_iter=1),
                                  lambda: db.DeepAutoencoder((3, 2), n_iter=1, max_iter=1),
                                  lambda: db.RBM(3, visible="gaussian", n_iter=1)],
                         ids=["RBM", "DBN", "DeepAutoencoder", "GaussianRBM"])
@SETTINGS
@given(X=any_arrays)
def test_unsupervised_fit_works_or_raises_documented_errors(make, X):
    model = make()
    try:
        quietly(model.fit, X)
    except DOCUMENTED:
        return
    Z = model.transform(X)
    assert Z.shape[0] == X.shape[0] and np.isfinite(Z).all()


@SETTINGS
@given(X=any_arrays, y=arrays(np.int64, st.integers(0, 14), elements=st.integers(-1, 3)))
def test_classifier_fit_works_or_raises_documented_errors(X, y):
    clf = db.DBNClassifier((3,), n_iter=1, max_iter=1)
    try:
        quietly(clf.fit, X, y)
    except DOCUMENTED:
        return
    proba = clf.predict_proba(X)
    assert proba.shape == (X.shape[0], len(clf.classes_))


@SETTINGS
@given(X=unit_data, k=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_fitted_rbm_invariants(X, k, seed):
    # explicit Bernoulli units: 'auto' standardises unit-interval data with few 0s and 1s as Gaussian units
    rbm = quietly(db.RBM(k, visible="bernoulli", n_iter=1, batch_size=7, random_state=seed).fit, X)
    H = rbm.transform(X)
    assert H.shape == (len(X), k) and ((H >= 0) & (H <= 1)).all()
    R = rbm.reconstruct(X)
    assert R.shape == X.shape and ((R >= 0) & (R <= 1)).all()
    X_before = X.copy()
    rbm.score_samples(X)
    np.testing.assert_array_equal(X, X_before)  # input unmodified


@SETTINGS
@given(X=unit_data, seed=st.integers(0, 2**16), n_classes=st.integers(2, 4))
def test_fitted_classifier_invariants(X, seed, n_classes):
    n_classes = min(n_classes, len(X))
    y = np.arange(len(X)) % n_classes
    clf = quietly(db.DBNClassifier((4,), n_iter=1, max_iter=2, batch_size=5, random_state=seed).fit, X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), n_classes)
    assert ((proba >= 0) & (proba <= 1)).all()
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(1)])


@SETTINGS
@given(data=st.binary(min_size=0, max_size=300))
def test_load_of_arbitrary_bytes_is_a_model_file_error(data, tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "model.dbn"
    path.write_bytes(data)
    with pytest.raises(db.ModelFileError):
        db.load(path)


@SETTINGS
@given(seqs=st.lists(arrays(np.float64, st.tuples(st.integers(0, 8), st.integers(1, 3)),
                            elements=st.one_of(st.floats(-10, 10), st.just(np.nan))), min_size=0, max_size=3))
def test_sequence_model_works_or_raises_documented_errors(seqs):
    crbm = db.ConditionalRBM(3, order=2, n_iter=1)
    try:
        quietly(crbm.fit, seqs)
    except DOCUMENTED:
        return
    long_enough = [s for s in seqs if len(s) > 2 and s.shape[1] == crbm.n_features_in_]
    if long_enough:
        assert [p.shape for p in crbm.predict(long_enough)] == [(len(s) - 2, s.shape[1]) for s in long_enough]
