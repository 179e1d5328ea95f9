"""The MNIST reproduction table: each published DBN experiment trained and evaluated from the MNIST files.

``run_table`` trains every row (or the chosen ones) and returns one record per row; ``markdown`` renders the
table. Choices (epochs, early stopping) use a validation split of the training set, never the test set. With
``quick=True`` every row trains on a subsample with few epochs so that the whole table finishes on 2 CPU cores in
minutes; the table says so in each row's settings, and its numbers are then not comparable to the papers'.
Used by ``deepbelief reproduce mnist`` and ``benchmarks/mnist.py``.
"""
import hashlib
import json
import math
import platform
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ._version import __version__
from ._runtime import resolve_device
from .data.datasets import load_fashion_mnist, load_mnist

ROWS = ("dbn", "dropout", "random_init", "up_down", "semi_supervised", "rbm_ais", "rbm_ais_best", "autoencoder",
        "fashion", "dbm", "cdbn", "drbm", "hdrbm", "sparse_hdrbm")
_OWN_DATA = ("rbm_ais", "rbm_ais_best", "fashion", "dbm")  # rows that load their own (binarised or other) data
# the best RBM recipe measured for issue 7 (BENCHMARKS.md): the centred gradient with weight decay 5e-4
BEST_RBM = dict(centering=True, weight_decay=5e-4)


@dataclass
class Budget:
    """How long each row trains."""

    n_train: int = None  # training rows (None: all 60,000)
    pretrain_epochs: int = 50
    fine_tune_epochs: int = 100
    dropout_epochs: int = 200
    # (epochs, Gibbs steps in the top RBM) per up-down stage: Hinton, Osindero & Teh's 100 epochs each at 3, 6, 10
    up_down_stages: tuple = ((100, 3), (100, 6), (100, 10))
    semi_supervised_updates: int = 3000  # fine-tuning steps on the few labels (epochs would be 1-10 steps each)
    rbm_epochs: int = 100
    cd_k: int = 25
    ais_runs: int = 100
    ais_betas: int = None  # None: the paper's 14,501 inverse temperatures
    autoencoder_pretrain_epochs: int = 10  # the recipe measured in BENCHMARKS.md (issue 6): 2.81 with weight decay
    autoencoder_epochs: int = 100
    # Salakhutdinov & Hinton 2009: 100 pretraining epochs per RBM, 300,000 joint updates of 100 rows (500 epochs)
    dbm_pretrain_epochs: int = 100
    dbm_epochs: int = 500
    cdbn_epochs: int = 50  # CD epochs per layer of the convolutional DBN (this library's setting, not the paper's)
    classification_rbm_epochs: int = 30  # epochs of the classification RBMs (this library's setting)
    raise_rows: int = 1000  # test rows of the RAISE lower bound of the RBM rows
    raise_runs: int = 5  # reverse runs per row


FULL = Budget()
QUICK = Budget(n_train=15000, pretrain_epochs=5, fine_tune_epochs=15, dropout_epochs=15, up_down_stages=((5, 10),),
               semi_supervised_updates=300, rbm_epochs=10, cd_k=1, ais_runs=16, ais_betas=2000,
               autoencoder_pretrain_epochs=3, autoencoder_epochs=15, dbm_pretrain_epochs=2, dbm_epochs=2,
               cdbn_epochs=1, classification_rbm_epochs=1, raise_rows=100, raise_runs=2)


def _subsample(X, y, n, seed):
    if n is None or n >= len(X):
        return X, y
    rows = np.random.default_rng(seed).permutation(len(X))[:n]
    return X[rows], y[rows]


def _classifier(budget, device, seed, **params):
    from .estimators import DBNClassifier

    settings = dict(hidden_layer_sizes=(500, 500, 2000), pretrain="rbm", n_iter=budget.pretrain_epochs,
                    activation="sigmoid", optimizer="adam", learning_rate=1e-3, lr_schedule="cosine",
                    max_iter=budget.fine_tune_epochs, batch_size=100, early_stopping=True,
                    validation_fraction=1 / 6, n_iter_no_change=20)
    settings.update(params)
    return DBNClassifier(device=device, random_state=seed, **settings), settings


