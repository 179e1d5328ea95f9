"""Sparse input (issue 39): CSR / CSC matrices train and infer densified one mini-batch (or one bounded chunk) at a
time, with the results of the dense matrix, for RBM, DBN, DBNClassifier, DBNRegressor and AnomalyDetector."""
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MaxAbsScaler

from deepbelief import DBN, RBM, AnomalyDetector, DBNClassifier, DBNRegressor


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    X = d.data / 16
    X[X < 0.4] = 0  # about half the entries zero
    return X.astype(np.float32), d.target


@pytest.mark.parametrize("settings", [dict(), dict(visible="gaussian"), dict(validation_fraction=0.2),
                                      dict(persistent=True, shuffle=False)])
@pytest.mark.parametrize("kind", [sp.csr_matrix, sp.csc_matrix])
def test_an_rbm_on_a_sparse_matrix_is_the_rbm_of_the_dense_one(digits, settings, kind):
    X, _ = digits
    dense = RBM(16, n_iter=3, random_state=0, **settings).fit(X)
    sparse = RBM(16, n_iter=3, random_state=0, **settings).fit(kind(X))
    # Gaussian units: the standardisation's moments come from the sparse matrix in float64 (dense: float32)
    tolerance = dict(rtol=1e-3, atol=1e-4) if settings.get("visible") == "gaussian" else dict(rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(sparse.components_, dense.components_, **tolerance)
    assert sparse.visible_ == dense.visible_ and len(sparse.history_) == 3
    np.testing.assert_allclose(sparse.history_[-1]["reconstruction_error"], dense.history_[-1]["reconstruction_error"],
                               rtol=tolerance["rtol"])
    S = kind(X[:50])
    for method in ("transform", "score_samples", "free_energy", "reconstruct", "reconstruction_error"):
        np.testing.assert_allclose(getattr(sparse, method)(S), getattr(dense, method)(X[:50]),
                                   rtol=max(tolerance["rtol"], 1e-4), atol=1e-3, err_msg=method)


def test_a_dbn_with_labels_on_a_sparse_matrix(digits):
    X, y = digits
    settings = dict(hidden_layer_sizes=(32, 16), n_iter=2, n_labels=10, propagate="sample", random_state=0)
    dense, sparse = DBN(**settings).fit(X, y), DBN(**settings).fit(sp.csr_matrix(X), y)
    for a, b in zip(sparse.rbms_, dense.rbms_):
        np.testing.assert_allclose(a.components_, b.components_, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(sparse.predict(sp.csr_matrix(X)), dense.predict(X))
    np.testing.assert_allclose(sparse.score_samples(sp.csr_matrix(X[:9]), score="reconstruction"),
                               dense.score_samples(X[:9], score="reconstruction"), rtol=1e-4)
    one = DBN(hidden_layer_sizes=(8,), n_iter=2, n_labels=10, random_state=0)  # the label RBM on the sparse rows
    np.testing.assert_allclose(one.fit(sp.csr_matrix(X), y).rbms_[0].components_,
                               DBN(**{**one.get_params()}).fit(X, y).rbms_[0].components_, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("settings", [dict(), dict(pretrain="rbm", early_stopping=True), dict(activation="sigmoid")])
def test_the_supervised_estimators_on_a_sparse_matrix(digits, settings):
    X, y = digits
    common = dict(hidden_layer_sizes=(32,), n_iter=2, max_iter=4, random_state=0, **settings)
    dense, sparse = DBNClassifier(**common).fit(X, y), DBNClassifier(**common).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(sparse.loss_curve_, dense.loss_curve_, rtol=1e-5)
    np.testing.assert_allclose(sparse.predict_proba(sp.csr_matrix(X)), dense.predict_proba(X), rtol=1e-4, atol=1e-6)
    if not settings:
        target = y.astype(np.float64)
        reg_dense, reg_sparse = DBNRegressor(**common).fit(X, target), DBNRegressor(**common).fit(sp.csc_matrix(X),
                                                                                                   target)
        np.testing.assert_allclose(reg_sparse.predict(sp.csr_matrix(X)), reg_dense.predict(X), rtol=1e-4, atol=1e-4)


@pytest.mark.filterwarnings("ignore::deepbelief.OutOfRangeWarning")  # a held-out fold beyond the training maximum
def test_an_anomaly_detector_and_a_pipeline_on_sparse_rows(digits):
    X, y = digits
    S = sp.csr_matrix(X)
    model = DBN(hidden_layer_sizes=(16,), n_iter=2, random_state=0)
    sparse = AnomalyDetector(model, anomaly_score="reconstruction").fit(S)
    dense = AnomalyDetector(model, anomaly_score="reconstruction").fit(X)
    np.testing.assert_allclose(sparse.decision_function(S), dense.decision_function(X), rtol=1e-4, atol=1e-4)
    # scikit-learn's sparse-preserving scaler in front, under cross-validation, as BernoulliRBM users do
    scores = cross_val_score(make_pipeline(MaxAbsScaler(), DBNClassifier(hidden_layer_sizes=(64,), random_state=0)),
                             S * 16, y, cv=3)
    assert scores.mean() > 0.85, scores


def test_sparse_rows_are_densified_a_bounded_chunk_at_a_time(monkeypatch):
    """The peak: a 40,000-row matrix is never densified beyond one chunk of rows (8,192), the batch size when
    training, or the 2^22-value bound for wide matrices."""
    rng = np.random.default_rng(0)
    S = sp.random(40_000, 30, density=0.1, format="csr", random_state=0, dtype=np.float32)
    S.data[:] = rng.random(S.nnz)
    wide = sp.random(300, 20_000, density=0.001, format="csr", random_state=1, dtype=np.float32)
    largest, real = [], sp.csr_matrix.toarray

    def counting(self, *args, **kwargs):
        largest.append(self.shape[0] * self.shape[1])
        return real(self, *args, **kwargs)

    monkeypatch.setattr(sp.csr_matrix, "toarray", counting)
    model = DBN(hidden_layer_sizes=(8, 4), n_iter=1, batch_size=100, random_state=0).fit(S)
    model.transform(S), model.score_samples(S, score="reconstruction")
    assert max(largest) <= 8192 * 30 < S.shape[0] * S.shape[1] / 4
    largest.clear()
    RBM(4, n_iter=1, random_state=0).fit(wide).transform(wide)
    assert max(largest) <= 2**22 // 20_000 * 20_000 < wide.shape[0] * wide.shape[1]
    largest.clear()
    DBNClassifier(hidden_layer_sizes=(8,), n_iter=1, max_iter=1, batch_size=100, random_state=0).fit(
        S, np.arange(40_000) % 2).predict_proba(S)
    assert max(largest) <= 8192 * 30


def test_methods_that_need_dense_rows_say_so(digits):
    X, _ = digits
    rbm, dbn = RBM(8, n_iter=1, random_state=0).fit(X), DBN((8,), n_iter=1, random_state=0).fit(X)
    for call in (lambda: rbm.gibbs(sp.csr_matrix(X)), lambda: dbn.fine_tune_up_down(sp.csr_matrix(X), n_iter=1),
                 lambda: rbm.reconstruct(sp.csr_matrix(X), n_gibbs=2)):
        with pytest.raises(TypeError, match="toarray"):
            call()


def test_a_matrix_with_duplicate_entries_is_summed_in_a_copy():
    """Stored duplicates are summed before the range check (0.3 + 0.4 at one position), without touching the
    caller's matrix."""
    X = sp.csr_matrix((np.tile([0.3, 0.4, 0.5], 20).astype(np.float32), np.tile([0, 0, 1], 20),
                       np.arange(0, 61, 3)), shape=(20, 2))
    assert not X.has_canonical_format
    dense = X.toarray()
    model = RBM(2, n_iter=1, random_state=0).fit(X)
    assert X.nnz == 60 and not X.has_canonical_format  # unchanged
    np.testing.assert_allclose(model.transform(X), RBM(2, n_iter=1, random_state=0).fit(dense).transform(dense),
                               rtol=1e-6)
