import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch

from deepbelief import DBN, checkpoint
from deepbelief.errors import ModelFileError

SETTINGS = dict(hidden_layer_sizes=(120, 80), n_iter=12, persistent=True, sparsity_cost=0.01, lr_schedule="linear",
                random_state=0)


def data():
    return (np.random.default_rng(0).random((6000, 100)) < 0.3).astype(np.float32)


def interrupt_after(monkeypatch, cls, n_steps):
    """Make ``cls.step`` raise KeyboardInterrupt at its ``n_steps``-th call (a training stopped mid-epoch)."""
    real, steps = cls.step, []

    def step(self, *args, **kwargs):
        steps.append(1)
        if len(steps) == n_steps:
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(cls, "step", step)


def state_of(path):
    return checkpoint.read(path)[1] if path.exists() else None


@pytest.mark.slow
def test_a_killed_pretraining_resumes_to_the_same_parameters(tmp_path):
    script = textwrap.dedent(f"""
        import numpy as np, torch
        torch.set_num_threads({torch.get_num_threads()})
        from deepbelief import DBN
        X = (np.random.default_rng(0).random((6000, 100)) < 0.3).astype(np.float32)
        DBN(checkpoint_dir={str(tmp_path)!r}, **{SETTINGS!r}).fit(X)
    """)
    process = subprocess.Popen([sys.executable, "-c", script])
    path = tmp_path / "pretraining.ckpt"
    deadline = time.time() + 120
    while time.time() < deadline:  # kill it during the second layer, between two checkpoints
        state = state_of(path) if path.exists() else None
        if state is not None and state["layer"] == 1 and state["layers"][1]["n_iter"] >= 3:
            break
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = state_of(path)
    assert killed_at["layer"] == 1 and killed_at["layers"][1]["n_iter"] < 12  # it really was mid-run
    X = data()
    resumed = DBN(checkpoint_dir=tmp_path, **SETTINGS).fit(X, resume=True)
    reference = DBN(**SETTINGS).fit(X)
    for a, b in zip(resumed.rbms_, reference.rbms_):
        for name in ("weight", "visible_bias", "hidden_bias"):
            assert torch.equal(getattr(a.module_, name), getattr(b.module_, name))
        assert a.history_ == b.history_
    np.testing.assert_array_equal(resumed.transform(X[:5]), reference.transform(X[:5]))


def test_resume_checks(tmp_path):
    X = data()[:500]
    small = dict(hidden_layer_sizes=(8,), n_iter=2, random_state=0)
    fresh = DBN(checkpoint_dir=tmp_path, **small).fit(X, resume=True)  # no checkpoint yet: a normal fit
    assert (tmp_path / "pretraining.ckpt").exists()
    again = DBN(checkpoint_dir=tmp_path, **small).fit(X, resume=True)  # finished: nothing left to train
    assert torch.equal(again.rbms_[0].module_.weight, fresh.rbms_[0].module_.weight)
    with pytest.raises(ValueError, match="other data"):
        DBN(checkpoint_dir=tmp_path, **small).fit(X[:400], resume=True)
    with pytest.raises(ValueError, match="other hyperparameters"):
        DBN(checkpoint_dir=tmp_path, **{**small, "k": 2}).fit(X, resume=True)
    with pytest.raises(ValueError, match="resume=True needs checkpoint_dir"):
        DBN(**small).fit(X, resume=True)
    (tmp_path / "pretraining.ckpt").write_bytes(b"garbage")
    with pytest.raises(ModelFileError, match="cannot resume"):
        DBN(checkpoint_dir=tmp_path, **small).fit(X, resume=True)
    assert json.dumps(DBN(checkpoint_dir=tmp_path).get_params(), default=os.fspath)


CLASSIFIER = dict(hidden_layer_sizes=(128, 64), pretrain="rbm", n_iter=3, max_iter=40, early_stopping=True,
                  n_iter_no_change=100, random_state=0)


def labelled():
    X = data()
    return X, (X[:, :10].sum(1) > 3).astype(int) + (X[:, 10:20].sum(1) > 3)


