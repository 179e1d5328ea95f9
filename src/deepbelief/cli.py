"""The ``deepbelief`` command line."""
import argparse
import json
import errno
import logging
import os
import sys
from pathlib import Path

import numpy as np

from ._version import __version__

# The CLI imports neither torch nor scikit-learn before a command runs, so that --help is instant; these two
# vocabularies are the library's (tests/test_cli.py checks they agree).
DATASET_NAMES = ("digits", "mnist", "fashion-mnist")
SCHEDULES = ("constant", "linear", "cosine")


def _files():
    from .data import files
    return files

EXIT_USAGE = 2
EXIT_FAILURE = 1
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C


class CLIError(Exception):
    """A usage or input problem: reported on one line, exit status 2."""


def _int_list(text):
    try:
        sizes = tuple(int(s) for s in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers like 256,256; got {text!r}") from None
    return sizes


def _load_dataset(name):
    if name not in DATASET_NAMES:
        raise CLIError(f"unknown dataset {name!r}; available: {', '.join(DATASET_NAMES)}")
    return _files().read_dataset(name)


def cmd_pretrain(args):
    from .estimators import DBN
    from .estimators._persist import json_params
    from .plot import plot_filters, plot_history

    X, _, image_shape = _load_dataset(args.dataset)
    dbn = DBN(hidden_layer_sizes=args.layers, n_iter=args.epochs, learning_rate=args.learning_rate,
              lr_schedule=args.lr_schedule, batch_size=args.batch_size, k=args.k, persistent=args.persistent,
              centering=args.centering, device=args.device, random_state=args.seed, verbose=not args.quiet)
    try:
        dbn.fit(X)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    if not _is_main():
        return 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"deepbelief {__version__}: pretrained {X.shape[1]}-" + "-".join(map(str, args.layers))
          + f" on {args.dataset} ({X.shape[0]} rows, {args.epochs} epochs per layer)")
    for layer, history in enumerate(dbn.history_):
        first, last = history[0]["reconstruction_error"], history[-1]["reconstruction_error"]
        print(f"  layer {layer + 1}: reconstruction error per unit {first:.4f} -> {last:.4f}")
    plot_filters(dbn, image_shape=image_shape, save=out / "filters.png")
    plot_history(dbn, save=out / "history.png")
    (out / "metrics.json").write_text(json.dumps({"history": dbn.history_, "params": json_params(dbn)}, indent=1))
    print(f"wrote {out / 'filters.png'}, {out / 'history.png'}, {out / 'metrics.json'}")
    return 0


def cmd_demo(args):
    import time

    from sklearn.metrics import confusion_matrix
    from sklearn.model_selection import train_test_split

    from .estimators import DBNClassifier
    from .plot import plot_filters, plot_history, plot_predictions

    X, y, image_shape = _load_dataset("digits")
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
    clf = DBNClassifier(hidden_layer_sizes=args.layers, n_iter=args.epochs, max_iter=args.max_iter,
                        device=args.device, random_state=args.seed, verbose=not args.quiet)
    start = time.perf_counter()
    clf.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    y_pred = clf.predict(X_test)
    accuracy = float((y_pred == y_test).mean())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"deepbelief {__version__} demo: DBNClassifier 64-" + "-".join(map(str, args.layers))
          + f"-10 on scikit-learn's digits ({len(X_train)} training, {len(X_test)} test images)")
    print("pretraining (reconstruction error per unit, first -> last epoch):")
    for layer, history in enumerate(clf.dbn_.history_):
        print(f"  layer {layer + 1}: {history[0]['reconstruction_error']:.4f} -> "
              f"{history[-1]['reconstruction_error']:.4f}")
    print(f"fine-tuning: {clf.n_iter_} epochs, training loss {clf.loss_curve_[0]:.4f} -> {clf.loss_curve_[-1]:.4f}")
    print(f"fit time: {seconds:.1f} s on {next(clf.network_.parameters()).device}")
    print(f"test accuracy: {accuracy:.4f}")
    print("confusion matrix (rows: true digit, columns: predicted):")
    matrix = confusion_matrix(y_test, y_pred)
    print("     " + " ".join(f"{c:>3d}" for c in clf.classes_))
    for label, row in zip(clf.classes_, matrix):
        print(f"  {label:>2d} " + " ".join(f"{v:>3d}" for v in row))
    plot_predictions(X_test, y_test, y_pred, image_shape, save=out / "predictions.png")
    plot_filters(clf.dbn_, image_shape, save=out / "filters.png")
    plot_history(clf.dbn_, save=out / "pretraining.png")
    plot_history(clf, save=out / "fine_tuning.png")
    (out / "metrics.json").write_text(json.dumps({
        "test_accuracy": accuracy, "fit_seconds": seconds, "confusion_matrix": matrix.tolist(),
        "pretraining_history": clf.dbn_.history_, "loss_curve": clf.loss_curve_}, indent=1))
    print(f"wrote predictions.png, filters.png, pretraining.png, fine_tuning.png, metrics.json into {out}/")
    return 0