def _error(model, X, y):
    return 100.0 * int(np.sum(model.predict(X) != y)) / len(y)  # 110 errors in 10,000 print as 1.1, not 1.0999...


def _fit(data, budget, device, seed, run, pretrained, **params):
    """A classifier fitted on ``data`` (X, y) with its checkpoints in the new folder ``run``. Its pretraining, if
    any, resumes from the finished pretraining checkpoint ``pretrained`` when that exists and is saved there
    otherwise, so that runs on the same rows pretrain once."""
    run.mkdir()
    pretrain = params.get("pretrain", "rbm")
    if pretrain and pretrained.exists():
        shutil.copy(pretrained, run / "pretraining.ckpt")  # resume=True finds the finished pretraining
    model, settings = _classifier(budget, device, seed, checkpoint_dir=run, checkpoint_every=10 ** 9, **params)
    model.fit(*data, resume=True)
    if pretrain and not pretrained.exists():
        shutil.copy(run / "pretraining.ckpt", pretrained)
    settings = {k: v for k, v in settings.items() if k not in ("checkpoint_dir", "checkpoint_every", "verbose")}
    return model, settings


REFIT, EARLY_STOPPED = "all rows", "early-stopped"


def _row_classifier(data, budget, device, seed, pretrained=None, **params):
    """Fine-tuning with early stopping on a stratified sixth of the training rows (drawn with the seed) chooses the
    number of epochs; the network is then fine-tuned again from the same pretraining on all the training rows for
    that many epochs (the papers' practice). Both test errors are reported, and the validation accuracy of every
    epoch. ``pretrained`` (a file path) keeps the finished pretraining checkpoint across calls: reused when it exists,
    written otherwise."""
    (X, y), (X_test, y_test) = data
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        pretrained = folder / "pretraining.ckpt" if pretrained is None else Path(pretrained)
        chosen, settings = _fit((X, y), budget, device, seed, folder / "validation", pretrained, **params)
        curve = [float(score) for score in chosen.validation_scores_]
        epochs = int(np.argmax(curve)) + 1
        final, _ = _fit((X, y), budget, device, seed, folder / "refit", pretrained,
                        **{**params, "early_stopping": False, "max_iter": epochs})
    settings["refit"] = (f"on all rows for the best validation epoch count ({epochs} epochs, "
                          f"{settings['lr_schedule']} schedule over them)")
    return {"value": {REFIT: _error(final, X_test, y_test), EARLY_STOPPED: _error(chosen, X_test, y_test)},
            "unit": "% test error", "settings": settings, "training_rows": len(X), "validation_accuracy": curve}