@pytest.mark.parametrize("optimizer, ema_decay", [("sgd", None), ("adam", None), ("adam", 0.99)])
@pytest.mark.slow
def test_a_killed_fine_tuning_resumes_to_the_same_network(optimizer, ema_decay, tmp_path):
    settings = {**CLASSIFIER, "optimizer": optimizer, "learning_rate": 0.05 if optimizer == "sgd" else 1e-3,
                "ema_decay": ema_decay}
    script = textwrap.dedent(f"""
        import numpy as np, torch
        torch.set_num_threads({torch.get_num_threads()})
        from deepbelief import DBNClassifier
        from tests.test_checkpoint import labelled
        X, y = labelled()
        DBNClassifier(checkpoint_dir={str(tmp_path)!r}, **{settings!r}).fit(X, y)
    """)
    process = subprocess.Popen([sys.executable, "-c", script], cwd=os.path.dirname(os.path.dirname(__file__)))
    path = tmp_path / "fine_tuning.ckpt"
    deadline = time.time() + 120
    while time.time() < deadline:
        state = state_of(path) if path.exists() else None
        if state is not None and state["progress"]["epoch"] >= 5:
            break
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert 5 <= state_of(path)["progress"]["epoch"] < 40
    X, y = labelled()
    from deepbelief import DBNClassifier
    resumed = DBNClassifier(checkpoint_dir=tmp_path, **settings).fit(X, y, resume=True)
    reference = DBNClassifier(**settings).fit(X, y)
    assert resumed.loss_curve_ == reference.loss_curve_ and resumed.validation_scores_ == reference.validation_scores_
    for a, b in zip(resumed.network_.parameters(), reference.network_.parameters()):
        assert torch.equal(a, b)
    assert np.array_equal(resumed.predict_proba(X[:50]), reference.predict_proba(X[:50]))


def test_a_checkpoint_written_before_a_parameter_existed_resumes_with_its_default(tmp_path):
    from deepbelief import DBNClassifier

    X, y = labelled()
    X, y = X[:300], y[:300]
    small = dict(hidden_layer_sizes=(16,), n_iter=1, max_iter=3, random_state=0, checkpoint_dir=tmp_path)
    fitted = DBNClassifier(**small).fit(X, y)
    path = tmp_path / "fine_tuning.ckpt"
    tensors, state = checkpoint.read(path)
    del state["params"]["max_norm"]  # as an older version wrote it
    checkpoint.write(path, tensors, state)
    resumed = DBNClassifier(**small).fit(X, y, resume=True)
    for a, b in zip(resumed.network_.parameters(), fitted.network_.parameters()):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="other hyperparameters"):
        DBNClassifier(**small, max_norm=2.0).fit(X, y, resume=True)


UP_DOWN = dict(hidden_layer_sizes=(20, 12), n_labels=3, n_iter=2, batch_size=50, random_state=0)


def up_down_data():
    return data()[:600], np.arange(600) % 3


def test_an_interrupted_up_down_resumes_to_the_same_network(tmp_path, monkeypatch):
    from deepbelief.training import up_down as module

    X, y = up_down_data()
    reference = DBN(**UP_DOWN).fit(X, y).fine_tune_up_down(X, y, n_iter=5, k=2, random_state=1)
    real, calls = module.up_down_step, []

    def interrupted(*args):
        calls.append(args)
        if len(calls) == 12 * 3 + 5:  # mid-way through the fourth epoch (12 batches per epoch)
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(module, "up_down_step", interrupted)
    with pytest.raises(KeyboardInterrupt):
        DBN(checkpoint_dir=tmp_path, **UP_DOWN).fit(X, y).fine_tune_up_down(X, y, n_iter=5, k=2, random_state=1)
    assert state_of(tmp_path / "up_down.ckpt")["epoch"] == 3
    monkeypatch.undo()
    resumed = DBN(checkpoint_dir=tmp_path, **UP_DOWN).fit(X, y).fine_tune_up_down(
        X, y, n_iter=5, k=2, random_state=1, resume=True)
    expected = reference.module_.state_dict()
    assert len(expected) > 6 and expected.keys() == resumed.module_.state_dict().keys()
    for name, tensor in resumed.module_.state_dict().items():
        assert torch.equal(tensor, expected[name]), name
    assert resumed.up_down_epochs_ == reference.up_down_epochs_ == 5
    np.testing.assert_array_equal(resumed.predict_proba(X[:20]), reference.predict_proba(X[:20]))
    np.testing.assert_array_equal(resumed.generate(3, label=1, n_gibbs=2, burn_in=2, random_state=0),
                                  reference.generate(3, label=1, n_gibbs=2, burn_in=2, random_state=0))