TASKS = {"classify": "DBNClassifier", "regress": "DBNRegressor", "unsupervised": "DBN"}


def _parse_params(items):
    """--param name=value pairs; values are read as JSON where possible (numbers, lists, true/false), else text."""
    params = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise CLIError(f"--param expects name=value; got {item!r}")
        try:
            params[name.strip()] = json.loads(value)
        except json.JSONDecodeError:
            params[name.strip()] = value
        if isinstance(params[name.strip()], list):
            params[name.strip()] = tuple(params[name.strip()])
    return params


def _read_inputs(source, target, with_target, labels=None):
    """(X, y, image_shape, is_named_dataset, feature names or None without a CSV header) from a dataset name or a
    data file."""
    names = None
    try:
        if source in DATASET_NAMES:
            X, y, shape = _load_dataset(source)
            return X, (y if with_target else None), shape, True, None
        X, y, names = _files().read_table(source, target, with_target)
        if labels is not None:
            y = _files().read_idx(labels).ravel().astype(np.int64)
            if len(y) != len(X):
                raise CLIError(f"{labels} has {len(y)} labels but {source} has {len(X)} rows")
    except _files().DataError as exc:
        raise CLIError(str(exc)) from None
    side = int(round(np.sqrt(X.shape[1])))
    return X, y, ((side, side) if side * side == X.shape[1] else None), False, names


def _fit_scaler(kind, X):
    if kind == "minmax":
        low, high = X.min(0), X.max(0)
        return {"kind": "minmax", "low": low.tolist(), "span": np.where(high > low, high - low, 1.0).tolist()}
    return {"kind": kind}


def _apply_scaler(scaler, X):
    if scaler.get("kind") == "minmax":
        return np.clip((X - np.asarray(scaler["low"], np.float32)) / np.asarray(scaler["span"], np.float32), 0, 1)
    return X


def _make_estimator(args, params):
    from . import estimators

    cls = getattr(estimators, TASKS[args.task])
    options = {"hidden_layer_sizes": args.layers, "device": args.device, "random_state": args.seed,
               "verbose": not args.quiet}
    if args.scale == "standard":
        options["visible"] = "gaussian"
    for flag, name in (("epochs", "n_iter"), ("max_iter", "max_iter"), ("learning_rate", "learning_rate"),
                       ("batch_size", "batch_size")):
        if getattr(args, flag) is not None:
            options[name] = getattr(args, flag)
    if args.checkpoint_dir is not None:
        options.update(checkpoint_dir=args.checkpoint_dir, checkpoint_every=args.checkpoint_every)
    elif args.resume:
        raise CLIError("--resume needs --checkpoint-dir, the folder of the interrupted training's checkpoints")
    options.update(params)
    try:
        estimator = cls(**options)
        estimator._validate_params()
    except (TypeError, ValueError) as exc:
        raise CLIError(f"bad hyperparameter for {cls.__name__}: {exc}") from None
    return estimator


