"""The estimators on a CUDA device, where one is present (the device machine runs these with
``benchmarks/gpu_session.sh``): a model moved between devices answers as on the CPU to float tolerance, training on
the device is reproducible with a seed and as good as on the CPU, and model files move both ways.

``DEEPBELIEF_TEST_DEVICE=cpu python -m pytest tests/test_cuda.py`` runs the same checks with the CPU standing in for
the device (so that the checks themselves are exercised where no GPU is)."""
import os

import numpy as np
import pytest
import torch
from sklearn.model_selection import train_test_split

import deepbelief as db
from deepbelief.evaluate import ais, log_partition

DEVICE = os.environ.get("DEEPBELIEF_TEST_DEVICE", "cuda")
pytestmark = pytest.mark.skipif(DEVICE.startswith("cuda") and not torch.cuda.is_available(),
                                reason="needs a CUDA device (or DEEPBELIEF_TEST_DEVICE=cpu)")
CLOSE = dict(rtol=1e-4, atol=1e-5)  # float32 products summed in another order (and TF32 off, the default)


@pytest.fixture(scope="module")
def split(digits):
    X, y = digits
    return train_test_split(X, y, test_size=0.25, random_state=0)


def _moved(model, tmp_path, device):
    model.save(tmp_path / "m.dbn")
    return db.load(tmp_path / "m.dbn", device=device)


@pytest.mark.parametrize("make", [
    lambda X, y: db.RBM(32, n_iter=2, random_state=0).fit(X),
    lambda X, y: db.RBM(32, visible="gaussian", n_iter=2, random_state=0).fit(X * 16),
    lambda X, y: db.DBN((32, 16), n_iter=2, random_state=0).fit(X),
    lambda X, y: db.DBM((32, 16), n_iter=2, max_iter=2, random_state=0).fit(X),
    lambda X, y: db.ConvRBM(4, filter_size=3, pool_size=2, image_shape=(1, 8, 8), n_iter=1, random_state=0).fit(X),
])
def test_a_cpu_model_answers_the_same_on_the_device(split, tmp_path, make):
    Xtr, Xte, ytr, _ = split
    cpu = make(Xtr, ytr)
    device = _moved(cpu, tmp_path, DEVICE)
    data = Xte * 16 if cpu.visible_ == "gaussian" else Xte
    np.testing.assert_allclose(device.transform(data), cpu.transform(data), **CLOSE)
    if hasattr(cpu, "score_samples"):
        np.testing.assert_allclose(device.score_samples(data), cpu.score_samples(data), rtol=1e-4, atol=1e-3)


def test_supervised_predictions_agree_across_devices(split, tmp_path):
    Xtr, Xte, ytr, _ = split
    for cpu in (db.DBNClassifier((32,), n_iter=2, max_iter=5, random_state=0).fit(Xtr, ytr),
                db.DBNRegressor((32,), n_iter=2, max_iter=5, random_state=0).fit(Xtr, ytr * 1.0),
                db.DBN((32,), n_labels=10, n_iter=3, random_state=0).fit(Xtr, ytr)):
        device = _moved(cpu, tmp_path, DEVICE)
        if hasattr(cpu, "predict_proba"):
            np.testing.assert_allclose(device.predict_proba(Xte), cpu.predict_proba(Xte), **CLOSE)
        else:
            np.testing.assert_allclose(device.predict(Xte), cpu.predict(Xte), rtol=1e-4, atol=1e-4)
        back = _moved(device, tmp_path, "cpu")  # and a device model file loads on the CPU
        np.testing.assert_array_equal(back.predict(Xte), device.predict(Xte))


def test_training_on_the_device_is_reproducible_and_as_good_as_on_the_cpu(split):
    Xtr, Xte, ytr, yte = split
    runs = [db.DBNClassifier((64, 64), n_iter=3, max_iter=20, device=DEVICE, random_state=0).fit(Xtr, ytr)
            for _ in range(2)]
    np.testing.assert_allclose(runs[0].predict_proba(Xte), runs[1].predict_proba(Xte), rtol=1e-5, atol=1e-6)
    cpu = db.DBNClassifier((64, 64), n_iter=3, max_iter=20, random_state=0).fit(Xtr, ytr)
    assert runs[0].score(Xte, yte) > cpu.score(Xte, yte) - 0.03
    rbms = [db.RBM(32, n_iter=3, persistent=True, device=DEVICE, random_state=1).fit(Xtr) for _ in range(2)]
    np.testing.assert_allclose(rbms[0].components_, rbms[1].components_, rtol=1e-5, atol=1e-6)


def test_likelihoods_on_the_device(split, tmp_path):
    """Exact log Z by enumeration (float64) equals the CPU's; AIS on the device lands within 0.2 nats of it."""
    Xtr, _, _, _ = split
    cpu = db.RBM(12, n_iter=3, random_state=0).fit(Xtr)
    device = _moved(cpu, tmp_path, DEVICE)
    exact = log_partition(cpu)
    assert abs(log_partition(device) - exact) < 1e-6 * max(1.0, abs(exact))
    assert abs(ais(device, n_runs=200, betas=np.linspace(0, 1, 2000), random_state=0).log_z - exact) < 0.2


@pytest.mark.parametrize("precision", ["tf32", "bfloat16"])
def test_reduced_precision_trains_close_to_float32(split, precision):
    Xtr, Xte, ytr, yte = split
    full = db.DBNClassifier((64,), n_iter=3, max_iter=10, device=DEVICE, random_state=0).fit(Xtr, ytr)
    fast = db.DBNClassifier((64,), n_iter=3, max_iter=10, device=DEVICE, precision=precision,
                            random_state=0).fit(Xtr, ytr)
    assert fast.score(Xte, yte) > full.score(Xte, yte) - 0.03
