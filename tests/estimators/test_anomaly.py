import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score

from deepbelief import DBN, RBM, AnomalyDetector


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X / 16).astype(np.float32), y


def test_offset_follows_the_contamination(digits):
    X, _ = digits
    detector = AnomalyDetector(RBM(n_components=32, n_iter=3, random_state=0), contamination=0.2).fit(X)
    assert np.mean(detector.predict(X) == -1) == pytest.approx(0.2, abs=0.01)
    np.testing.assert_allclose(detector.decision_function(X), detector.score_samples(X) - detector.offset_)
    np.testing.assert_allclose(detector.score_samples(X), -detector.model_.free_energy(X), rtol=1e-6)
    assert detector.n_features_in_ == 64 and isinstance(AnomalyDetector().fit(X[:50]).model_, RBM)


def test_held_out_class_scores_lower(digits):
    X, y = digits
    detector = AnomalyDetector(DBN(hidden_layer_sizes=(64,), n_iter=10, random_state=0),
                               anomaly_score="reconstruction").fit(X[y != 0][:1200])
    normal, unusual = X[y != 0][1200:], X[y == 0]
    scores = detector.score_samples(np.vstack([normal, unusual]))
    assert roc_auc_score(np.r_[np.ones(len(normal)), np.zeros(len(unusual))], scores) > 0.8


def test_errors(digits):
    X, _ = digits
    with pytest.raises(NotFittedError):
        AnomalyDetector().predict(X)
    with pytest.raises(ValueError, match="contamination"):
        AnomalyDetector(contamination=0.7).fit(X)
    with pytest.raises(ValueError, match="values in"):
        AnomalyDetector(RBM(n_iter=1, visible="bernoulli")).fit(X - 1)