def cmd_train(args):
    import time

    from sklearn.model_selection import train_test_split

    from . import io
    from .plot import plot_filters, plot_history

    params = _parse_params(args.param)
    if not 0 <= args.test_size < 1:  # also refuses nan
        raise CLIError(f"--test-size must be a fraction in [0, 1) (0: no test rows); got {args.test_size}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CLIError(f"--out {out} is a file; give a folder for the model and its reports")
    if (out / "model.dbn").exists() and not (args.force or args.resume):
        raise CLIError(f"{out} already holds a trained model (model.dbn); use --force to replace it, or another "
                       "--out")
    X, y, image_shape, named, columns = _read_inputs(args.data, args.target, args.task != "unsupervised", args.labels)
    if args.task != "unsupervised" and y is None:
        raise CLIError(f"--task {args.task} needs a target: a target column, or --labels for IDX images")
    if args.task == "regress" and y.dtype.kind in "USO":
        raise CLIError(f"--task regress needs a numeric target, but the target column of {args.data} has text "
                       f"values like {str(y[0])!r}: not a number")
    scale = args.scale if args.scale != "auto" else ("none" if named else "minmax")
    estimator = _make_estimator(args, params)
    stratify = y if args.task == "classify" else None
    split = args.test_size > 0
    if split:
        parts = train_test_split(X, *([] if y is None else [y]), test_size=args.test_size, random_state=args.seed,
                                 stratify=stratify)
        X_train, X_test = parts[0], parts[1]
        y_train, y_test = (parts[2], parts[3]) if y is not None else (None, None)
    else:
        X_train, y_train = X, y
    scaler = _fit_scaler(scale, X_train)
    start = time.perf_counter()
    try:
        estimator.fit(_apply_scaler(scaler, X_train), *([] if y is None else [y_train]), resume=args.resume)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    seconds = time.perf_counter() - start
    if not _is_main():  # every rank holds the same model; rank 0 reports and writes it
        return 0
    metrics = {"task": args.task, "model": type(estimator).__name__, "rows": int(len(X_train)),
               "features": int(X.shape[1]), "fit_seconds": seconds}
    if split:
        score, _ = MODELS[type(estimator).__name__]["scores"]
        metrics.update({f"test_{k}": v for k, v in score(estimator, _apply_scaler(scaler, X_test), y_test).items()})
    dbn = estimator if args.task == "unsupervised" else estimator.dbn_
    if dbn is not None:
        metrics["pretraining_history"] = dbn.history_
    if args.task != "unsupervised":
        metrics["loss_curve"] = estimator.loss_curve_
    out.mkdir(parents=True, exist_ok=True)
    target_name = None
    if columns is not None and y is not None:  # the header's one column that is not a feature
        target_name = next((c for c in _files().table_columns(args.data) if c not in columns), None)
    extra = {"cli": {"scaler": scaler, "task": args.task, "target": args.target, "image_shape": image_shape,
                     "columns": columns, "target_name": target_name}}
    io.save(estimator, out / "model.dbn", extra=extra)
    written = ["model.dbn", "metrics.json"]
    if dbn is not None and dbn.history_ and dbn.history_[0]:
        plot_history(dbn, save=out / "pretraining.png")
        written.append("pretraining.png")
        if image_shape is not None:
            plot_filters(dbn, image_shape, save=out / "filters.png")
            written.append("filters.png")
    if args.task != "unsupervised":
        plot_history(estimator, save=out / "fine_tuning.png")
        written.append("fine_tuning.png")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1))
    layers = "-".join(map(str, [X.shape[1], *estimator.hidden_layer_sizes]))
    print(f"deepbelief {__version__}: trained a {type(estimator).__name__} {layers} on {args.data} "
          f"({len(X_train)} rows) in {seconds:.1f} s")
    for key, value in metrics.items():
        if key.startswith("test_"):
            print(f"  {key.replace('_', ' ')}: {value:.4f}")
    print(f"wrote {', '.join(written)} into {out}/")
    return 0


def _classifier_scores(model, X, y):
    from sklearn.metrics import accuracy_score, log_loss

    unseen = sorted(set(np.asarray(y).tolist()) - set(model.classes_.tolist()), key=str)
    if unseen:
        shown = ", ".join(map(repr, unseen[:5])) + (", ..." if len(unseen) > 5 else "")
        raise CLIError(f"the labels hold {len(unseen)} class(es) the model was not trained on ({shown}); it knows "
                       f"{', '.join(map(repr, model.classes_.tolist()[:10]))}: evaluate on rows of those classes")
    return {"accuracy": float(accuracy_score(y, model.predict(X))),
            "log_loss": float(log_loss(y, model.predict_proba(X), labels=model.classes_))}


def _regressor_scores(model, X, y):
    from sklearn.metrics import mean_squared_error, r2_score

    pred = model.predict(X)
    return {"r2": float(r2_score(y, pred)), "mse": float(mean_squared_error(y, pred))}