def _row_up_down(data, budget, device, seed, work=None):
    """With ``work`` (a folder), the DBN is saved there after pretraining and after each up-down stage (replacing
    the previous file), with a checkpoint after every epoch within a stage, and a rerun with the same budget and seed
    resumes from the last one saved: the FULL recipe takes hours on a CPU. Each stage is seeded on its own and resumes
    exactly, so a resumed run trains the same network as an uninterrupted one on the same device."""
    from . import checkpoint, io
    from .estimators import DBN, load

    (X, y), (X_test, y_test) = data
    settings = dict(hidden_layer_sizes=(500, 500, 2000), n_labels=10, n_iter=budget.pretrain_epochs,
                    batch_size=100, up_down=dict(learning_rate=0.01, stages=[
                        dict(n_iter=epochs, k=k) for epochs, k in budget.up_down_stages]))
    stages = settings["up_down"]["stages"]
    key = hashlib.sha256(repr((settings, len(X), seed)).encode()).hexdigest()[:12]
    saved = [] if work is None else [Path(work) / f"up_down-{key}-stage{i}.dbn" for i in range(len(stages) + 1)]
    done = max((i for i, path in enumerate(saved) if path.exists()), default=None)
    start, earlier = time.perf_counter(), 0.0
    if done is None:
        dbn = DBN((500, 500, 2000), n_labels=10, n_iter=budget.pretrain_epochs, batch_size=100, device=device,
                  random_state=seed).fit(X, y)
        done = 0
        if saved:
            Path(work).mkdir(parents=True, exist_ok=True)
            io.save(dbn, saved[0], extra={"seconds": time.perf_counter() - start})
    else:
        dbn, earlier = load(saved[done], device=device), io.read(saved[done], with_extra=True)[3].get("seconds", 0.0)
        settings["resumed"] = f"from {saved[done]} ({done} of {len(stages)} up-down stages done)"
    for stage in range(done, len(stages)):
        partial = Path(work) / f"up_down-{key}-stage{stage + 1}.partial" if saved else None
        if partial is not None:  # a checkpoint every epoch of the stage, so that a rerun loses at most one
            earlier += _stage_clock(partial, earlier + time.perf_counter() - start)
            last = partial / "up_down.ckpt"
            if last.exists():
                epoch, resumed = checkpoint.read(last)[1]["epoch"], settings.get("resumed", f"from {last}")
                settings["resumed"] = f"{resumed}; stage {stage + 1} from its epoch {epoch}"
        dbn.set_params(checkpoint_dir=partial)
        dbn.fine_tune_up_down(X, y, learning_rate=settings["up_down"]["learning_rate"], random_state=seed + stage,
                              resume=partial is not None, **stages[stage])
        dbn.set_params(checkpoint_dir=None)
        if saved:
            io.save(dbn, saved[stage + 1], extra={"seconds": earlier + time.perf_counter() - start})
            saved[stage].unlink(missing_ok=True)  # the newest one is all a rerun needs
            shutil.rmtree(partial)
    return {"value": _error(dbn, X_test, y_test), "unit": "% test error", "settings": settings,
            "training_rows": len(X), "earlier_seconds": earlier}


def _stage_clock(partial, seconds):
    """The seconds an earlier run, stopped during this up-down stage, spent on it up to its last checkpoint in the
    folder ``partial`` (the work after that checkpoint is redone, and counted, now); 0.0 when there was none.
    ``seconds``: the row's time so far. Writes where the stage (re)starts, for the next rerun."""
    clock, last = partial / "clock.json", partial / "up_down.ckpt"
    extra = 0.0
    if clock.exists() and last.exists():
        started = json.loads(clock.read_text())
        extra = max(0.0, started["seconds"] + last.stat().st_mtime - started["wall"] - seconds)
    partial.mkdir(parents=True, exist_ok=True)
    clock.write_text(json.dumps({"seconds": seconds + extra, "wall": time.time()}))
    return extra


def _row_semi_supervised(data, budget, device, seed):
    """Pretraining on every row (done once: its checkpoint serves every label count), fine-tuning for a fixed
    number of updates on 100 or 1,000 labelled rows (no early stopping: too few labels to hold some out)."""
    (X, y), (X_test, y_test) = data
    out = {}
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        for n_labels in (100, 1000):
            labelled = np.random.default_rng(seed).permutation(len(X))[:n_labels]
            y_semi = np.full(len(y), -1)
            y_semi[labelled] = y[labelled]
            epochs = math.ceil(budget.semi_supervised_updates / math.ceil(n_labels / 100))
            for pretrain in ("rbm", False):
                # pretraining on every row, fine-tuning on the labelled ones
                model, settings = _fit((X, y_semi), budget, device, seed, folder / f"{n_labels}-{pretrain}",
                                       folder / "pretraining.ckpt", pretrain=pretrain, early_stopping=False,
                                       max_iter=epochs)
                out[f"{n_labels} labels, {'pretrained' if pretrain else 'random init'}"] = _error(model, X_test,
                                                                                                 y_test)
    settings.update(pretrain="'rbm' vs False", max_iter=f"{budget.semi_supervised_updates} updates (batch 100)")
    return {"value": out, "unit": "% test error", "settings": settings, "training_rows": len(X)}


def _finite(value):
    return value if math.isfinite(value) else None


def _ais_record(estimate, value):
    """log Z, its interval, and the interval it gives the test average ``value``: log Z's interval (log of mean -+ 3
    std of the importance weights) moves the test average by the same amount the other way; the lower end of log Z
    is -inf (None in JSON) whenever the std exceeds the mean."""
    return {"log_z": estimate.log_z, "log_z_interval": [_finite(estimate.lower), estimate.upper],
            "test_interval": [value + estimate.log_z - estimate.upper, _finite(value + estimate.log_z - estimate.lower)]}


