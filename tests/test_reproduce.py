import json
import os

import numpy as np
import pytest

from deepbelief import checkpoint, reproduce
from deepbelief.estimators._layer import RBMLayer


@pytest.fixture
def rbm_epochs(monkeypatch):
    """The epoch count of every RBM training call, in order (0 when a finished pretraining is resumed)."""
    trained, original = [], RBMLayer.train

    def counting(self, data, n_epochs, *args, **kwargs):
        trained.append(n_epochs)
        return original(self, data, n_epochs, *args, **kwargs)

    monkeypatch.setattr(RBMLayer, "train", counting)
    return trained


@pytest.mark.slow
def test_semi_supervised_row_pretrains_once_for_both_label_counts(rbm_epochs):
    rng = np.random.default_rng(0)
    X, y = rng.random((150, 784), dtype=np.float32), np.arange(150) % 10
    budget = reproduce.Budget(pretrain_epochs=1, semi_supervised_updates=3)
    record = reproduce._row_semi_supervised(((X, y), (X[:20], y[:20])), budget, "cpu", 0)
    # Three layers trained once: the 1,000-label run resumes the finished pretraining (0 epochs left).
    assert [n for n in rbm_epochs if n] == [1, 1, 1]
    assert set(record["value"]) == {"100 labels, pretrained", "100 labels, random init", "1000 labels, pretrained",
                                    "1000 labels, random init"}
    assert all(0 <= v <= 100 for v in record["value"].values())


def test_classifier_row_refits_on_all_rows_for_the_validation_epoch_count(monkeypatch, rbm_epochs):
    from deepbelief import DBNClassifier
    fits, original_fit = [], DBNClassifier.fit

    def recording(self, X, y, **kwargs):
        original_fit(self, X, y, **kwargs)
        fits.append((self.early_stopping, self.max_iter, self.n_iter_, self.validation_scores_, len(X)))
        return self

    monkeypatch.setattr(DBNClassifier, "fit", recording)
    rng = np.random.default_rng(0)
    X, y = rng.random((120, 784), dtype=np.float32), np.arange(120) % 10
    budget = reproduce.Budget(pretrain_epochs=1, fine_tune_epochs=6)
    record = reproduce._row_classifier(((X, y), (X[:20], y[:20])), budget, "cpu", 0, n_iter_no_change=2)
    assert [n for n in rbm_epochs if n] == [1, 1, 1]  # the refit resumes the finished pretraining
    (stopping, _, _, scores, rows), refit = fits
    chosen = int(np.argmax(scores)) + 1
    assert stopping and refit == (False, chosen, chosen, None, 120) and rows == 120
    assert set(record["value"]) == {reproduce.REFIT, reproduce.EARLY_STOPPED}
    assert f"({chosen} epochs" in record["settings"]["refit"]
    assert record["validation_accuracy"] == pytest.approx(scores, abs=0)