def test_up_down_resume_checks(tmp_path):
    X, y = up_down_data()
    call = dict(n_iter=2, k=1, random_state=0)
    fresh = DBN(checkpoint_dir=tmp_path, **UP_DOWN).fit(X, y).fine_tune_up_down(X, y, resume=True, **call)
    assert state_of(tmp_path / "up_down.ckpt")["epoch"] == 2  # no checkpoint yet: a normal call, which wrote one
    again = DBN(checkpoint_dir=tmp_path, **UP_DOWN).fit(X, y).fine_tune_up_down(X, y, resume=True, **call)
    assert torch.equal(again.module_.generative[0].weight, fresh.module_.generative[0].weight)
    with pytest.raises(ValueError, match="other hyperparameters"):  # another call's checkpoint
        DBN(checkpoint_dir=tmp_path, **UP_DOWN).fit(X, y).fine_tune_up_down(X, y, resume=True, **{**call, "k": 2})
    with pytest.raises(ValueError, match="other hyperparameters"):  # the call after it, not this one
        fresh.fine_tune_up_down(X, y, resume=True, **call)
    with pytest.raises(ValueError, match="other data"):
        DBN(checkpoint_dir=tmp_path, **UP_DOWN).fit(X, y).fine_tune_up_down(X, (y + 1) % 3, resume=True, **call)
    with pytest.raises(ValueError, match="resume=True needs checkpoint_dir"):
        DBN(**UP_DOWN).fit(X, y).fine_tune_up_down(X, y, resume=True, **call)


def test_an_interrupted_centred_pretraining_resumes_with_its_offsets(tmp_path, monkeypatch):
    from deepbelief.training import CDTrainer

    X = data()[:600]
    settings = dict(hidden_layer_sizes=(12,), n_iter=4, batch_size=50, centering=True, random_state=0)
    reference = DBN(**settings).fit(X)
    interrupt_after(monkeypatch, CDTrainer, 12 * 2 + 3)  # in the third epoch
    with pytest.raises(KeyboardInterrupt):
        DBN(checkpoint_dir=tmp_path, **settings).fit(X)
    monkeypatch.undo()
    saved = checkpoint.read(tmp_path / "pretraining.ckpt")[0]
    assert saved["0.offsets.visible"].shape == (100,) and saved["0.offsets.hidden"].shape == (12,)
    resumed = DBN(checkpoint_dir=tmp_path, **settings).fit(X, resume=True)
    assert torch.equal(resumed.rbms_[0].module_.weight, reference.rbms_[0].module_.weight)
    assert torch.equal(resumed.rbms_[0]._trainer.offsets[1], reference.rbms_[0]._trainer.offsets[1])


