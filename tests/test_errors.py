"""Every bad input against every public estimator: the error type and the words of its message (issue 10)."""
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from sklearn.utils._param_validation import InvalidParameterError

import deepbelief as db
from deepbelief import DeviceMemoryError, TrainingDivergedError

RNG = np.random.default_rng(0)
X = RNG.random((40, 6)).astype(np.float32)
Y_CLASS = np.arange(40) % 3
Y_REG = RNG.random(40)

ESTIMATORS = {
    "RBM": lambda **kw: db.RBM(4, n_iter=1, **kw),
    "DBN": lambda **kw: db.DBN((4,), n_iter=1, **kw),
    "DBNClassifier": lambda **kw: db.DBNClassifier((4,), n_iter=1, max_iter=1, **kw),
    "DBNRegressor": lambda **kw: db.DBNRegressor((4,), n_iter=1, max_iter=1, **kw),
    "DeepAutoencoder": lambda **kw: db.DeepAutoencoder((4, 2), n_iter=1, max_iter=1, **kw),
    "AnomalyDetector": lambda **kw: db.AnomalyDetector(model=db.RBM(4, n_iter=1, **kw)),
}
# Which name the message uses: the AnomalyDetector's checks are its model's.
OWNER = {name: ("RBM" if name == "AnomalyDetector" else name) for name in ESTIMATORS}


def fit(name, X_, y=None, **params):
    estimator = ESTIMATORS[name](**params)
    if name == "DBNClassifier":
        return estimator.fit(X_, Y_CLASS if y is None else y)
    if name == "DBNRegressor":
        return estimator.fit(X_, Y_REG if y is None else y)
    return estimator.fit(X_)


def with_nan(X_):
    X_ = X_.copy()
    X_[3, 2] = np.nan
    return X_


# (case, call(name) -> None, expected error type, regex the message must match ({owner} is substituted))
BAD_INPUTS = [
    ("NaN", lambda n: fit(n, with_nan(X)), ValueError, "contains NaN"),
    ("infinity", lambda n: fit(n, np.where(X > 0.9, np.inf, X)), ValueError, "infinity"),
    ("1-D", lambda n: fit(n, X[0]), ValueError, "Expected 2D array"),
    ("3-D", lambda n: fit(n, X[None]), ValueError, "dim 3.*required by {owner}"),
    ("empty", lambda n: fit(n, X[:0], Y_CLASS[:0] if n == "DBNClassifier" else Y_REG[:0]), ValueError,
     "0 sample"),
    ("strings", lambda n: fit(n, np.full((40, 6), "a", dtype=object)), ValueError,
     "{owner} needs numeric X.*OneHotEncoder"),
    ("complex", lambda n: fit(n, X + 1j), ValueError, "{owner} got complex numbers.*separate features"),
    ("Bernoulli range", lambda n: fit(n, X * 3, visible="bernoulli"), ValueError, "{owner} has Bernoulli visible units.*\\[0, 1\\].*"
     "visible='gaussian'"),
    ("feature count", lambda n: getattr(fit(n, X), "transform" if hasattr(ESTIMATORS[n](), "transform")
                                        else "predict")(X[:, :3]), ValueError, "3 features.*expecting 6"),
    ("batch_size 0", lambda n: fit(n, X, batch_size=0), InvalidParameterError, "batch_size.*range \\[1, inf\\)"),
    ("negative learning rate", lambda n: fit(n, X, learning_rate=-1.0), InvalidParameterError,
     "learning_rate.*range \\(0.0, inf\\)"),
    ("unknown unit type", lambda n: fit(n, X, visible="poisson"), InvalidParameterError,
     "visible.*among.*'bernoulli'.*poisson"),
]