def _rbm_scores(model, X, y=None):
    """An RBM's scores are those of the one-layer DBN it makes."""
    from .estimators import DBN

    return _stack_scores(DBN.from_rbms([model]), X)


def _stack_scores(model, X, y=None):
    """Scores of a DBN without a target: its reconstruction error and free energy (per row)."""
    return {"reconstruction_error": float(-model.score_samples(X, score="reconstruction").mean()),
            "free_energy": float(-model.score_samples(X, score="free_energy").mean())}


def _labelled(model):
    return getattr(model, "n_labels", None) is not None


# What each model class does on the command line, read by predict / evaluate / transform / sample instead of
# tests on class names: 'predicts'(model) -> bool; 'scores'(model, X, y) -> dict and whether they need a target;
# 'codes'(model) -> the estimator whose transform gives the codes, or None; 'sampler'(model) -> the generative
# model and its sampling method, or None.
MODELS = {
    "RBM": dict(predicts=_labelled, scores=(_rbm_scores, False), codes=lambda m: m,
                sampler=lambda m: (m, m.sample)),
    "DBN": dict(predicts=_labelled, scores=(_stack_scores, False), codes=lambda m: m,
                sampler=lambda m: (m, m.generate)),
    "DBNClassifier": dict(predicts=lambda m: True, scores=(_classifier_scores, True), codes=lambda m: m.dbn_,
                          sampler=lambda m: None if m.dbn_ is None else (m.dbn_, m.dbn_.generate)),
    "DBNRegressor": dict(predicts=lambda m: True, scores=(_regressor_scores, True), codes=lambda m: m.dbn_,
                         sampler=lambda m: None if m.dbn_ is None else (m.dbn_, m.dbn_.generate)),
    "DeepAutoencoder": dict(predicts=lambda m: False,
                            scores=(lambda m, X, y=None: {"reconstruction_error": float(-m.score(X))}, False),
                            codes=lambda m: m, sampler=lambda m: None),
    "AnomalyDetector": dict(predicts=lambda m: True,
                            scores=(lambda m, X, y=None: {"outlier_fraction": float((m.predict(X) == -1).mean()),
                                                          "mean_score": float(m.score_samples(X).mean())}, False),
                            codes=lambda m: m.model_, sampler=lambda m: None),
}


def _role(model, path):
    """The MODELS entry of a loaded model; CLIError for a class the command line does not handle."""
    name = type(model).__name__
    if name not in MODELS:
        raise CLIError(f"{path} holds a {name}, which the command line does not handle (it reads tables of rows); "
                       f"use it from Python: deepbelief.load({str(path)!r})")
    return MODELS[name]


def _load_model(path, device):
    from . import io
    from .errors import ModelFileError
    from .estimators import load

    try:
        model = load(path, device=device)
        extra = io.read(path, with_extra=True)[3].get("cli", {})
    except ModelFileError as exc:
        raise CLIError(str(exc)) from None
    return model, extra


def _model_inputs(args, model, extra, with_target):
    """The rows of args.data for ``model``, scaled as at training, and the target column when the file has one
    beside the model's inputs. A file with a header, for a model trained on one, is matched by column name (any
    order; a missing or unexpected column is an error that names it); other files by position, the target (name or
    index from --target, else as at training, else the last column) taken out when there is one column too many."""
    columns = extra.get("columns")
    if columns and args.data not in DATASET_NAMES:
        try:
            header = _files().table_columns(args.data)
        except _files().DataError as exc:
            raise CLIError(str(exc)) from None
        if header is not None:
            X, y = _inputs_by_name(args, header, columns, extra, with_target)
            return _apply_scaler(extra.get("scaler", {}), X), y
    target = args.target if args.target is not None else extra.get("target")
    n = model.n_features_in_
    X, y, _, _, _ = _read_inputs(args.data, target, True)
    if X.shape[1] == n - 1 and not with_target and args.data not in DATASET_NAMES:
        X, y, _, _, _ = _read_inputs(args.data, target, False)  # no target column: every column is an input
    if X.shape[1] != n:
        raise CLIError(f"{args.data} has {X.shape[1]} feature columns but the model takes {n}")
    if with_target and y is None:
        raise CLIError(f"{args.data} has no target column to evaluate against")
    return _apply_scaler(extra.get("scaler", {}), X), y