@pytest.mark.slow
def test_classifier_row_keeps_its_pretraining_in_the_given_file(rbm_epochs, tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.random((120, 784), dtype=np.float32), np.arange(120) % 10
    data, saved = ((X, y), (X[:20], y[:20])), tmp_path / "kept.ckpt"  # not the name the fit itself writes
    budget = reproduce.Budget(pretrain_epochs=1, fine_tune_epochs=3)
    first = reproduce._row_classifier(data, budget, "cpu", 0, pretrained=saved, n_iter_no_change=2)
    assert saved.exists() and [n for n in rbm_epochs if n] == [1, 1, 1]
    # progress bars (dropout_mnist.py --verbose) neither block the reuse nor enter the row's settings
    second = reproduce._row_classifier(data, budget, "cpu", 0, pretrained=saved, n_iter_no_change=2, verbose=True)
    assert [n for n in rbm_epochs if n] == [1, 1, 1]  # the second call pretrains nothing
    assert second["value"] == first["value"] and second["validation_accuracy"] == first["validation_accuracy"]
    assert second["settings"] == first["settings"]


def test_up_down_row_runs_its_stages_in_order(monkeypatch):
    from deepbelief import DBN
    stages = []
    original = DBN.fine_tune_up_down

    def recording(self, X, y=None, **kwargs):
        stages.append((kwargs["n_iter"], kwargs["k"], kwargs["random_state"]))
        return original(self, X, y, **kwargs)

    monkeypatch.setattr(DBN, "fine_tune_up_down", recording)
    rng = np.random.default_rng(0)
    X, y = (rng.random((60, 784)) < 0.3).astype(np.float32), np.arange(60) % 10
    budget = reproduce.Budget(pretrain_epochs=1, up_down_stages=((1, 3), (2, 6)))
    record = reproduce._row_up_down(((X, y), (X[:20], y[:20])), budget, "cpu", 5)
    assert stages == [(1, 3, 5), (2, 6, 6)]
    assert record["settings"]["up_down"]["stages"] == [{"n_iter": 1, "k": 3}, {"n_iter": 2, "k": 6}]
    assert 0 <= record["value"] <= 100


def uninterrupted_up_down(monkeypatch, stages):
    """(data, budget, probabilities): a tiny up-down row run once without saving; every later run of the row
    appends its test-row probabilities to ``probabilities`` too."""
    probabilities = []
    monkeypatch.setattr(reproduce, "_error", lambda model, X, y: probabilities.append(model.predict_proba(X)) or 0.0)
    rng = np.random.default_rng(0)
    X, y = (rng.random((60, 784)) < 0.3).astype(np.float32), np.arange(60) % 10
    data, budget = ((X, y), (X[:20], y[:20])), reproduce.Budget(pretrain_epochs=1, up_down_stages=stages)
    reproduce._row_up_down(data, budget, "cpu", 5)
    return data, budget, probabilities


def test_up_down_row_resumes_after_an_interruption_with_the_same_network(monkeypatch, tmp_path):
    from deepbelief import DBN
    data, budget, probabilities = uninterrupted_up_down(monkeypatch, ((1, 2), (1, 3)))

    original, calls, interrupt = DBN.fine_tune_up_down, [], [True]

    def stages(self, *args, **kwargs):
        calls.append(kwargs["k"])
        if interrupt[0] and len(calls) == 2:
            raise KeyboardInterrupt  # stopped during the second stage
        return original(self, *args, **kwargs)

    monkeypatch.setattr(DBN, "fine_tune_up_down", stages)
    with pytest.raises(KeyboardInterrupt):
        reproduce._row_up_down(data, budget, "cpu", 5, tmp_path)
    assert sorted(p.name.rsplit("-", 1)[1] for p in tmp_path.iterdir()) == ["stage1.dbn", "stage2.partial"]
    calls.clear()
    interrupt[0] = False
    record = reproduce._row_up_down(data, budget, "cpu", 5, tmp_path)
    assert calls == [3]  # only the second stage runs again
    assert "1 of 2 up-down stages done" in record["settings"]["resumed"] and record["earlier_seconds"] > 0
    np.testing.assert_array_equal(probabilities[1], probabilities[0])
    assert [p.name.rsplit("-", 1)[1] for p in tmp_path.iterdir()] == ["stage2.dbn"]  # the newest file only
    # Other settings or seed: a fresh start, not the saved network.
    other = reproduce._row_up_down(data, budget, "cpu", 6, tmp_path)
    assert "resumed" not in other["settings"]


def test_up_down_row_resumes_within_a_stage(monkeypatch, tmp_path):
    from deepbelief.training import up_down as module
    data, budget, probabilities = uninterrupted_up_down(monkeypatch, ((1, 2), (4, 3)))
    real, steps = module.up_down_step, []

    def step(*args):  # one batch per epoch here
        steps.append(args)
        if len(steps) == 4:
            raise KeyboardInterrupt  # in the second stage's third epoch
        return real(*args)

    monkeypatch.setattr(module, "up_down_step", step)
    with pytest.raises(KeyboardInterrupt):
        reproduce._row_up_down(data, budget, "cpu", 5, tmp_path)
    (partial,) = tmp_path.glob("*-stage2.partial")
    assert checkpoint.read(partial / "up_down.ckpt")[1]["epoch"] == 2
    steps.clear()
    record = reproduce._row_up_down(data, budget, "cpu", 5, tmp_path)
    assert len(steps) == 2  # the stage's last two epochs only
    assert record["settings"]["resumed"].endswith("1 of 2 up-down stages done); stage 2 from its epoch 2")
    assert record["earlier_seconds"] > 0
    np.testing.assert_array_equal(probabilities[1], probabilities[0])
    assert [p.name.rsplit("-", 1)[1] for p in tmp_path.iterdir()] == ["stage2.dbn"]


def test_stage_clock_counts_a_stopped_run_up_to_its_last_checkpoint(tmp_path):
    partial = tmp_path / "stage"
    assert reproduce._stage_clock(partial, 100.0) == 0.0  # a first start: nothing earlier
    started = json.loads((partial / "clock.json").read_text())
    assert started["seconds"] == 100.0
    (partial / "up_down.ckpt").write_bytes(b"")
    os.utime(partial / "up_down.ckpt", (started["wall"] + 30.0, started["wall"] + 30.0))
    assert reproduce._stage_clock(partial, 101.0) == pytest.approx(29.0)  # 100 + 30 then, 101 now
    assert json.loads((partial / "clock.json").read_text())["seconds"] == pytest.approx(130.0)


@pytest.fixture
def rbm_budget(monkeypatch):
    """A tiny budget for the RBM rows, whose MNIST is 60 random binary rows (the first 10 also the test rows)."""
    X = (np.random.default_rng(0).random((60, 784)) < 0.3).astype(np.float32)
    monkeypatch.setattr(reproduce, "load_mnist", lambda *a, **k: ((X, None), (X[:10], None)))
    return reproduce.Budget(n_train=None, rbm_epochs=1, cd_k=1, ais_runs=8, ais_betas=200)


def test_rbm_row_reports_the_ais_interval(rbm_budget):
    budget = rbm_budget
    record = reproduce._row_rbm_ais(budget, "cpu", 0, None)
    ais = record["ais"]
    low, high = ais["log_z_interval"]
    assert (low is None or low < ais["log_z"]) and ais["log_z"] < high
    # log Z one nat higher makes every row's log-likelihood one nat lower
    assert ais["test_interval"][0] == pytest.approx(record["value"] - (high - ais["log_z"]))
    assert ais["test_interval"][1] is None if low is None else ais["test_interval"][1] > record["value"]
    record.update(row="rbm_ais", experiment="x", anchor="y", target="z", seconds=1.0)
    table = reproduce.markdown([record], {"library_version": "v", "torch": "t", "device": "cpu", "seed": 0,
                                          "quick": True})
    assert f"AIS log Z {ais['log_z']:.2f}, 3-std interval" in table
    # RAISE from below on the first test rows (all 10 here), with the AIS estimate of the same rows above it
    bounds = record["raise"]
    assert bounds["rows"] == 10 and bounds["lower"] <= bounds["raise_mean"]
    assert bounds["ais_estimate"] == pytest.approx(record["value"])  # the same 10 rows here
    assert f"on the first 10 test rows, RAISE {bounds['raise_mean']:.2f}" in table


def test_classification_rbm_rows_train_their_objectives(monkeypatch):
    from deepbelief import RBM

    X = (np.random.default_rng(0).random((60, 784)) < 0.3).astype(np.float32)
    y = np.arange(60) % 10
    fitted = []
    real = RBM.fit
    monkeypatch.setattr(RBM, "fit", lambda self, *a, **k: fitted.append(self.get_params()) or real(self, *a, **k))
    budget = reproduce.Budget(classification_rbm_epochs=2)
    for name in ("drbm", "hdrbm", "sparse_hdrbm"):
        record = reproduce._row_classification_rbm(((X, y), (X[:10], y[:10])), budget, "cpu", 0, name)
        assert 0 <= record["value"] <= 100 and len(record["validation_error"]) == 2
    assert [(p["objective"], p["n_components"], p["generative_weight"]) for p in fitted] == [
        ("discriminative", 500, 0.01), ("hybrid", 1500, 0.01), ("hybrid", 3000, 0.01)]
    assert fitted[2]["sparsity_cost"] > 0 and fitted[0]["validation_fraction"] == pytest.approx(1 / 6)


def test_best_rbm_row_trains_the_centred_rbm_with_weight_decay(rbm_budget):
    budget = rbm_budget
    plain = reproduce._row_rbm_ais(budget, "cpu", 0, None)
    best = reproduce._row_rbm_ais(budget, "cpu", 0, None, **reproduce.BEST_RBM)
    assert best["settings"]["centering"] is True and best["settings"]["weight_decay"] == 5e-4
    assert "centering" not in plain["settings"]
    assert np.isfinite(best["value"]) and best["value"] != plain["value"]


@pytest.mark.slow
def test_fashion_row_keeps_both_networks_early_stopped_errors_and_curves(monkeypatch):
    rng = np.random.default_rng(0)
    X, y = rng.random((120, 784), dtype=np.float32), np.arange(120) % 10
    monkeypatch.setattr(reproduce, "load_fashion_mnist", lambda *a, **k: ((X, y), (X[:20], y[:20])))
    budget = reproduce.Budget(n_train=None, pretrain_epochs=1, fine_tune_epochs=3)
    record = reproduce._row_fashion(budget, "cpu", 0, None)
    names = {"DBNClassifier", "same network, random init (MLP)"}
    assert set(record["value"]) == set(record[reproduce.EARLY_STOPPED]) == set(record["validation_accuracy"]) == names
    assert all(len(curve) == 3 for curve in record["validation_accuracy"].values())
    assert set(record["settings"]["refit"]) == names
    record.update(row="fashion", experiment="x", anchor="y", target="z", seconds=1.0)
    table = reproduce.markdown([record], {"library_version": "v", "torch": "t", "device": "cpu", "seed": 0,
                                          "quick": True})
    assert f"- fashion: {reproduce.EARLY_STOPPED}, before the refit on all rows: " in table


def test_test_error_is_the_error_count_over_the_rows():
    class Guess:
        def predict(self, X):
            return np.where(np.arange(len(X)) < 110, 1, 0)

    y = np.zeros(10000, dtype=int)
    # 110 wrong of 10,000: 1.1 exactly as written to the table (the mean's 1.0999999999999999 was not)
    assert repr(reproduce._error(Guess(), np.zeros((10000, 1)), y)) == "1.1"
    assert reproduce._error(Guess(), np.zeros((200, 1)), y[:200]) == 55.0