@pytest.mark.parametrize("name", list(ESTIMATORS))
@pytest.mark.parametrize("case, call, error, match", BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_table(name, case, call, error, match):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(error, match=match.format(owner=OWNER[name])):
            call(name)


@pytest.mark.parametrize("name", ["DBN", "DBNClassifier", "DBNRegressor", "DeepAutoencoder"])
def test_hidden_sizes_must_be_positive(name):
    targets = {"DBNClassifier": [Y_CLASS], "DBNRegressor": [Y_REG]}.get(name, [])
    with pytest.raises(ValueError, match="hidden_layer_sizes must be a non-empty sequence of integers >= 1"):
        ESTIMATORS[name]().set_params(hidden_layer_sizes=(4, 0)).fit(X, *targets)
    with pytest.raises(InvalidParameterError, match="n_components"):
        db.RBM(0).fit(X)


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_batch_larger_than_the_data_is_one_batch(name):
    model = fit(name, X, batch_size=1000)
    assert model.n_features_in_ == 6 if name != "AnomalyDetector" else model.model_.n_features_in_ == 6


@pytest.mark.parametrize("name, y, match", [
    ("DBNClassifier", Y_CLASS[:10], "inconsistent numbers of samples"),
    ("DBNRegressor", Y_REG[:10], "inconsistent numbers of samples"),
    ("DBNClassifier", np.zeros(40), "only 1 class"),
    ("DBNRegressor", np.full(40, np.nan), "NaN"),
])
def test_bad_targets(name, y, match):
    with pytest.raises(ValueError, match=match):
        fit(name, X, y)


SEQUENCE_BAD_INPUTS = [
    ([np.full((10, 3), np.nan)], ValueError, "NaN"),
    ([np.full((10, 3), "a", dtype=object)], ValueError, "needs numeric sequence 0"),
    ([np.zeros((10, 3)) + 1j], ValueError, "complex numbers in sequence 0"),
    ([np.zeros((10, 3)), np.zeros((10, 4))], ValueError, "sequence 1 has 4 features"),
    ([], ValueError, "empty list"),
    (np.zeros(5), ValueError, "expects a sequence"),
    ([np.zeros((0, 3))], ValueError, "0 sample"),
]


@pytest.mark.parametrize("model", [db.ConditionalRBM(4, order=2, n_iter=1), db.ConditionalDBN((4, 2), n_iter=1)],
                         ids=["ConditionalRBM", "ConditionalDBN"])
@pytest.mark.parametrize("X_, error, match", SEQUENCE_BAD_INPUTS)
def test_sequence_models_bad_input(model, X_, error, match):
    with pytest.raises(error, match=match):
        model.fit(X_)


def test_sequence_models_bad_parameters():
    with pytest.raises(InvalidParameterError, match="batch_size"):
        db.ConditionalRBM(batch_size=0).fit(np.zeros((10, 3)))
    with pytest.raises(InvalidParameterError, match="learning_rate"):
        db.ConditionalRBM(learning_rate=-1.0).fit(np.zeros((10, 3)))
    with pytest.raises(InvalidParameterError, match="visible.*poisson"):
        db.ConditionalRBM(visible="poisson").fit(np.zeros((10, 3)))
    with pytest.raises(ValueError, match="visible='gaussian'"):
        db.ConditionalRBM(visible="bernoulli").fit(np.full((10, 3), 2.0))
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        db.ConditionalDBN((0,)).fit(np.zeros((10, 3)))


def test_cuda_requested_without_cuda():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ValueError, match="CUDA is not available.*device='cpu'"):
        db.RBM(4, device="cuda").fit(X)


