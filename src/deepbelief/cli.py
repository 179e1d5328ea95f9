"""The ``deepbelief`` command line."""
import argparse
import json
import sys
from pathlib import Path

import numpy as np

from . import __version__

EXIT_USAGE = 2


class CLIError(Exception):
    """A usage or input problem: reported on one line, exit status 2."""


def _int_list(text):
    try:
        sizes = tuple(int(s) for s in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers like 256,256; got {text!r}") from None
    return sizes


def _load_dataset(name):
    if name == "digits":
        from sklearn.datasets import load_digits
        data = load_digits()
        return (data.data / 16.0).astype(np.float32), data.target, (8, 8)
    raise CLIError(f"unknown dataset {name!r}; available: digits")


def cmd_pretrain(args):
    from .estimators import DBN
    from .plot import plot_filters, plot_history

    X, _, image_shape = _load_dataset(args.dataset)
    dbn = DBN(hidden_layer_sizes=args.layers, n_iter=args.epochs, learning_rate=args.learning_rate,
              batch_size=args.batch_size, k=args.k, persistent=args.persistent, device=args.device,
              random_state=args.seed, verbose=not args.quiet)
    try:
        dbn.fit(X)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"deepbelief {__version__}: pretrained {X.shape[1]}-" + "-".join(map(str, args.layers))
          + f" on {args.dataset} ({X.shape[0]} rows, {args.epochs} epochs per layer)")
    for layer, history in enumerate(dbn.history_):
        first, last = history[0]["reconstruction_error"], history[-1]["reconstruction_error"]
        print(f"  layer {layer + 1}: reconstruction error per unit {first:.4f} -> {last:.4f}")
    plot_filters(dbn, image_shape=image_shape, save=out / "filters.png")
    plot_history(dbn, save=out / "history.png")
    (out / "metrics.json").write_text(json.dumps({"history": dbn.history_}, indent=1))
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


def build_parser():
    parser = argparse.ArgumentParser(prog="deepbelief", description="Deep belief networks and RBMs.")
    parser.add_argument("--version", action="version", version=f"deepbelief {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("demo", help="train a DBN classifier on scikit-learn's digits; print and plot results")
    p.add_argument("--layers", type=_int_list, default=(256, 256), help="hidden layer sizes, e.g. 256,256")
    p.add_argument("--epochs", type=int, default=10, help="pretraining epochs per layer")
    p.add_argument("--max-iter", type=int, default=100, help="fine-tuning epochs")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="deepbelief-demo", help="output folder")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(run=cmd_demo)

    p = commands.add_parser("pretrain", help="greedy layer-wise pretraining of a DBN; prints monitors, writes PNGs")
    p.add_argument("--dataset", default="digits", help="dataset name (digits)")
    p.add_argument("--layers", type=_int_list, default=(256, 256), help="hidden layer sizes, e.g. 256,256")
    p.add_argument("--epochs", type=int, default=20, help="pretraining epochs per layer")
    p.add_argument("--learning-rate", type=float, default=0.05)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--k", type=int, default=1, help="Gibbs steps per update (CD-k)")
    p.add_argument("--persistent", action="store_true", help="persistent CD")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="deepbelief-pretrain", help="output folder")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(run=cmd_pretrain)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except CLIError as exc:
        print(f"deepbelief {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