def _inputs_by_name(args, header, columns, extra, with_target):
    """(X with the model's columns in the model's order, the target or None) from a file with a header."""
    target = args.target if args.target is not None else extra.get("target_name") or extra.get("target")
    has_target = target is not None and str(target) in header
    X, y, _, _, names = _read_inputs(args.data, str(target) if has_target else None, has_target)
    missing = [c for c in columns if c not in names]
    unexpected = [c for c in names if c not in columns]

    def listed(items):
        return ", ".join(map(repr, items[:5])) + (f" and {len(items) - 5} more" if len(items) > 5 else "")

    if missing:
        raise CLIError(f"{args.data} lacks {len(missing)} of the model's {len(columns)} input columns: "
                       f"{listed(missing)} (columns are matched by name)")
    if unexpected:
        raise CLIError(f"{args.data} has {len(unexpected)} columns the model was not trained on: {listed(unexpected)}; "
                       f"remove them (the model takes {len(columns)} columns, matched by name"
                       f"{'' if target is None else f', and the target {target!r}'})")
    if with_target and y is None:
        raise CLIError(f"{args.data} has no target column {target!r} to evaluate against")
    return X[:, [names.index(c) for c in columns]], y


def _write_array(array, path, name):
    """``array`` as .npy, or as CSV with a header: ``name``, or name_0, name_1, ... for several columns."""
    path = Path(path)
    if path.suffix == ".npy":
        np.save(path, array)
    else:
        rows = array.reshape(len(array), -1)
        header = [name] if rows.shape[1] == 1 else [f"{name}_{i}" for i in range(rows.shape[1])]
        with open(path, "w", newline="") as f:
            f.write(",".join(header) + "\n")
            for row in rows:
                f.write(",".join(str(v) for v in row) + "\n")


def cmd_predict(args):
    model, extra = _load_model(args.model, args.device)
    if not _role(model, args.model)["predicts"](model):
        raise CLIError(f"{args.model} holds an unsupervised {type(model).__name__}, which does not predict; "
                       "use 'deepbelief transform'")
    X, _ = _model_inputs(args, model, extra, with_target=False)
    predictions = model.predict(X)
    if args.out:
        _write_array(np.asarray(predictions), args.out, extra.get("target_name") or "prediction")
        print(f"wrote {len(predictions)} predictions to {args.out}")
    else:
        for value in np.asarray(predictions).reshape(len(predictions), -1):
            print(",".join(str(v) for v in value))
    return 0


def cmd_evaluate(args):
    model, extra = _load_model(args.model, args.device)
    score, needs_target = _role(model, args.model)["scores"]
    X, y = _model_inputs(args, model, extra, with_target=needs_target)
    metrics = score(model, X, y)
    metrics["rows"] = int(len(X))
    print(json.dumps(metrics, indent=1))
    return 0


def cmd_transform(args):
    model, extra = _load_model(args.model, args.device)
    coder = _role(model, args.model)["codes"](model)
    if coder is None:
        raise CLIError(f"{args.model} was trained without pretraining (pretrain=False): it has no DBN codes")
    X, _ = _model_inputs(args, model, extra, with_target=False)
    codes = coder.transform(X)
    _write_array(codes, args.out, "code")
    print(f"wrote codes of shape {codes.shape} to {args.out}")
    return 0


def cmd_sample(args):
    from .plot import plot_samples

    model, extra = _load_model(args.model, args.device)
    found = _role(model, args.model)["sampler"](model)
    if found is None:
        raise CLIError(f"{args.model} has no generative model to sample from")
    dbn, generate = found
    options = {}
    if args.label is not None:
        if getattr(dbn, "n_labels", None) is None:
            raise CLIError("--label needs a model trained with label units (DBN n_labels)")
        names = [str(c) for c in dbn.classes_]
        if args.label not in names:
            raise CLIError(f"--label {args.label!r} is not a class of this model; its classes: {', '.join(names)}")
        options["label"] = dbn.classes_[names.index(args.label)]
    try:
        samples = generate(args.n, n_gibbs=args.n_gibbs, burn_in=args.burn_in, random_state=args.seed,
                           return_probabilities=True, mean_field=args.mean_field, **options)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    scaler = extra.get("scaler", {})
    if scaler.get("kind") == "minmax":
        samples = samples * np.asarray(scaler["span"], np.float32) + np.asarray(scaler["low"], np.float32)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "samples.npy", samples)
    written = ["samples.npy"]
    shape = extra.get("image_shape")
    side = int(round(np.sqrt(samples.shape[1])))
    shape = shape or ((side, side) if side * side == samples.shape[1] else None)
    if shape is not None:
        plot_samples(samples, tuple(shape), save=out / "samples.png")
        written.append("samples.png")
    print(f"wrote {args.n} samples ({', '.join(written)}) into {out}/")
    return 0