@pytest.mark.parametrize("name", ["RBM", "DBN", "DBNClassifier", "DeepAutoencoder"])
def test_out_of_memory_names_the_remedy(name, monkeypatch):
    def no_memory(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    monkeypatch.setattr(db.core.rbm.RBMModule, "cd_statistics", no_memory)
    monkeypatch.setattr(db.training.rectified, "rectified_cd", no_memory)  # ReLU networks' pretraining
    with pytest.raises(DeviceMemoryError, match=f"{name}.fit ran out of memory.*20.00 GiB.*smaller batch_size"):
        fit(name, X)


# divergence ------------------------------------------------------------------------------------------
def test_pretraining_divergence_names_the_layer_and_keeps_the_fitted_model(monkeypatch):
    dbn = db.DBN((5, 4), n_iter=2, random_state=0).fit(X)
    before = dbn.transform(X)
    cd_statistics = db.core.rbm.RBMModule.cd_statistics

    def nan_in_layer_1(module, *args, **kwargs):  # fault injection: the second layer's update is NaN
        stats = cd_statistics(module, *args, **kwargs)
        if module.n_visible == 5:
            stats.grad_weight.fill_(float("nan"))
        return stats

    monkeypatch.setattr(db.core.rbm.RBMModule, "cd_statistics", nan_in_layer_1)
    with pytest.raises(TrainingDivergedError, match="layer 1, epoch 0.*non-finite.*lower the learning rate"):
        dbn.fit(X)
    np.testing.assert_array_equal(dbn.transform(X), before)  # the fitted model is untouched


def test_learning_rate_1e3_diverges_and_keeps_the_last_good_parameters():
    Xg = RNG.normal(size=(200, 6)).astype(np.float32)
    rbm = db.RBM(5, visible="gaussian", learning_rate=1e3, n_iter=3, random_state=0)
    with pytest.raises(TrainingDivergedError, match="layer 0, epoch 0.*learning_rate=1000"):
        rbm.fit(Xg)
    assert np.isfinite(rbm.components_).all() and np.isfinite(rbm.transform(Xg)).all()


def test_fine_tuning_divergence_keeps_usable_weights():
    clf = db.DBNClassifier((8,), n_iter=1, max_iter=5, learning_rate=1e3, momentum=0.9, random_state=0)
    with pytest.raises(TrainingDivergedError, match="fine-tuning diverged in epoch \\d+.*keeps the weights"):
        clf.fit(X, Y_CLASS)
    assert all(torch.isfinite(p).all() for p in clf.network_.parameters())
    proba = clf.predict_proba(X)
    assert np.isfinite(proba).all() and len(clf.loss_curve_) == clf.n_iter_
    assert all(np.isfinite(clf.loss_curve_))


def test_conditional_rbm_divergence():
    seq = RNG.normal(size=(100, 3)).cumsum(0)
    with pytest.raises(TrainingDivergedError, match="learning_rate=1000"):
        db.ConditionalRBM(4, order=2, learning_rate=1e3, n_iter=5, random_state=0).fit(seq)


def test_exploding_reconstruction_error_is_divergence():
    """Gaussian units grow for a while before overflowing: a thousandfold rise of the monitor stops training."""
    from deepbelief.training import CDConfig, CDTrainer, train_rbm

    rbm = db.core.rbm.RBMModule(6, 4, visible="gaussian")
    trainer = CDTrainer(rbm, CDConfig(learning_rate=0.01), torch.Generator().manual_seed(0))
    data = torch.randn(100, 6, generator=torch.Generator().manual_seed(1))
    calls = []

    def fake_epoch(data_, batch_size, epoch, order=None):
        calls.append(epoch)
        return 1.0 if epoch == 0 else 5000.0

    trainer.run_epoch = fake_epoch
    with pytest.raises(TrainingDivergedError, match="exploded to 5e\\+03 from 1"):
        train_rbm(trainer, data, 5, 10)
    assert calls == [0, 1]


# threads ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, method", [("RBM", "transform"), ("DBN", "transform"),
                                          ("DBNClassifier", "predict_proba"), ("DBNRegressor", "predict"),
                                          ("DeepAutoencoder", "transform"), ("AnomalyDetector", "score_samples")])
def test_inference_is_thread_safe(name, method):
    model = fit(name, X, random_state=0) if name != "AnomalyDetector" else fit(name, X)
    rows = RNG.random((3000, 6)).astype(np.float32)
    expected = getattr(model, method)(rows)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: getattr(model, method)(rows), range(16)))
    for r in results:
        np.testing.assert_array_equal(r, expected)


# the command line ------------------------------------------------------------------------------------
def csv_text(rows, header=("a", "b", "c", "label")):
    return "\n".join([",".join(header)] + [",".join(str(v) for v in row) for row in rows]) + "\n"


