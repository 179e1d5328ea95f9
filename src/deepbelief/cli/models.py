"""deepbelief predict, evaluate, transform, sample and info: the commands that use model files, and the table of
what each model class can do there."""
import json
from pathlib import Path

import numpy as np

from ._common import DATASET_NAMES, CLIError, apply_scaler, files, read_inputs

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
    from ..estimators import DBN

    return _stack_scores(DBN.from_rbms([model]), X)


def _stack_scores(model, X, y=None):
    """Scores of a DBN without a target: the reconstruction error per unit (the mean squared error over rows and
    visible units, the meaning ``history_`` and the progress bars give the name) and the mean free energy per
    row."""
    return {"reconstruction_error": _per_unit(-model.score_samples(X, score="reconstruction"), X),
            "free_energy": float(-model.score_samples(X, score="free_energy").mean())}


def _per_unit(per_row, X):
    """Per-row sums of squared errors (or their mean) -> the mean per visible unit."""
    return float(np.mean(per_row) / X.shape[1])


def _dbm_scores(model, X, y=None):
    """A DBM's reconstruction error per unit (in model units, as a DBN's) and its mean mean-field bound on
    log p*(x) (the log-likelihood plus log Z); with label units and a target, also its accuracy and log loss."""
    scale = 1.0 if model.data_scale_ is None else model.data_scale_
    error = (((model.reconstruct(X) - X) / scale) ** 2).sum(1)
    scores = {"reconstruction_error": _per_unit(error, X), "mean_field_bound": float(model.score_samples(X).mean())}
    if _labelled(model) and y is not None:
        scores.update(_classifier_scores(model, X, y))
    return scores


def _conv_scores(model, X, y=None):
    """A convolutional model's reconstruction error per unit (in model units) and mean -F(v) of its first layer."""
    scale = 1.0 if model.data_scale_ is None else model.data_scale_
    error = (((model.reconstruct(X) - X) / scale) ** 2).sum(1)
    return {"reconstruction_error": _per_unit(error, X), "free_energy": float(-model.score_samples(X).mean())}


def _conv_sampler(model):
    def generate(n, n_gibbs=None, burn_in=1000, random_state=None, return_probabilities=True, mean_field=False):
        return model.generate(n, burn_in=burn_in, random_state=random_state)  # the bottom layer's means
    return model, generate


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
    "DBM": dict(predicts=_labelled,
                scores=(_dbm_scores, False),
                codes=lambda m: m, sampler=lambda m: (m, m.generate)),
    "ConvRBM": dict(predicts=lambda m: False, scores=(_conv_scores, False), codes=lambda m: m, sampler=_conv_sampler),
    "ConvDBN": dict(predicts=lambda m: False, scores=(_conv_scores, False), codes=lambda m: m, sampler=_conv_sampler),
    "DBNClassifier": dict(predicts=lambda m: True, scores=(_classifier_scores, True), codes=lambda m: m.dbn_,
                          sampler=lambda m: None if m.dbn_ is None else (m.dbn_, m.dbn_.generate)),
    "DBNRegressor": dict(predicts=lambda m: True, scores=(_regressor_scores, True), codes=lambda m: m.dbn_,
                         sampler=lambda m: None if m.dbn_ is None else (m.dbn_, m.dbn_.generate)),
    "DeepAutoencoder": dict(predicts=lambda m: False,
                            scores=(lambda m, X, y=None: {"reconstruction_error": _per_unit(-m.score(X), X)}, False),
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
    from .. import io
    from ..errors import ModelFileError
    from ..estimators import load

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
            header = files().table_columns(args.data)
        except files().DataError as exc:
            raise CLIError(str(exc)) from None
        if header is not None:
            X, y = _inputs_by_name(args, header, columns, extra, with_target)
            return apply_scaler(extra.get("scaler", {}), X), y
    target = args.target if args.target is not None else extra.get("target")
    n = model.n_features_in_
    X, y, _, _, _ = read_inputs(args.data, target, True)
    if X.shape[1] == n - 1 and not with_target and args.data not in DATASET_NAMES:
        X, y, _, _, _ = read_inputs(args.data, target, False)  # no target column: every column is an input
    if X.shape[1] != n:
        raise CLIError(f"{args.data} has {X.shape[1]} feature columns but the model takes {n}")
    if with_target and y is None:
        raise CLIError(f"{args.data} has no target column to evaluate against")
    return apply_scaler(extra.get("scaler", {}), X), y


def _inputs_by_name(args, header, columns, extra, with_target):
    """(X with the model's columns in the model's order, the target or None) from a file with a header."""
    target = args.target if args.target is not None else extra.get("target_name") or extra.get("target")
    has_target = target is not None and str(target) in header
    X, y, _, _, names = read_inputs(args.data, str(target) if has_target else None, has_target)
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
    from ..plot import plot_samples

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
    from .. import io
    from ..errors import ModelFileError

    try:
        name, state, tensors, extra = io.read(args.model, with_extra=True)
    except ModelFileError as exc:
        raise CLIError(str(exc)) from None
    model, _ = _load_model(args.model, "cpu")
    print(f"{args.model}: {name}, {sum(t.numel() for t in tensors.values()):,} parameters")
    print(f"  inputs: {model.n_features_in_}")
    sizes = (getattr(model, "hidden_layer_sizes", None) or getattr(model, "modules_", None) and
             [f"{m.n_filters} filters {m.filter_size} pooled {m.pool_size}" for m in model.modules_]
             or [getattr(model, "n_components", None)])
    print(f"  hidden layers: {', '.join(map(str, sizes))}")
    if getattr(model, "classes_", None) is not None and (name not in ("RBM", "DBN") or _labelled(model)):
        print(f"  classes: {', '.join(map(str, model.classes_))}")
    if extra.get("cli"):
        print(f"  command-line preprocessing: scale={extra['cli']['scaler']['kind']}, task={extra['cli']['task']}")
    print("  hyperparameters: " + ", ".join(f"{k}={v!r}" for k, v in sorted(state["params"].items())))
    return 0