def _row_rbm_ais(budget, device, seed, data_home, **params):
    from .estimators import RBM
    from .evaluate import ais, likelihood_bounds, log_likelihood

    (X, _), (X_test, _) = load_mnist(data_home, binarize="stochastic", random_state=0, progress=False)
    X, _ = _subsample(X, np.zeros(len(X)), budget.n_train, seed)
    settings = dict(n_components=500, k=budget.cd_k, learning_rate=0.05, lr_schedule="linear", n_iter=budget.rbm_epochs,
                    batch_size=100, **params)
    rbm = RBM(device=device, random_state=seed, **settings).fit(X)
    settings.update(ais_runs=budget.ais_runs, ais_betas=budget.ais_betas or 14501)
    betas = None if budget.ais_betas is None else np.linspace(0, 1, budget.ais_betas)
    estimate = ais(rbm, n_runs=budget.ais_runs, betas=betas, data=X, random_state=seed)
    ll = float(log_likelihood(rbm, X_test, estimate.log_z).mean())
    # RAISE from below on the first test rows (it costs a reverse annealing run per row and run)
    bounds = likelihood_bounds(rbm, X_test[:budget.raise_rows], raise_runs=budget.raise_runs, betas=betas, data=X,
                               random_state=seed, ais_estimate=estimate)
    settings.update(raise_rows=budget.raise_rows, raise_runs=budget.raise_runs)
    return {"value": ll, "unit": "nats (test, AIS)", "settings": settings, "training_rows": len(X),
            "ais": _ais_record(estimate, ll), "raise": _raise_record(bounds)}


def _raise_record(bounds):
    """What a likelihood row keeps of :func:`deepbelief.evaluate.likelihood_bounds` on its first test rows."""
    return {"rows": len(bounds.raise_rows), "raise_mean": bounds.raise_mean, "lower": bounds.lower,
            "ais_estimate": bounds.estimate, "upper": _finite(bounds.upper)}


def _row_dbm(budget, device, seed, data_home):
    """DBM 784-500-1000 on stochastically binarised MNIST: the mean test lower bound on log p(v) with log Z by AIS
    (the paper's -84.62 nats), and the interval that log Z's 3-std interval gives it."""
    from .estimators import DBM
    from .evaluate import ais, dbm_lower_bound

    (X, _), (X_test, _) = load_mnist(data_home, binarize="stochastic", random_state=0, progress=False)
    X, _ = _subsample(X, np.zeros(len(X)), budget.n_train, seed)
    settings = dict(hidden_layer_sizes=(500, 1000), n_iter=budget.dbm_pretrain_epochs, max_iter=budget.dbm_epochs,
                    learning_rate=0.05, joint_learning_rate=0.005, lr_schedule="linear", batch_size=100,
                    n_particles=100, n_gibbs=5, n_mean_field=10)
    dbm = DBM(device=device, random_state=seed, **settings).fit(X)
    settings.update(ais_runs=budget.ais_runs, ais_betas=budget.ais_betas or 14501)
    betas = None if budget.ais_betas is None else np.linspace(0, 1, budget.ais_betas)
    estimate = ais(dbm, n_runs=budget.ais_runs, betas=betas, data=X, random_state=seed)
    bound = float(dbm_lower_bound(dbm, X_test, estimate.log_z).mean())
    return {"value": bound, "unit": "nats (test, mean-field bound, AIS log Z)", "settings": settings,
            "training_rows": len(X), "ais": _ais_record(estimate, bound)}


CDBN = dict(n_filters=(40, 40), filter_size=5, pool_size=2, batch_size=32, sparsity_target=0.05, sparsity_cost=0.5)


