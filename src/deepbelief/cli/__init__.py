"""The ``deepbelief`` command line: the parser, the exit-code contract and ``main``."""
import argparse
import errno
import json
import logging
import os
import sys
from pathlib import Path

from .._version import __version__
from ._common import DATASET_NAMES, EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_USAGE, SCHEDULES, CLIError, int_list
from .models import MODELS, cmd_evaluate, cmd_info, cmd_predict, cmd_sample, cmd_transform
from .train import TASKS, cmd_demo, cmd_pretrain, cmd_train

__all__ = ["CLIError", "DATASET_NAMES", "MODELS", "SCHEDULES", "build_parser", "main"]

def cmd_reproduce(args):
    from .. import reproduce
    from ..data.datasets import DatasetError
    from ..io import write_atomic

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


def _log_options(p):
    p.add_argument("--tensorboard", metavar="DIR",
                   help="TensorBoard logs of every epoch into DIR (monitors, filters, samples; needs tensorboard)")
    p.add_argument("--log-csv", metavar="FILE", help="every monitor of every epoch into a CSV file")


def build_parser():
    parser = argparse.ArgumentParser(prog="deepbelief", description="Deep belief networks and RBMs.",
                                     formatter_class=_Help)
    parser.add_argument("--version", action="version", version=f"deepbelief {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser(
        "demo", formatter_class=_Help, help="train a DBN classifier on scikit-learn's digits; print and plot results")
    p.add_argument("--layers", type=int_list, default=(256, 256), help="hidden layer sizes, e.g. 256,256")
    p.add_argument("--epochs", type=int, default=10, help="pretraining epochs per layer")
    p.add_argument("--max-iter", type=int, default=100, help="fine-tuning epochs")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    p.add_argument("--seed", type=int, default=0, help="random seed: the same seed gives the same result")
    p.add_argument("--out", default="deepbelief-demo", help="output folder")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(run=cmd_demo)

    p = commands.add_parser(
        "pretrain", formatter_class=_Help, help="greedy layer-wise pretraining of a DBN; prints monitors, writes PNGs")
    p.add_argument("--dataset", default="digits", help=f"dataset name ({', '.join(DATASET_NAMES)})")
    p.add_argument("--layers", type=int_list, default=(256, 256), help="hidden layer sizes, e.g. 256,256")
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
    _log_options(p)
    p.set_defaults(run=cmd_pretrain)

    p = commands.add_parser(
        "train", formatter_class=_Help, help="train a classifier, regressor or unsupervised DBN on a dataset or file")
    p.add_argument("data", help=f"a dataset name ({', '.join(DATASET_NAMES)}) or a CSV, .npy, .npz or IDX file")
    p.add_argument("--task", choices=sorted(TASKS), default="classify",
                   help="classify (DBNClassifier), regress (DBNRegressor) or unsupervised (DBN)")
    p.add_argument("--model", choices=["dbn", "dbm"], default="dbn",
                   help="dbm: a deep Boltzmann machine (DBM): --task unsupervised, or --task classify for softmax "
                        "label units above its top layer (DBM(n_labels=K)); --max-iter sets its joint "
                        "training epochs, --learning-rate its pretraining rate")
    p.add_argument("--target", help="target column: name or index (default: the last column)")
    p.add_argument("--labels", help="an IDX labels file, for IDX images")
    p.add_argument("--layers", type=int_list, default=(256, 256), help="hidden layer sizes, e.g. 500,500,2000")
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
    _log_options(p)
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

    p = commands.add_parser(
        "sample", formatter_class=_Help, help="generate samples from a model; writes samples.npy and a PNG")
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

    p = commands.add_parser(
        "reproduce", formatter_class=_Help, help="train and evaluate the published MNIST experiments; writes the table")
    p.add_argument("benchmark", choices=["mnist"], help="the table to reproduce")
    p.add_argument("--quick", action="store_true",
                   help="subsampled data and few epochs: minutes on a CPU, numbers not comparable to the papers")
    p.add_argument("--rows", help="comma-separated rows to run (default: all): " + ", ".join(
        ("dbn", "dropout", "random_init", "up_down", "semi_supervised", "rbm_ais", "rbm_ais_best", "autoencoder",
         "fashion", "dbm", "cdbn")))
    p.add_argument("--data-home", help="folder with mnist/ and fashion-mnist/ (default: $DEEPBELIEF_DATA or the cache)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    p.add_argument("--seed", type=int, default=0, help="random seed: the same seed gives the same result")
    p.add_argument("--out", default="deepbelief-reproduce",
                   help="output folder for table.md and table.json (and checkpoints/, from which a rerun resumes)")
    p.set_defaults(run=cmd_reproduce)

    p = commands.add_parser(
        "info", formatter_class=_Help, help="describe a model file")
    p.add_argument("model", help="a model file")
    p.set_defaults(run=cmd_info)
    return parser


class _Terminated(Exception):
    """SIGTERM: under torchrun, another rank failed and the launcher is stopping the job."""


def _on_sigterm(signum, frame):
    raise _Terminated("stopped by SIGTERM (under torchrun: another rank failed and the launcher ended the job)")


def _join_ranks(command):
    """Under torchrun (WORLD_SIZE > 1): join the process group and name this rank in messages; else ''."""
    import os
    import signal

    from .. import distributed

    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or command not in ("train", "pretrain"):
        return ""
    distributed.init()
    signal.signal(signal.SIGTERM, _on_sigterm)
    group = distributed.current()
    if not group.is_main:
        logging.getLogger("deepbelief").setLevel(logging.WARNING)
    return f" (rank {group.rank} of {group.world})"


def run():
    """The entry point of the ``deepbelief`` command and of ``python -m deepbelief``: :func:`main`'s exit code.

    A data-parallel rank (under torchrun) ends through :func:`deepbelief.distributed.leave`, which skips the
    interpreter's teardown of torch's communication threads (it aborted about one rank exit in 50-100)."""
    code = main()
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        from .. import distributed

        distributed.leave(code)
    return code


def main(argv=None):
    args = build_parser().parse_args(argv)  # --help and usage errors exit here, before torch is imported

    from .. import distributed
    from ..errors import DeviceMemoryError, TrainingDivergedError

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