def cmd_info(args):
    from . import io
    from .errors import ModelFileError

    try:
        name, state, tensors, extra = io.read(args.model, with_extra=True)
    except ModelFileError as exc:
        raise CLIError(str(exc)) from None
    model, _ = _load_model(args.model, "cpu")
    print(f"{args.model}: {name}, {sum(t.numel() for t in tensors.values()):,} parameters")
    print(f"  inputs: {model.n_features_in_}")
    sizes = getattr(model, "hidden_layer_sizes", None) or [getattr(model, "n_components", None)]
    print(f"  hidden layers: {', '.join(map(str, sizes))}")
    if getattr(model, "classes_", None) is not None and (name not in ("RBM", "DBN") or _labelled(model)):
        print(f"  classes: {', '.join(map(str, model.classes_))}")
    if extra.get("cli"):
        print(f"  command-line preprocessing: scale={extra['cli']['scaler']['kind']}, task={extra['cli']['task']}")
    print("  hyperparameters: " + ", ".join(f"{k}={v!r}" for k, v in sorted(state["params"].items())))
    return 0


def cmd_reproduce(args):
    from . import reproduce
    from .data.datasets import DatasetError
    from .io import write_atomic

    rows = reproduce.ROWS if args.rows is None else tuple(r.strip() for r in args.rows.split(","))
    unknown = [r for r in rows if r not in reproduce.ROWS]
    if unknown:
        raise CLIError(f"unknown rows {', '.join(unknown)}; available: {', '.join(reproduce.ROWS)}")
    try:
        records, meta = reproduce.run_table(rows, quick=args.quick, device=args.device, data_home=args.data_home,
                                            seed=args.seed, log=logging.getLogger("deepbelief").info,
                                            work=Path(args.out) / "checkpoints")
    except DatasetError as exc:
        raise CLIError(str(exc)) from None
    table = reproduce.markdown(records, meta)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "table.md", table.encode())
    write_atomic(out / "table.json", json.dumps({"meta": meta, "rows": records}, indent=1, default=str).encode())
    print(table)
    print(f"wrote {out / 'table.md'} and {out / 'table.json'}")
    return 0


class _Help(argparse.HelpFormatter):
    """Help that shows each option's default (when it has one worth showing)."""

    def _get_help_string(self, action):
        text = action.help or ""
        shown = action.default is not None and action.default is not False and action.default != argparse.SUPPRESS
        if shown and action.option_strings and "%(default)" not in text:
            default = ",".join(map(str, action.default)) if isinstance(action.default, tuple) else action.default
            text += f" (default: {default})"
        return text


