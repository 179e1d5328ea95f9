"""deepbelief demo, pretrain and train: the commands that fit models."""
import json
from pathlib import Path

import numpy as np

from .._version import __version__
from ._common import CLIError, apply_scaler, check_layers_fit, files, fit_scaler, is_main, load_dataset, read_inputs
from .models import MODELS

def cmd_pretrain(args):
    from ..estimators import DBN
    from ..estimators._persist import json_params
    from ..plot import plot_filters, plot_history

    X, _, image_shape = load_dataset(args.dataset)
    check_layers_fit(args.layers, X.shape[1], args.device)
    dbn = DBN(hidden_layer_sizes=args.layers, n_iter=args.epochs, learning_rate=args.learning_rate,
              lr_schedule=args.lr_schedule, batch_size=args.batch_size, k=args.k, persistent=args.persistent,
              centering=args.centering, device=args.device, random_state=args.seed, verbose=not args.quiet,
              callbacks=_loggers(args, image_shape))
    try:
        dbn.fit(X)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    if not is_main():
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

    from ..estimators import DBNClassifier
    from ..plot import plot_filters, plot_history, plot_predictions

    X, y, image_shape = load_dataset("digits")
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


def _loggers(args, image_shape):
    """The callbacks --tensorboard DIR and --log-csv FILE ask for."""
    from ..callbacks import CSVLogger, TensorBoardLogger

    loggers = []
    if args.tensorboard is not None:
        shape = tuple(image_shape[-2:]) if image_shape is not None else None
        try:
            loggers.append(TensorBoardLogger(args.tensorboard, image_shape=shape))
        except ImportError as exc:
            raise CLIError(f"--tensorboard: {exc}") from None
    if args.log_csv is not None:
        if Path(args.log_csv).is_dir():
            raise CLIError(f"--log-csv {args.log_csv} is a folder; give a file name, e.g. {args.log_csv}/log.csv")
        loggers.append(CSVLogger(args.log_csv))
    return loggers


def _make_estimator(args, params, image_shape=None, n_classes=None):
    from .. import estimators

    if args.model == "dbm" and args.task == "regress":
        raise CLIError("--model dbm trains a deep Boltzmann machine, unsupervised or with softmax label units above "
                       "its top layer; use it with --task unsupervised or --task classify (got --task regress)")
    cls = getattr(estimators, "DBM" if args.model == "dbm" else TASKS[args.task])
    options = {"hidden_layer_sizes": args.layers, "device": args.device, "random_state": args.seed,
               "verbose": not args.quiet, "callbacks": _loggers(args, image_shape)}
    if args.model == "dbm" and args.task == "classify":
        options["n_labels"] = n_classes
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

    from .. import io
    from ..plot import plot_filters, plot_history

    params = _parse_params(args.param)
    if not 0 <= args.test_size < 1:  # also refuses nan
        raise CLIError(f"--test-size must be a fraction in [0, 1) (0: no test rows); got {args.test_size}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CLIError(f"--out {out} is a file; give a folder for the model and its reports")
    if (out / "model.dbn").exists() and not (args.force or args.resume):
        raise CLIError(f"{out} already holds a trained model (model.dbn); use --force to replace it, or another "
                       "--out")
    X, y, image_shape, named, columns = read_inputs(args.data, args.target, args.task != "unsupervised", args.labels)
    if args.task != "unsupervised" and y is None:
        raise CLIError(f"--task {args.task} needs a target: a target column, or --labels for IDX images")
    if args.task == "regress" and y.dtype.kind in "USO":
        raise CLIError(f"--task regress needs a numeric target, but the target column of {args.data} has text "
                       f"values like {str(y[0])!r}: not a number")
    scale = args.scale if args.scale != "auto" else ("none" if named else "minmax")
    check_layers_fit(params.get("hidden_layer_sizes", args.layers), X.shape[1], args.device)
    n_classes = None
    if y is not None and args.task == "classify":  # rows labelled -1 are unlabelled (semi-supervised)
        n_classes = len(np.unique(y[y != -1] if y.dtype.kind in "iuf" else y))
    estimator = _make_estimator(args, params, image_shape, n_classes)
    stratify = y if args.task == "classify" else None
    split = args.test_size > 0
    if split:
        parts = train_test_split(X, *([] if y is None else [y]), test_size=args.test_size, random_state=args.seed,
                                 stratify=stratify)
        X_train, X_test = parts[0], parts[1]
        y_train, y_test = (parts[2], parts[3]) if y is not None else (None, None)
    else:
        X_train, y_train = X, y
    scaler = fit_scaler(scale, X_train)
    start = time.perf_counter()
    try:
        estimator.fit(apply_scaler(scaler, X_train), *([] if y is None else [y_train]), resume=args.resume)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    seconds = time.perf_counter() - start
    if not is_main():  # every rank holds the same model; rank 0 reports and writes it
        return 0
    metrics = {"task": args.task, "model": type(estimator).__name__, "rows": int(len(X_train)),
               "features": int(X.shape[1]), "fit_seconds": seconds}
    if split:
        score, _ = MODELS[type(estimator).__name__]["scores"]
        metrics.update({f"test_{k}": v for k, v in score(estimator, apply_scaler(scaler, X_test), y_test).items()})
    supervised = args.task != "unsupervised" and args.model != "dbm"  # a network fine-tuned by backpropagation
    if args.model == "dbm":  # the joint training's curve stands for the DBN's pretraining curves
        metrics.update(pretraining_history=estimator.pretraining_history_, joint_history=estimator.history_)
        dbn = None
    else:
        dbn = estimator.dbn_ if supervised else estimator
    if dbn is not None:
        metrics["pretraining_history"] = dbn.history_
    if supervised:
        metrics["loss_curve"] = estimator.loss_curve_
    out.mkdir(parents=True, exist_ok=True)
    target_name = None
    if columns is not None and y is not None:  # the header's one column that is not a feature
        target_name = next((c for c in files().table_columns(args.data) if c not in columns), None)
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
    if args.model == "dbm" and estimator.history_:
        plot_history(estimator, save=out / "joint_training.png")
        written.append("joint_training.png")
        if image_shape is not None:
            plot_filters(estimator, image_shape, save=out / "filters.png")
            written.append("filters.png")
    if supervised:
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