@pytest.mark.parametrize("interrupt_at", [5, 14])  # in the first layer; in the second, the first finished
def test_an_interrupted_rectified_pretraining_resumes_to_the_same_network(tmp_path, monkeypatch, interrupt_at):
    """The rectified rule (DBNClassifier's default pretraining for ReLU networks) checkpoints through the same
    stack as CD (it wrote nothing before, though docs/cli.md promised --checkpoint-dir for every pretraining)."""
    from deepbelief import DBNClassifier
    from deepbelief.training import rectified

    X, y = data()[:300], np.arange(300) % 3
    settings = dict(hidden_layer_sizes=(16, 8), pretrain="rectified", n_iter=10, max_iter=2, random_state=0)
    reference = DBNClassifier(**settings).fit(X, y)
    real, epochs = rectified.run_epochs, []

    def counting(epoch_range, train_epoch, *args, **kwargs):
        def train(epoch):
            epochs.append(epoch)
            if len(epochs) == interrupt_at:
                raise KeyboardInterrupt
            return train_epoch(epoch)
        return real(epoch_range, train, *args, **kwargs)

    monkeypatch.setattr(rectified, "run_epochs", counting)
    with pytest.raises(KeyboardInterrupt):
        DBNClassifier(checkpoint_dir=tmp_path, **settings).fit(X, y)
    monkeypatch.undo()
    state = state_of(tmp_path / "pretraining.ckpt")
    assert (state["layer"], state["layers"][-1]["n_iter"]) == ((0, 4) if interrupt_at == 5 else (1, 3))
    assert state["params"]["rule"] == "rectified"
    with pytest.raises(ValueError, match="other hyperparameters"):  # a CD DBN does not take it for its own
        DBN(hidden_layer_sizes=(16, 8), hidden="relu", checkpoint_dir=tmp_path).fit(X, resume=True)
    resumed = DBNClassifier(checkpoint_dir=tmp_path, **settings).fit(X, y, resume=True)
    for a, b in zip(resumed.dbn_.rbms_, reference.dbn_.rbms_):
        assert torch.equal(a.module_.weight, b.module_.weight) and a.history_ == b.history_
    np.testing.assert_array_equal(resumed.predict_proba(X), reference.predict_proba(X))


def test_an_interrupted_classification_top_rbm_resumes_to_the_same_network(tmp_path, monkeypatch):
    """A hybrid, semi-supervised, persistent top RBM (ClassificationTrainer) checkpoints and resumes exactly."""
    from deepbelief.training import ClassificationTrainer

    X = data()[:400]
    y = np.where(np.arange(400) < 300, X[:, :3].sum(1).astype(int) % 3, -1)
    settings = dict(hidden_layer_sizes=(12, 8), n_labels=3, objective="hybrid", unlabelled_weight=0.5,
                    persistent=True, n_iter=4, batch_size=50, random_state=0)
    reference = DBN(**settings).fit(X, y)
    interrupt_after(monkeypatch, ClassificationTrainer, 8 * 2 + 3)  # in the top layer's third epoch
    with pytest.raises(KeyboardInterrupt):
        DBN(checkpoint_dir=tmp_path, **settings).fit(X, y)
    monkeypatch.undo()
    assert state_of(tmp_path / "pretraining.ckpt")["layers"][1]["n_iter"] == 2
    resumed = DBN(checkpoint_dir=tmp_path, **settings).fit(X, y, resume=True)
    for a, b in zip(resumed.rbms_, reference.rbms_):
        for name in ("weight", "visible_bias", "hidden_bias"):
            assert torch.equal(getattr(a.module_, name), getattr(b.module_, name))
        assert a.history_ == b.history_
    assert "log_loss" in resumed.rbms_[1].history_[0]


@pytest.mark.parametrize("sampler", ["fast", "tempered"])
def test_an_interrupted_pretraining_with_a_persistent_sampler_resumes_exactly(tmp_path, monkeypatch, sampler):
    """The fast weights, the tempered replicas and their swap counts are in the checkpoint."""
    from deepbelief.training import FastPCDTrainer, TemperedTrainer

    X = data()[:400]
    settings = dict(hidden_layer_sizes=(12, 8), sampler=sampler, n_temperatures=4, n_iter=4, batch_size=50,
                    random_state=0)
    reference = DBN(**settings).fit(X)
    cls = FastPCDTrainer if sampler == "fast" else TemperedTrainer
    interrupt_after(monkeypatch, cls, 8 * 4 + 8 * 2 + 3)  # in the second layer's third epoch
    with pytest.raises(KeyboardInterrupt):
        DBN(checkpoint_dir=tmp_path, **settings).fit(X)
    monkeypatch.undo()
    saved = checkpoint.read(tmp_path / "pretraining.ckpt")[0]
    assert ("1.fast.0" in saved) if sampler == "fast" else saved["1.replicas"].shape == (4, 50, 12)
    resumed = DBN(checkpoint_dir=tmp_path, **settings).fit(X, resume=True)
    for a, b in zip(resumed.rbms_, reference.rbms_):
        for name in ("weight", "visible_bias", "hidden_bias"):
            assert torch.equal(getattr(a.module_, name), getattr(b.module_, name))
        assert a.history_ == b.history_
        assert type(a._trainer) is cls