def build_parser():
    parser = argparse.ArgumentParser(prog="deepbelief", description="Deep belief networks and RBMs.",
                                     formatter_class=_Help)
    parser.add_argument("--version", action="version", version=f"deepbelief {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("demo", formatter_class=_Help, help="train a DBN classifier on scikit-learn's digits; print and plot results")
    p.add_argument("--layers", type=_int_list, default=(256, 256), help="hidden layer sizes, e.g. 256,256")
    p.add_argument("--epochs", type=int, default=10, help="pretraining epochs per layer")
    p.add_argument("--max-iter", type=int, default=100, help="fine-tuning epochs")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    p.add_argument("--seed", type=int, default=0, help="random seed: the same seed gives the same result")
    p.add_argument("--out", default="deepbelief-demo", help="output folder")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(run=cmd_demo)

    p = commands.add_parser("pretrain", formatter_class=_Help, help="greedy layer-wise pretraining of a DBN; prints monitors, writes PNGs")
    p.add_argument("--dataset", default="digits", help=f"dataset name ({', '.join(DATASET_NAMES)})")
    p.add_argument("--layers", type=_int_list, default=(256, 256), help="hidden layer sizes, e.g. 256,256")
    p.add_argument("--epochs", type=int, default=20, help="pretraining epochs per layer")
    p.add_argument("--learning-rate", type=float, default=0.05, help="CD learning rate")
    p.add_argument("--lr-schedule", choices=SCHEDULES, default="constant",
                   help="learning rate over each layer's epochs: constant, or decayed to 0 (linear, cosine)")
    p.add_argument("--batch-size", type=int, default=32, help="rows per CD update")
    p.add_argument("--k", type=int, default=1, help="Gibbs steps per update (CD-k)")
    p.add_argument("--persistent", action="store_true", help="persistent CD")
    p.add_argument("--centering", action="store_true", help="the centred gradient (Melchior et al. 2016)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    p.add_argument("--seed", type=int, default=0, help="random seed: the same seed gives the same result")
    p.add_argument("--out", default="deepbelief-pretrain", help="output folder")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(run=cmd_pretrain)

    p = commands.add_parser("train", formatter_class=_Help, help="train a classifier, regressor or unsupervised DBN on a dataset or file")
    p.add_argument("data", help=f"a dataset name ({', '.join(DATASET_NAMES)}) or a CSV, .npy, .npz or IDX file")
    p.add_argument("--task", choices=sorted(TASKS), default="classify",
                   help="classify (DBNClassifier), regress (DBNRegressor) or unsupervised (DBN)")
    p.add_argument("--target", help="target column: name or index (default: the last column)")
    p.add_argument("--labels", help="an IDX labels file, for IDX images")
    p.add_argument("--layers", type=_int_list, default=(256, 256), help="hidden layer sizes, e.g. 500,500,2000")
    p.add_argument("--epochs", type=int, help="pretraining epochs per layer (n_iter; default: the estimator's)")
    p.add_argument("--max-iter", type=int, help="fine-tuning epochs (default: the estimator's)")
    p.add_argument("--learning-rate", type=float, help="fine-tuning (or, unsupervised, CD) learning rate")
    p.add_argument("--batch-size", type=int, help="rows per update (default: the estimator's)")
    p.add_argument("--param", action="append", metavar="NAME=VALUE",
                   help="any other estimator hyperparameter, e.g. --param dropout=0.3 (repeatable)")
    p.add_argument("--scale", choices=["auto", "minmax", "standard", "none"], default="auto",
                   help="minmax: to [0, 1] (default for files); standard: Gaussian visible units; none (default for "
                        "the named datasets)")
    p.add_argument("--test-size", type=float, default=0.2, help="held-out share for the test metrics (0: none)")
    p.add_argument("--checkpoint-dir", help="write training checkpoints into this folder")
    p.add_argument("--checkpoint-every", type=int, default=1, help="epochs between checkpoints")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted training from --checkpoint-dir (same data and options)")
    p.add_argument("--force", action="store_true", help="replace a model already in --out")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    p.add_argument("--seed", type=int, default=0, help="random seed: the same seed gives the same result")
    p.add_argument("--out", default="deepbelief-model", help="output folder")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(run=cmd_train)

    for name, run, help_text in (("predict", cmd_predict, "predict labels or targets for the rows of a file"),
                                 ("evaluate", cmd_evaluate, "metrics of a model on a labelled file (JSON)"),
                                 ("transform", cmd_transform, "the DBN codes of the rows of a file")):
        p = commands.add_parser(name, help=help_text, formatter_class=_Help)
        p.add_argument("model", help="a model file written by train (model.dbn)")
        p.add_argument("data", help="a dataset name or a CSV, .npy, .npz or IDX file")
        p.add_argument("--target", help="target column: name or index (default: as at training)")
        p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
        if name == "transform":
            p.add_argument("--out", required=True, help="output file (.npy or .csv)")
        elif name == "predict":
            p.add_argument("--out", help="output file (.csv or .npy; default: standard output)")
        p.set_defaults(run=run)

    p = commands.add_parser("sample", formatter_class=_Help, help="generate samples from a model; writes samples.npy and a PNG")
    p.add_argument("model", help="a model file written by train")
    p.add_argument("--n", type=int, default=100, help="number of samples")
    p.add_argument("--label", help="class to generate (models with label units)")
    p.add_argument("--n-gibbs", type=int, default=100, help="Gibbs steps between samples")
    p.add_argument("--burn-in", type=int, default=1000, help="Gibbs steps before the first sample")
    p.add_argument("--mean-field", action="store_true",
                   help="read the chains out with probabilities all the way down (cleaner images)")
    p.add_argument("--seed", type=int, default=0, help="random seed: the same seed gives the same result")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    p.add_argument("--out", default="deepbelief-samples", help="output folder")
    p.set_defaults(run=cmd_sample)

    p = commands.add_parser("reproduce", formatter_class=_Help, help="train and evaluate the published MNIST experiments; writes the table")
    p.add_argument("benchmark", choices=["mnist"], help="the table to reproduce")
    p.add_argument("--quick", action="store_true",
                   help="subsampled data and few epochs: minutes on a CPU, numbers not comparable to the papers")
    p.add_argument("--rows", help="comma-separated rows to run (default: all): " + ", ".join(
        ("dbn", "dropout", "random_init", "up_down", "semi_supervised", "rbm_ais", "rbm_ais_best", "autoencoder",
         "fashion")))
    p.add_argument("--data-home", help="folder with mnist/ and fashion-mnist/ (default: $DEEPBELIEF_DATA or the cache)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    p.add_argument("--seed", type=int, default=0, help="random seed: the same seed gives the same result")
    p.add_argument("--out", default="deepbelief-reproduce",
                   help="output folder for table.md and table.json (and checkpoints/, from which a rerun resumes)")
    p.set_defaults(run=cmd_reproduce)

    p = commands.add_parser("info", formatter_class=_Help, help="describe a model file")
    p.add_argument("model", help="a model file")
    p.set_defaults(run=cmd_info)
    return parser


def _is_main():
    from . import distributed

    return distributed.is_main_process()


class _Terminated(Exception):
    """SIGTERM: under torchrun, another rank failed and the launcher is stopping the job."""


def _on_sigterm(signum, frame):
    raise _Terminated("stopped by SIGTERM (under torchrun: another rank failed and the launcher ended the job)")


def _join_ranks(command):
    """Under torchrun (WORLD_SIZE > 1): join the process group and name this rank in messages; else ''."""
    import os
    import signal

    from . import distributed

    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or command not in ("train", "pretrain"):
        return ""
    distributed.init()
    signal.signal(signal.SIGTERM, _on_sigterm)
    group = distributed.current()
    if not group.is_main:
        logging.getLogger("deepbelief").setLevel(logging.WARNING)
    return f" (rank {group.rank} of {group.world})"


def main(argv=None):
    args = build_parser().parse_args(argv)  # --help and usage errors exit here, before torch is imported

    from . import distributed
    from .errors import DeviceMemoryError, TrainingDivergedError

    logging.basicConfig(level=logging.WARNING if getattr(args, "quiet", False) else logging.INFO,
                        format="deepbelief: %(message)s")
    where = ""
    try:
        where = _join_ranks(args.command)
        code = args.run(args)
        distributed.close(together=True)
        return code
    except (CLIError, ValueError) as exc:  # bad usage or input, including the estimators' input checks
        print(f"deepbelief {args.command}{where}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (TrainingDivergedError, DeviceMemoryError) as exc:
        print(f"deepbelief {args.command}{where}: training failed: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        kept = (f"; resume with the same command and --resume (checkpoints in {args.checkpoint_dir})"
                if getattr(args, "checkpoint_dir", None) else "")
        print(f"deepbelief {args.command}{where}: interrupted{kept}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader of our output left (`deepbelief info m.dbn | head`)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes stdout at exit
        return EXIT_FAILURE
    except OSError as exc:  # a file to read or write: missing, a folder, read-only, the disk full
        name = f"{exc.filename}: " if exc.filename else ""
        print(f"deepbelief {args.command}{where}: error: {name}{exc.strerror or exc}", file=sys.stderr)
        full = exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EIO)
        return EXIT_FAILURE if full else EXIT_USAGE
    except (_Terminated, RuntimeError) as exc:
        if not where:
            raise
        # A collective failed: another rank died or hung past $DEEPBELIEF_TIMEOUT. Checkpoints are written
        # atomically, so the last one is intact.
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        kept = f"; the last checkpoint in {args.checkpoint_dir} is intact (resume with --resume)" if getattr(
            args, "checkpoint_dir", None) else ""
        print(f"deepbelief {args.command}{where}: training stopped: lost another rank: {first_line}{kept}",
              file=sys.stderr)
        return EXIT_FAILURE
    finally:
        distributed.close()