def linear_error(F, y, F_test, y_test, n_labels=None):
    """Test error (%) of LogisticRegression on the features of the first ``n_labels`` training rows (all: None),
    its C chosen from (0.1, 1, 10) on a held-out sixth of them; returns (error, C)."""
    from sklearn.linear_model import LogisticRegression

    rows = np.arange(len(F) if n_labels is None else min(n_labels, len(F)))
    valid, fit = rows[:len(rows) // 6], rows[len(rows) // 6:]
    _, c = max((LogisticRegression(C=c, max_iter=300).fit(F[fit], y[fit]).score(F[valid], y[valid]), c)
               for c in (0.1, 1.0, 10.0))
    model = LogisticRegression(C=c, max_iter=300).fit(F[rows], y[rows])
    return 100.0 * (1.0 - model.score(F_test, y_test)), c


def _row_cdbn(data, budget, device, seed):
    """A 2-layer convolutional DBN (probabilistic max-pooling) trained without labels; both layers' pooled
    features into a linear classifier (Lee et al. 2009: 0.82% with an SVM on all labels)."""
    from .estimators import ConvDBN

    (X, y), (X_test, y_test) = data
    settings = dict(CDBN, n_iter=budget.cdbn_epochs)
    cdbn = ConvDBN(device=device, random_state=seed, **settings).fit(X)
    error, c = linear_error(cdbn.transform(X, layer="all"), y, cdbn.transform(X_test, layer="all"), y_test)
    settings.update(classifier=f"LogisticRegression(C={c}), C from 0.1/1/10 on a sixth of the training rows")
    return {"value": error, "unit": "% test error", "settings": settings, "training_rows": len(X)}


# Larochelle & Bengio (2008), table 1: the classification RBMs' hidden units, objective and hybrid weight alpha
# (learning rate 0.05 for all three); the sparse hybrid's sparsity is this library's (Lee et al.'s penalty on the
# hidden biases), not the paper's constant bias decrement.
CLASSIFICATION_RBMS = {
    "drbm": dict(n_components=500, objective="discriminative"),
    "hdrbm": dict(n_components=1500, objective="hybrid", generative_weight=0.01),
    "sparse_hdrbm": dict(n_components=3000, objective="hybrid", generative_weight=0.01, sparsity_target=0.05,
                         sparsity_cost=0.01),
}
CLASSIFICATION_RBM = dict(n_labels=10, learning_rate=0.05, batch_size=10, lr_schedule="linear", weight_decay=0.0)


def _row_classification_rbm(data, budget, device, seed, name):
    """One RBM with label units trained for P(y | x) on the pixels; a sixth of the training rows held out for the
    validation monitors (error_valid per epoch), the final model's test error."""
    from .estimators import RBM

    (X, y), (X_test, y_test) = data
    settings = dict(CLASSIFICATION_RBMS[name], **CLASSIFICATION_RBM, n_iter=budget.classification_rbm_epochs,
                    validation_fraction=1 / 6)
    rbm = RBM(device=device, random_state=seed, **settings).fit(X, y)
    return {"value": _error(rbm, X_test, y_test), "unit": "% test error", "settings": settings,
            "training_rows": len(X), "validation_error": [h["error_valid"] for h in rbm.history_]}


def _row_autoencoder(data, budget, device, seed):
    from .estimators import DeepAutoencoder

    (X, _), (X_test, _) = data
    settings = dict(hidden_layer_sizes=(1000, 500, 250, 30), n_iter=budget.autoencoder_pretrain_epochs,
                    max_iter=budget.autoencoder_epochs, learning_rate=1e-3, lr_schedule="cosine", weight_decay=1e-5,
                    batch_size=100)
    model = DeepAutoencoder(device=device, random_state=seed, **settings).fit(X)
    return {"value": float(-model.score(X_test)), "unit": "squared error per test image", "settings": settings,
            "training_rows": len(X)}


def _row_fashion(budget, device, seed, data_home):
    """The first row's recipe on Fashion-MNIST, pretrained and from random init; the value is each network's error
    after the refit on all rows, the record also keeps the early-stopped errors and validation curves."""
    (X, y), test = load_fashion_mnist(data_home, progress=False)
    data = (_subsample(X, y, budget.n_train, seed), test)
    rows = {"DBNClassifier": _row_classifier(data, budget, device, seed),
            "same network, random init (MLP)": _row_classifier(data, budget, device, seed, pretrain=False)}
    settings = {**rows["DBNClassifier"]["settings"], "pretrain": "'rbm' vs False",
                "refit": {name: r["settings"]["refit"] for name, r in rows.items()}}
    return {"value": {name: r["value"][REFIT] for name, r in rows.items()}, "unit": "% test error",
            "settings": settings, "training_rows": rows["DBNClassifier"]["training_rows"],
            EARLY_STOPPED: {name: r["value"][EARLY_STOPPED] for name, r in rows.items()},
            "validation_accuracy": {name: r["validation_accuracy"] for name, r in rows.items()}}


EXPERIMENTS = {
    "dbn": ("DBN 784-500-500-2000, greedy pretraining + backprop fine-tuning, test error",
            "1.2% (Hinton & Salakhutdinov 2006), 1.34% (Theano tutorial, 3x1000)", "<= 1.0%"),
    "dropout": ("same, dropout fine-tuning", "0.92% (Srivastava et al. 2014)", "<= 0.9%"),
    "random_init": ("same network, random initialisation, same fine-tuning", "1.6% (2006 backprop baseline)",
                    "measured beside it"),
    "up_down": ("DBN with label units + up-down fine-tuning", "1.25% (Hinton, Osindero & Teh 2006)", "<= 1.25%"),
    "semi_supervised": ("Semi-supervised: 100 / 1000 labels, pretrained on all rows vs random init", "report",
                        "pretrained clearly better"),
    "rbm_ais": ("RBM 500 hidden, CD-k, AIS test log-likelihood", "-86.34 nats (Salakhutdinov & Murray 2008, CD-25)",
                ">= -86.3"),
    "rbm_ais_best": ("same, best recipe: centred CD-k, weight decay 5e-4", "-86.34 nats (CD-25, same paper)",
                     ">= -85.0"),
    "autoencoder": ("Deep autoencoder 784-1000-500-250-30, test squared error per image", "3.00 (PCA 13.87)",
                    "<= 3.0"),
    "fashion": ("Fashion-MNIST, DBNClassifier vs the same network from random init", "no DBN anchor", "report"),
    "dbm": ("DBM 784-500-1000, mean-field lower bound on the test log-probability, AIS log Z",
            "-84.62 nats (Salakhutdinov & Hinton 2009)", ">= -84.62"),
    "cdbn": ("Convolutional DBN (40+40 filters 5x5, pooling 2x2), both layers' features + linear classifier, "
             "test error", "0.82% (Lee et al. 2009)", "<= 0.82%"),
    "drbm": ("Discriminative RBM (500 hidden, exact gradient of log P(y | x)), test error",
             "1.81% (Larochelle & Bengio 2008)", "<= 1.81%"),
    "hdrbm": ("Hybrid RBM (1500 hidden, alpha 0.01), test error", "1.28% (same paper)", "<= 1.28%"),
    "sparse_hdrbm": ("Sparse hybrid RBM (3000 hidden), test error", "1.16% (same paper)", "<= 1.16%"),
}


def run_table(rows=ROWS, quick=False, device="cpu", data_home=None, seed=0, log=None, work=None):
    """Train and evaluate the chosen rows; returns (records, meta).

    Parameters
    ----------
    rows : sequence of names from ``ROWS``
    quick : bool
        Subsampled, few-epoch settings (minutes on 2 CPU cores); not comparable to the papers.
    device : 'cpu', 'cuda', 'cuda:N' or 'auto'
    data_home : folder of the MNIST / Fashion-MNIST files (see :mod:`deepbelief.datasets`)
    seed : int
    log : callable(str) or None, told when each row starts and ends
    work : folder or None
        Where the up-down row saves its DBN after pretraining and after each stage, and a checkpoint every epoch
        within a stage; a rerun with the same settings and seed resumes from the last one saved (its time then
        includes the earlier runs').
    """
    unknown = [r for r in rows if r not in ROWS]
    if unknown:
        raise ValueError(f"unknown rows {unknown}; choose from {', '.join(ROWS)}")
    budget = QUICK if quick else FULL
    resolved = resolve_device(device)
    meta = {"library_version": __version__, "torch": torch.__version__, "quick": quick, "seed": seed,
            "device": torch.cuda.get_device_name(resolved) if resolved.type == "cuda" else
            f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"}
    mnist = None
    if any(r not in _OWN_DATA for r in rows):
        (X, y), test = load_mnist(data_home, progress=False)
        mnist = (_subsample(X, y, budget.n_train, seed), test)
    runners = {
        "dbn": lambda: _row_classifier(mnist, budget, device, seed),
        "dropout": lambda: _row_classifier(mnist, budget, device, seed, dropout=0.5, input_dropout=0.2,
                                           max_iter=budget.dropout_epochs),
        "random_init": lambda: _row_classifier(mnist, budget, device, seed, pretrain=False),
        "up_down": lambda: _row_up_down(mnist, budget, device, seed, work),
        "semi_supervised": lambda: _row_semi_supervised(mnist, budget, device, seed),
        "rbm_ais": lambda: _row_rbm_ais(budget, device, seed, data_home),
        "rbm_ais_best": lambda: _row_rbm_ais(budget, device, seed, data_home, **BEST_RBM),
        "autoencoder": lambda: _row_autoencoder(mnist, budget, device, seed),
        "fashion": lambda: _row_fashion(budget, device, seed, data_home),
        "dbm": lambda: _row_dbm(budget, device, seed, data_home),
        "cdbn": lambda: _row_cdbn(mnist, budget, device, seed),
        **{name: (lambda name=name: _row_classification_rbm(mnist, budget, device, seed, name))
           for name in CLASSIFICATION_RBMS},
    }
    records = []
    for name in rows:
        if log:
            log(f"row {name}: {EXPERIMENTS[name][0]}")
        start = time.perf_counter()
        record = runners[name]()
        experiment, anchor, target = EXPERIMENTS[name]
        record.update(row=name, experiment=experiment, anchor=anchor, target=target,
                      seconds=round(time.perf_counter() - start + record.pop("earlier_seconds", 0.0), 1))
        records.append(record)
        if log:
            log(f"row {name}: {_format(record['value'])} {record['unit']} in {record['seconds']:.0f} s")
    return records, meta


def _format(value):
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v:.2f}" for k, v in value.items())
    return f"{value:.2f}"


def _end(value, missing="-inf"):
    return missing if value is None else f"{value:.2f}"


def markdown(records, meta):
    """The table as Markdown, with the run's device, versions and settings."""
    lines = [f"deepbelief {meta['library_version']}, torch {meta['torch']}, device {meta['device']}, seed "
             f"{meta['seed']}" + (" -- QUICK settings (subsampled, few epochs): not comparable to the papers" if
                                  meta["quick"] else ""), "",
             "| Experiment | Published anchor | Target | Ours | Training rows | Time (s) |",
             "| --- | --- | --- | --- | --- | --- |"]
    for r in records:
        lines.append(f"| {r['experiment']} | {r['anchor']} | {r['target']} | {_format(r['value'])} {r['unit']} | "
                     f"{r['training_rows']} | {r['seconds']:.0f} |")
    lines += ["", "Settings:"] + [f"- {r['row']}: {r['settings']}" for r in records]
    for r in records:
        if EARLY_STOPPED in r:
            lines.append(f"- {r['row']}: {EARLY_STOPPED}, before the refit on all rows: {_format(r[EARLY_STOPPED])} "
                         f"{r['unit']}")
        if "ais" in r:
            (low, high), (ll_low, ll_high) = r["ais"]["log_z_interval"], r["ais"]["test_interval"]
            lines.append(f"- {r['row']}: AIS log Z {r['ais']['log_z']:.2f}, 3-std interval "
                         f"({_end(low)}, {_end(high)}); test log-likelihood interval ({_end(ll_low)}, "
                         f"{_end(ll_high, 'inf')})")
        if "raise" in r:
            b = r["raise"]
            lines.append(f"- {r['row']}: on the first {b['rows']} test rows, RAISE {b['raise_mean']:.2f} (lower end "
                         f"{b['lower']:.2f}) below, AIS {b['ais_estimate']:.2f} (upper end "
                         f"{_end(b['upper'], 'inf')}) above")
    return "\n".join(lines) + "\n"