GOOD_ROWS = [[round(float(v), 3) for v in r] + [i % 2] for i, r in enumerate(RNG.random((30, 3)))]
CLI_CASES = [
    ("NaN cell", GOOD_ROWS[:5] + [[np.nan, 0.1, 0.2, 1]] + GOOD_ROWS[5:], [], 2, "line 7: a missing or infinite"),
    ("infinite cell", GOOD_ROWS[:5] + [["inf", 0.1, 0.2, 1]] + GOOD_ROWS[5:], [], 2, "line 7: a missing or infinite"),
    ("text cell", GOOD_ROWS[:5] + [["red", 0.1, 0.2, 1]] + GOOD_ROWS[5:], [], 2, "'red' is not a number"),
    ("complex cell", GOOD_ROWS[:5] + [["1+2j", 0.1, 0.2, 1]] + GOOD_ROWS[5:], [], 2, "not a number"),
    ("one class", [r[:3] + [0] for r in GOOD_ROWS], [], 2, "only 1 class"),
    ("one row", GOOD_ROWS[:1], ["--test-size", "0"], 2, "only 1 class"),
    ("hidden size 0", GOOD_ROWS, ["--layers", "0"], 2, "hidden_layer_sizes"),
    ("batch size 0", GOOD_ROWS, ["--batch-size", "0"], 2, "'batch_size' parameter of DBNClassifier must be"),
    ("negative learning rate", GOOD_ROWS, ["--learning-rate", "-1"], 2, "'learning_rate' parameter of"),
    ("unknown option value", GOOD_ROWS, ["--param", "visible=poisson"], 2, "'visible' parameter of DBNClassifier"),
    ("unknown task", GOOD_ROWS, ["--task", "cluster"], 2, "invalid choice"),
    ("missing CUDA", GOOD_ROWS, ["--device", "cuda"] if not torch.cuda.is_available() else ["--device", "tpu"], 2,
     "device='"),
    ("Bernoulli range", [[3.0, 5.0, 7.0, i % 2] for i in range(30)], ["--scale", "none", "--param",
                                                                        "visible=bernoulli"], 2, "visible='gaussian'"),
    ("diverging fine-tuning", GOOD_ROWS, ["--learning-rate", "1e4", "--param", "momentum=0.99"], 1,
     "training failed: fine-tuning diverged"),
]


@pytest.mark.parametrize("case, rows, args, code, message", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_cli_bad_input_table(case, rows, args, code, message, tmp_path, capsys):
    from deepbelief.cli import main

    path = tmp_path / "data.csv"
    path.write_text(csv_text(rows))
    argv = ["train", str(path), "--layers", "4", "--epochs", "1", "--max-iter", "30", "--quiet", *args,
            "--out", str(tmp_path / "out")]
    try:
        got = main(argv)
    except SystemExit as exc:  # argparse's own errors
        got = exc.code
    err = capsys.readouterr().err
    assert got == code, err
    assert message in err and "Traceback" not in err
    if code == 2:
        assert not (tmp_path / "out" / "model.dbn").exists()


def test_divergence_leaves_the_last_checkpoint_to_resume_from(monkeypatch, tmp_path):
    reference = db.DBN((5, 4), n_iter=2, random_state=0).fit(X)
    cd_statistics = db.core.rbm.RBMModule.cd_statistics

    def nan_in_layer_1(module, *args, **kwargs):
        stats = cd_statistics(module, *args, **kwargs)
        if module.n_visible == 5:
            stats.grad_weight.fill_(float("nan"))
        return stats

    dbn = db.DBN((5, 4), n_iter=2, random_state=0, checkpoint_dir=tmp_path)
    with monkeypatch.context() as m:
        m.setattr(db.core.rbm.RBMModule, "cd_statistics", nan_in_layer_1)
        with pytest.raises(TrainingDivergedError, match="layer 1"):
            dbn.fit(X)
    assert (tmp_path / "pretraining.ckpt").exists()  # written after layer 0, before the failure
    dbn.fit(X, resume=True)  # the fault is gone: the run resumes from layer 0's checkpoint
    np.testing.assert_array_equal(dbn.transform(X), reference.transform(X))
