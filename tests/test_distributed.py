"""Data-parallel training on torch.distributed: 2 processes with gloo on 127.0.0.1, launched by hand (RANK,
WORLD_SIZE, MASTER_ADDR, MASTER_PORT, as torchrun sets them) or by torchrun itself."""
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch

from sklearn.datasets import load_digits

from deepbelief import DBN, RBM, DBNClassifier, checkpoint, load
from deepbelief.distributed import Group, timeout_seconds
from deepbelief.data.streaming import NpyRows
from deepbelief.training import FineTuneConfig, fine_tune

B = 4  # rows per rank and update


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# A rank script run to its end, then left as the command line leaves (deepbelief.cli.run): through
# distributed.leave, which skips the interpreter's teardown of torch's communication threads (it aborts about one
# rank exit in 50-100, 'terminate called without an active exception', after a run that succeeded).
RUN_SCRIPT = ("import os, runpy, sys; sys.argv = sys.argv[1:]; sys.path.insert(0, os.path.dirname(sys.argv[0])); "
              "runpy.run_path(sys.argv[0], run_name='__main__'); from deepbelief import distributed; "
              "distributed.leave(0)")


def start_ranks(args, world=2, cwd=None, timeout="60"):
    """``world`` processes running ``python args...`` (a script through RUN_SCRIPT) as the ranks of one job."""
    port = str(free_port())
    procs = []
    command = ["-c", RUN_SCRIPT, *args] if args[0].endswith(".py") else args
    for rank in range(world):
        env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port, "WORLD_SIZE": str(world),
               "RANK": str(rank), "LOCAL_RANK": str(rank), "OMP_NUM_THREADS": "1", "DEEPBELIEF_TIMEOUT": timeout}
        procs.append(subprocess.Popen([sys.executable, *command], env=env, cwd=cwd, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    return procs


def finish(procs, timeout=240):
    results = [p.communicate(timeout=timeout) for p in procs]
    for p, (out, err) in zip(procs, results):
        assert p.returncode == 0, err[-3000:]
    return results


def data():
    return (np.random.default_rng(0).random((64, 12)) < 0.4).astype(np.float32)


def interleaved(X, world=2):
    """The rows in the order one process with batch world * B sees what ``world`` ranks with batch B see (without
    shuffling, rank r holds the r-th contiguous block of rows)."""
    shards = np.split(X, world)
    return np.concatenate([shard[s:s + B] for s in range(0, len(shards[0]), B) for shard in shards])


RANK_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import torch
    from deepbelief import DBN, RBM, distributed
    from deepbelief.training import FineTuneConfig, fine_tune
    sys.path.insert(0, sys.argv[2])
    from test_distributed import (B, batches, conv, data, dbm, half_labelled, label_dbm, labels, network,
                                  partly_labelled, samplers)

    X = data()
    group = distributed.current()
    out = {}
    for persistent in (False, True):
        rbm = RBM(n_components=7, batch_size=B, n_iter=3, shuffle=False, persistent=persistent, sparsity_cost=0.1,
                  weight_decay=1e-3, random_state=0).fit(X)
        out[f"rbm_{persistent}"] = rbm.components_
    out["centred"] = RBM(n_components=7, batch_size=B, n_iter=3, shuffle=False, centering=True,
                         random_state=0).fit(X).components_
    gaussian = RBM(n_components=5, visible="gaussian", batch_size=B, n_iter=2, shuffle=False, random_state=0)
    out["gaussian"] = gaussian.fit(X * 3 + 1).components_
    dbn = DBN(hidden_layer_sizes=(7, 5), batch_size=B, n_iter=2, shuffle=False, random_state=0)
    out["dbn"] = dbn.fit(X).rbms_[1].components_
    model = dbm(B).fit(X).module_
    out["dbm"], out["dbm_top_bias"] = model.weights[1].numpy(), model.biases[2].numpy()
    out["label_dbm"] = label_dbm(B).fit(X, partly_labelled()).module_.weights[2].numpy()
    out["conv"] = conv(B).fit(X).filters_
    for name, rbm in samplers(B).items():
        out[name] = rbm.fit(X, {"discriminative": labels(), "information": half_labelled()}.get(name)).components_
    net = network()
    shard = X[group.rank * 32:(group.rank + 1) * 32]
    fine_tune(net, torch.nn.functional.mse_loss, batches(shard, B), None, FineTuneConfig(optimizer="sgd",
              learning_rate=0.1, max_iter=3), None, group=group)
    out["net"] = net[0].weight.detach().numpy()
    np.savez(f"{sys.argv[1]}/rank{group.rank}.npz", **out)
    distributed.close(together=True)
""")


def dbm(batch_size):
    """A DBM whose joint training draws chains and centres (4 chains: 2 per rank)."""
    from deepbelief import DBM

    return DBM(hidden_layer_sizes=(7, 5), batch_size=batch_size, n_iter=2, max_iter=2, shuffle=False, n_particles=4,
               centering=True, random_state=0)


def label_dbm(batch_size):
    """A DBM with label units, trained jointly only (the label RBM of its pretraining draws labels as the generative
    label RBMs do, equal to one process in distribution only): clamped and inferred labels, label chains."""
    from deepbelief import DBM

    return DBM(hidden_layer_sizes=(7, 5), n_labels=3, batch_size=batch_size, n_iter=0, max_iter=2, shuffle=False,
               n_particles=4, random_state=0)


def partly_labelled():
    y = labels()
    y[::5] = -1
    return y


def half_labelled():
    """Every other row unlabelled: each rank's batch holds some, so a marginal summed over the ranks matters."""
    y = labels()
    y[1::2] = -1
    return y


def samplers(batch_size):
    """RBMs trained by more than plain CD: a discriminative classification RBM (its exact gradient; the label units'
    Gibbs draws of the generative and hybrid objectives are inverse-CDF draws under torch.distributed, not one
    process's torch.multinomial, so those equal one process in distribution only), fast-weights PCD and parallel
    tempering; and the discriminative one with the mutual-information term on unlabelled rows (its class marginal
    summed over the ranks)."""
    common = dict(n_components=6, batch_size=batch_size, n_iter=2, shuffle=False, random_state=0)
    return {"discriminative": RBM(n_labels=3, objective="discriminative", **common),
            "information": RBM(n_labels=3, objective="discriminative", unlabelled_weight=0.5,
                               unlabelled_objective="information", **common),
            "fast": RBM(sampler="fast", **common), "tempered": RBM(sampler="tempered", n_temperatures=4, **common)}


def labels():
    return (data()[:, :2] @ [1, 2]).astype(int) % 3


def conv(batch_size):
    """A convolutional RBM on the rows as 3x4 images, with persistent chains and the sparsity penalty."""
    from deepbelief import ConvRBM

    return ConvRBM(n_filters=3, filter_size=2, image_shape=(3, 4), batch_size=batch_size, n_iter=2, shuffle=False,
                   persistent=True, sparsity_cost=0.1, random_state=0)


def network():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(12, 6), torch.nn.Sigmoid(), torch.nn.Linear(6, 12))


def batches(X, size):
    """Unshuffled (rows, targets) batches of an autoencoding task, for fine_tune."""
    X = torch.as_tensor(X)
    return lambda epoch: ((X[s:s + size], X[s:s + size]) for s in range(0, len(X), size))


@pytest.mark.slow
def test_two_ranks_with_batch_b_equal_one_process_with_batch_2b(tmp_path):
    script = tmp_path / "rank.py"
    script.write_text(RANK_SCRIPT)
    finish(start_ranks([str(script), str(tmp_path), os.path.dirname(__file__)]))
    rank0, rank1 = np.load(tmp_path / "rank0.npz"), np.load(tmp_path / "rank1.npz")
    X = interleaved(data())
    expected = {f"rbm_{p}": RBM(n_components=7, batch_size=2 * B, n_iter=3, shuffle=False, persistent=p,
                                sparsity_cost=0.1, weight_decay=1e-3, random_state=0).fit(X).components_
                for p in (False, True)}
    expected["centred"] = RBM(n_components=7, batch_size=2 * B, n_iter=3, shuffle=False, centering=True,
                              random_state=0).fit(X).components_
    expected["gaussian"] = RBM(n_components=5, visible="gaussian", batch_size=2 * B, n_iter=2, shuffle=False,
                               random_state=0).fit(X * 3 + 1).components_
    expected["dbn"] = DBN(hidden_layer_sizes=(7, 5), batch_size=2 * B, n_iter=2, shuffle=False,
                          random_state=0).fit(X).rbms_[1].components_
    model = dbm(2 * B).fit(X).module_
    expected["dbm"], expected["dbm_top_bias"] = model.weights[1].numpy(), model.biases[2].numpy()
    expected["label_dbm"] = label_dbm(2 * B).fit(X, interleaved(partly_labelled())).module_.weights[2].numpy()
    expected["conv"] = conv(2 * B).fit(X).filters_
    for name, rbm in samplers(2 * B).items():
        expected[name] = rbm.fit(X, {"discriminative": interleaved(labels()),
                                     "information": interleaved(half_labelled())}.get(name)).components_
    net = network()
    fine_tune(net, torch.nn.functional.mse_loss, batches(X, 2 * B), None,
              FineTuneConfig(optimizer="sgd", learning_rate=0.1, max_iter=3), None)
    expected["net"] = net[0].weight.detach().numpy()
    for name, value in expected.items():
        np.testing.assert_array_equal(rank0[name], rank1[name])  # the ranks hold one model
        # The same draws and rows: only the order of floating-point sums differs (measured: <= 1e-7).
        np.testing.assert_allclose(rank0[name], value, rtol=0, atol=1e-5, err_msg=name)
        assert not np.allclose(value, 0)


def test_shards_have_equal_sizes_and_cover_every_row():
    for n, world in ((10, 3), (64, 2), (5, 8)):
        shards = [Group(rank, world, rank).shard(n) for rank in range(world)]
        assert len({len(s) for s in shards}) == 1
        assert set(np.concatenate(shards)) == set(range(n))


def test_a_reader_window_wraps_around_the_end_of_the_file(tmp_path):
    X = np.arange(30, dtype=np.float32).reshape(10, 3)
    np.save(tmp_path / "x.npy", X)
    reader = NpyRows(tmp_path / "x.npy", window=(7, 5))
    assert reader.shape == (5, 3)
    np.testing.assert_array_equal(reader.block(0), X[[7, 8, 9, 0, 1]])


def test_timeout_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("DEEPBELIEF_TIMEOUT", "12.5")
    assert timeout_seconds() == 12.5
    monkeypatch.setenv("DEEPBELIEF_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="DEEPBELIEF_TIMEOUT='soon' is not a positive number of seconds"):
        timeout_seconds()


@pytest.mark.slow
def test_streamed_fit_reads_each_rank_shard(tmp_path):
    X = data()
    np.save(tmp_path / "x.npy", X)
    script = tmp_path / "rank.py"
    script.write_text(textwrap.dedent(f"""
        import numpy as np
        from deepbelief import RBM, distributed
        rbm = RBM(n_components=7, batch_size={B}, n_iter=3, shuffle=False, random_state=0).fit({str(tmp_path)!r}
                                                                                             + "/x.npy")
        np.save({str(tmp_path)!r} + f"/w{{distributed.current().rank}}.npy", rbm.components_)
    """))
    finish(start_ranks([str(script)]))
    expected = RBM(n_components=7, batch_size=2 * B, n_iter=3, shuffle=False, random_state=0).fit(interleaved(X))
    for rank in (0, 1):
        np.testing.assert_allclose(np.load(tmp_path / f"w{rank}.npy"), expected.components_, rtol=0, atol=1e-5)



def test_a_stop_asked_by_one_ranks_callback_stops_every_rank_and_only_rank_0_logs(tmp_path):
    np.save(tmp_path / "x.npy", data())
    script = tmp_path / "rank.py"
    script.write_text(textwrap.dedent(f"""
        import numpy as np
        from deepbelief import DBN, distributed
        from deepbelief.callbacks import CSVLogger
        rank = distributed.current().rank
        stop = lambda e: rank == 1 and e.epoch == 1  # only rank 1 asks: both must end the layer together
        dbn = DBN((7, 5), batch_size={B}, n_iter=6, shuffle=False, random_state=0,
                  callbacks=[stop, CSVLogger({str(tmp_path)!r} + "/log.csv")])
        dbn.fit(np.load({str(tmp_path)!r} + "/x.npy"))
        np.save({str(tmp_path)!r} + f"/n{{rank}}.npy", [rbm.n_iter_ for rbm in dbn.rbms_])
    """))
    finish(start_ranks([str(script)]))
    for rank in (0, 1):
        assert list(np.load(tmp_path / f"n{rank}.npy")) == [2, 2]
    rows = (tmp_path / "log.csv").read_text().splitlines()
    assert len(rows) == 1 + 4 and rows[1].startswith("pretraining,1,0,reconstruction_error")


TRAIN = ["-m", "deepbelief", "train", "digits", "--task", "unsupervised", "--layers", "256", "--batch-size", "64",
         "--quiet"]
EPOCHS = "60"


def wait_for(path, procs, seconds=120):
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert all(p.poll() is None for p in procs), "a rank ended before the first checkpoint"
        assert time.monotonic() < deadline, f"no checkpoint {path} after {seconds} s"
        time.sleep(0.01)


@pytest.mark.slow
def test_killing_a_rank_stops_the_job_and_keeps_the_checkpoint_which_one_process_resumes(tmp_path):
    ck = tmp_path / "ck"
    procs = start_ranks([*TRAIN, "--epochs", EPOCHS, "--checkpoint-dir", str(ck), "--out", str(tmp_path / "out")])
    wait_for(ck / "pretraining.ckpt", procs)
    procs[1].send_signal(signal.SIGKILL)
    start = time.monotonic()
    _, err = procs[0].communicate(timeout=60)
    assert procs[0].returncode == 1
    assert time.monotonic() - start < 30
    assert "rank 0 of 2" in err and "lost another rank" in err and "is intact" in err
    assert "Traceback" not in err
    procs[1].communicate()
    tensors, state = checkpoint.read(ck / "pretraining.ckpt")  # the last complete checkpoint
    done = state["layers"][0]["n_iter"]
    assert 1 <= done < int(EPOCHS)
    # Resume in one process: it continues after the checkpointed epoch (the run must be cut short to finish in
    # the test, so the hyperparameters stay and the remaining epochs run).
    result = subprocess.run([sys.executable, *TRAIN, "--epochs", EPOCHS, "--checkpoint-dir", str(ck), "--resume",
                             "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=600,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-2000:]
    model = load(tmp_path / "out" / "model.dbn")
    assert model.rbms_[0].n_iter_ == len(model.history_[0]) == int(EPOCHS)
    errors = [h["reconstruction_error"] for h in model.history_[0][:done]]
    np.testing.assert_allclose(errors, [h["reconstruction_error"] for h in state["layers"][0]["history"]])


@pytest.mark.slow
def test_a_checkpoint_of_one_process_resumes_on_two_ranks_under_torchrun(tmp_path):
    ck = tmp_path / "ck"
    proc = subprocess.Popen([sys.executable, *TRAIN, "--epochs", EPOCHS, "--checkpoint-dir", str(ck), "--out",
                             str(tmp_path / "one")], stderr=subprocess.PIPE, text=True)
    wait_for(ck / "pretraining.ckpt", [proc])
    proc.kill()
    proc.communicate()
    done = checkpoint.read(ck / "pretraining.ckpt")[1]["layers"][0]["n_iter"]
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
                             f"--master_port={free_port()}", *TRAIN, "--epochs", EPOCHS, "--checkpoint-dir", str(ck),
                             "--resume", "--out", str(tmp_path / "two")], capture_output=True, text=True,
                            timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("trained a DBN") == 1  # rank 0 alone reports and writes
    model = load(tmp_path / "two" / "model.dbn")
    assert model.rbms_[0].n_iter_ == int(EPOCHS) and done < int(EPOCHS)
    history = [h["reconstruction_error"] for h in model.history_[0]]
    assert history[-1] < history[done - 1]  # the two ranks went on training from the checkpoint


@pytest.mark.parametrize("pretrain", ["rbm", "rectified"])
@pytest.mark.slow
def test_a_classifier_trains_data_parallel_and_the_ranks_agree(tmp_path, pretrain):
    script = tmp_path / "rank.py"
    script.write_text(textwrap.dedent(f"""
        import numpy as np
        from sklearn.datasets import load_digits
        from deepbelief import DBNClassifier, distributed
        X, y = load_digits(return_X_y=True)
        X = (X / 16).astype(np.float32)
        clf = DBNClassifier((64,), n_iter=3, max_iter=15, pretrain={pretrain!r}, early_stopping=True,
                            random_state=0).fit(X[:1400], y[:1400])
        rank = distributed.current().rank
        np.save({str(tmp_path)!r} + f"/proba{{rank}}.npy", clf.predict_proba(X[1400:]))
        np.save({str(tmp_path)!r} + f"/curve{{rank}}.npy", clf.validation_scores_)
    """))
    finish(start_ranks([str(script)]))
    proba = np.load(tmp_path / "proba0.npy")
    np.testing.assert_array_equal(proba, np.load(tmp_path / "proba1.npy"))
    np.testing.assert_array_equal(np.load(tmp_path / "curve0.npy"), np.load(tmp_path / "curve1.npy"))
    # As accurate as one process with the same global batch (2 x 64); measured: rbm 0.866 vs 0.877, rectified
    # 0.882 vs 0.877 with 15 fine-tuning epochs.
    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    single = DBNClassifier((64,), n_iter=3, max_iter=15, pretrain=pretrain, early_stopping=True, batch_size=128,
                           random_state=0).fit(X[:1400], y[:1400])
    accuracy = (proba.argmax(1) == y[1400:]).mean()
    assert accuracy > 0.83 and abs(accuracy - single.score(X[1400:], y[1400:])) < 0.03


def test_checkpointed_chains_are_shared_evenly_among_the_ranks_of_a_resumed_run():
    from deepbelief.core.rbm import RBMModule
    from deepbelief.training import CDConfig, CDTrainer

    chains = torch.arange(24.0).reshape(8, 3)
    for world, expected_rows in ((1, range(8)), (2, range(4, 8)), (4, range(2, 4))):
        group = None if world == 1 else Group(1, world, 1)
        trainer = CDTrainer(RBMModule(3, 2), CDConfig(persistent=True), torch.Generator(), group)
        trainer.set_global_chain(chains)
        torch.testing.assert_close(trainer.chain, chains[list(expected_rows)])
    trainer = CDTrainer(RBMModule(3, 2), CDConfig(persistent=True), torch.Generator(), Group(0, 3, 0))
    trainer.set_global_chain(chains)  # 8 chains cannot be shared by 3 ranks: they restart
    assert trainer.chain is None


@pytest.mark.slow
def test_a_regressor_trains_data_parallel_and_the_ranks_agree(tmp_path):
    script = tmp_path / "rank.py"
    script.write_text(textwrap.dedent(f"""
        import numpy as np
        from deepbelief import DBNRegressor, distributed
        rng = np.random.default_rng(0)
        X = rng.random((600, 10)).astype(np.float32)
        y = np.stack([X[:, :3].sum(1), X[:, 3] * X[:, 4]], 1)
        reg = DBNRegressor((32,), n_iter=3, max_iter=150, random_state=0).fit(X[:500], y[:500])
        rank = distributed.current().rank
        np.save({str(tmp_path)!r} + f"/pred{{rank}}.npy", reg.predict(X[500:]))
    """))
    finish(start_ranks([str(script)]))
    prediction = np.load(tmp_path / "pred0.npy")
    np.testing.assert_array_equal(prediction, np.load(tmp_path / "pred1.npy"))
    rng = np.random.default_rng(0)
    X = rng.random((600, 10)).astype(np.float32)
    y = np.stack([X[:, :3].sum(1), X[:, 3] * X[:, 4]], 1)
    from sklearn.metrics import r2_score

    # It learns the two targets (measured R^2 0.90; one process with the same global batch of 128: 0.75 after
    # the same 150 epochs, both still improving).
    assert r2_score(y[500:], prediction) > 0.7


@pytest.mark.slow
def test_label_models_monitors_and_sampled_propagation_train_data_parallel(tmp_path):
    script = tmp_path / "rank.py"
    script.write_text(textwrap.dedent(f"""
        import numpy as np
        from sklearn.datasets import load_digits
        from deepbelief import DBN, RBM, distributed
        X, y = load_digits(return_X_y=True)
        X = (X / 16).astype(np.float32)
        y = y.copy()
        y[::3] = -1  # unlabelled rows train the lower layer only
        dbn = DBN((64, 64), n_labels=10, n_iter=10, propagate="sample", random_state=0).fit(X[:1400], y[:1400])
        rbm = RBM(n_components=32, n_iter=5, validation_fraction=0.1, random_state=0).fit(X[:1400])
        rank = distributed.current().rank
        np.savez({str(tmp_path)!r} + f"/out{{rank}}.npz", proba=dbn.predict_proba(X[1400:]),
                 gap=[h["free_energy_gap"] for h in rbm.history_])
    """))
    finish(start_ranks([str(script)]))
    out0, out1 = np.load(tmp_path / "out0.npz"), np.load(tmp_path / "out1.npz")
    for name in ("proba", "gap"):
        np.testing.assert_array_equal(out0[name], out1[name])
    X, y = load_digits(return_X_y=True)
    X, y_test, y = (X / 16).astype(np.float32), y[1400:], y.copy()
    y[::3] = -1
    single = DBN((64, 64), n_labels=10, n_iter=10, propagate="sample", batch_size=64, random_state=0)
    single_accuracy = (single.fit(X[:1400], y[:1400]).predict(X[1400:]) == y_test).mean()
    # A small generative classifier from 2/3 of the labels: measured 0.635 on 2 ranks, 0.612 in one process with
    # the same global batch (the label draws of 2 ranks follow another, equally valid, random stream).
    accuracy = (out0["proba"].argmax(1) == y_test).mean()
    assert accuracy > 0.5 and abs(accuracy - single_accuracy) < 0.1
    assert np.isfinite(out0["gap"]).all()


def interrupted_and_whole(args, tmp_path, name):
    """Run the 2-rank job ``args`` whole; run it again, kill both ranks at its first checkpoint ``name`` and resume
    it on 2 ranks. Returns (whole model, resumed model, the tensors and state of the checkpoint resumed from)."""
    finish(start_ranks([*args, "--out", str(tmp_path / "whole")]))
    ck = tmp_path / "ck"
    procs = start_ranks([*args, "--checkpoint-dir", str(ck), "--out", str(tmp_path / "cut")])
    wait_for(ck / name, procs)
    for p in procs:
        p.kill()
        p.communicate()
    tensors, state = checkpoint.read(ck / name)
    finish(start_ranks([*args, "--checkpoint-dir", str(ck), "--resume", "--out", str(tmp_path / "cut")]))
    return load(tmp_path / "whole" / "model.dbn"), load(tmp_path / "cut" / "model.dbn"), tensors, state


@pytest.mark.slow
def test_a_killed_data_parallel_fine_tuning_resumes_to_the_uninterrupted_result(tmp_path):
    classify = ["-m", "deepbelief", "train", "digits", "--layers", "64", "--epochs", "1", "--max-iter", "30",
                "--quiet"]
    whole, resumed, _, state = interrupted_and_whole(classify, tmp_path, "fine_tuning.ckpt")
    assert state["progress"]["epoch"] < 30
    # Parameters, optimiser, generators and every rank's dropout masks come back: the same run to the digit.
    assert resumed.loss_curve_ == whole.loss_curve_
    for a, b in zip(resumed.network_.parameters(), whole.network_.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.slow
def test_killed_data_parallel_pcd_pretraining_resumes_to_the_uninterrupted_result(tmp_path):
    pcd = [*TRAIN, "--epochs", "30", "--param", "persistent=true"]
    whole, resumed, tensors, state = interrupted_and_whole(pcd, tmp_path, "pretraining.ckpt")
    assert state["layers"][0]["n_iter"] < 30 and tensors["0.chain"].shape[0] == 2 * 64  # both ranks' chains
    np.testing.assert_array_equal(resumed.rbms_[0].components_, whole.rbms_[0].components_)
