"""Callbacks: your code, called at the end of every training epoch of every estimator's fit.

Give ``callbacks=[...]`` to any estimator (RBM, DBN, DBNClassifier, DBNRegressor, DeepAutoencoder, AnomalyDetector,
DBM, ConvRBM, ConvDBN, ConditionalRBM, ConditionalDBN). Each item is a :class:`Callback` or a plain callable
``f(epoch)``; after each epoch of each training stage (a layer's CD pretraining, fine-tuning, up-down, a DBM's joint
training) it receives an :class:`Epoch` record. A true result from ``on_epoch_end`` (or from the callable) ends
that stage after this epoch: the model keeps this epoch's parameters, its checkpoint is written as usual, and the
fit goes on with the next stage (a DBN's next layer, fine-tuning).

Callbacks never change what is trained: they see the parameters, but the random streams of training are not
theirs. Under ``torch.distributed`` every rank must be given the same callbacks: they are called on every rank,
the shipped loggers write on rank 0 only, and a stop is agreed among the ranks (any rank's stop stops all).

Shipped: :class:`CSVLogger` (every monitor, one row per value) and :class:`TensorBoardLogger` (scalars, images of
filters, reconstructions and samples, the hyperparameters; needs ``pip install tensorboard``). Both continue the
log of a resumed fit without duplicate steps: the first epoch a fit logs for a stage replaces whatever the log held
for that stage from that epoch on.
"""
import contextvars
import csv
import functools
import math
import os
import time
from dataclasses import dataclass, field

import torch

from . import distributed

__all__ = ["Callback", "Epoch", "CSVLogger", "TensorBoardLogger"]


@dataclass(frozen=True)
class Epoch:
    """What a callback receives after an epoch.

    Attributes
    ----------
    estimator : the estimator whose ``fit`` was given the callback
    stage : str, 'training' (a single RBM's own CD), 'pretraining' (a layer of a stack), 'fine-tuning',
        'up-down' or 'joint training' (a DBM)
    layer : int or None, the layer (0-based) of a 'pretraining' or 'training' stage
    epoch : int, the epoch of this stage (0-based; a resumed fit continues the count)
    n_epochs : int, the epochs the stage is set to run
    metrics : dict of str -> float, the epoch's monitors (the estimator's ``history_`` row or loss)
    model : torch.nn.Module, the module being trained, with this epoch's parameters (read it, do not change it)
    rows : tensor or None, the stage's training rows where they are in memory (the first rows serve for images)
    """

    estimator: object
    stage: str
    layer: object
    epoch: int
    n_epochs: int
    metrics: dict
    model: object = None
    rows: object = None

    @property
    def name(self):
        """The stage with its layer (1-based, as the progress bars count), e.g. 'pretraining-layer2'."""
        return self.stage.replace(" ", "-") + ("" if self.layer is None else f"-layer{self.layer + 1}")


class Callback:
    """Base class of callbacks; override what you need."""

    def on_fit_begin(self, estimator):
        """Before ``estimator.fit`` trains anything."""

    def on_epoch_end(self, epoch):
        """After every epoch, with its :class:`Epoch`; return True to end the stage."""
        return False

    def on_fit_end(self, estimator):
        """After the fit, also when it failed or was interrupted."""


# The fits under way in this thread, outermost first: (estimator, its callbacks). A fit inside another's (a DBN's
# nested pretraining, an AnomalyDetector's model) reports to both.
_FITS = contextvars.ContextVar("deepbelief_fits", default=())


def check_callbacks(callbacks):
    """``callbacks`` as a tuple, or ValueError naming what is wrong."""
    if callbacks is None:
        return ()
    if isinstance(callbacks, Callback) or callable(callbacks) or not isinstance(callbacks, (list, tuple)):
        raise ValueError(f"callbacks must be a list of deepbelief.callbacks.Callback objects or callables; got "
                         f"{type(callbacks).__name__} (wrap a single one in a list)")
    for item in callbacks:
        if not (isinstance(item, Callback) or callable(item)):
            raise ValueError(f"callbacks must be Callback objects or callables f(epoch); got {item!r}")
    return tuple(callbacks)


def reports(fit):
    """Decorate an estimator's ``fit``: its ``callbacks`` receive the epochs of the fit (and of fits within it)."""

    @functools.wraps(fit)
    def wrapper(self, *args, **kwargs):
        fits = _FITS.get()
        if any(est is self for est, _ in fits):  # a subclass's fit calling its parent's
            return fit(self, *args, **kwargs)
        own = check_callbacks(getattr(self, "callbacks", None))
        token = _FITS.set(fits + ((self, own),))
        try:
            for cb in own:
                if isinstance(cb, Callback):
                    cb.on_fit_begin(self)
            return fit(self, *args, **kwargs)
        finally:
            _FITS.reset(token)
            for cb in own:
                if isinstance(cb, Callback):
                    cb.on_fit_end(self)
    return wrapper


def listening():
    """True when a fit under way has callbacks."""
    return any(own for _, own in _FITS.get())


def epoch_end(stage, layer, epoch, n_epochs, metrics, model=None, rows=None, source=None):
    """Hand the epoch to the callbacks of every fit under way; True when one of them ends the stage (agreed among
    data-parallel ranks). ``source``: the estimator training a layer, which reports 'training' to its own fit."""
    stop = False
    for estimator, own in _FITS.get():
        if not own:
            continue
        named = "training" if stage == "pretraining" and estimator is source else stage
        info = Epoch(estimator, named, layer, epoch, n_epochs, dict(metrics), model, rows)
        for cb in own:
            result = cb.on_epoch_end(info) if isinstance(cb, Callback) else cb(info)
            stop = stop or bool(result)
    group = distributed.current() if listening() else None
    if group is not None:
        stop = group.sum([float(stop)])[0] > 0
    return stop


class _StageLog(Callback):
    """A logger that writes on the main process only and knows which stages this fit has logged so far."""

    def on_fit_begin(self, estimator):
        self._started, self._clock = set(), time.perf_counter()

    def on_epoch_end(self, epoch):
        if not distributed.is_main_process():
            return False
        first = epoch.name not in getattr(self, "_started", set())
        if first:
            self._started = getattr(self, "_started", set()) | {epoch.name}
        self.write(epoch, first)
        return False


class CSVLogger(_StageLog):
    """Every monitor of every epoch to a CSV file, one row per value: stage, layer (1-based, empty outside a layer),
    epoch (0-based), metric, value, seconds (since the fit began). ``pandas.read_csv(path).pivot_table(...)`` turns
    it into a table. The first epoch a fit logs for a stage drops the file's rows of that stage from that epoch on,
    so a resumed fit continues its log and a new fit into the same file replaces it stage by stage."""

    COLUMNS = ("stage", "layer", "epoch", "metric", "value", "seconds")

    def __init__(self, path):
        self.path = path

    def write(self, epoch, first):
        path = os.fspath(self.path)
        layer = "" if epoch.layer is None else str(epoch.layer + 1)
        if first and os.path.exists(path):
            with open(path, newline="") as f:
                kept = [row for row in csv.DictReader(f)
                        if not (row["stage"] == epoch.stage and row["layer"] == layer
                                and int(row["epoch"]) >= epoch.epoch)]
            with open(path + ".tmp", "w", newline="") as f:
                writer = csv.DictWriter(f, self.COLUMNS)
                writer.writeheader()
                writer.writerows(kept)
            os.replace(path + ".tmp", path)
        new = not os.path.exists(path)
        seconds = time.perf_counter() - getattr(self, "_clock", time.perf_counter())
        with open(path, "a", newline="") as f:
            writer = csv.writer(f)
            if new:
                writer.writerow(self.COLUMNS)
            for metric, value in epoch.metrics.items():
                writer.writerow([epoch.stage, layer, epoch.epoch, metric, repr(float(value)), f"{seconds:.3f}"])


@dataclass
class TensorBoardLogger(_StageLog):
    """TensorBoard event files under ``log_dir``, one run per stage ('pretraining-layer1', 'fine-tuning', ...):
    every monitor as a scalar at step = epoch, the estimator's hyperparameters as text, and every ``images_every``
    epochs (and at a stage's last epoch) images where the input is an image: the first layer's filters
    ('filters'), and for a first-layer RBM the mean reconstructions of the stage's first ``n_images`` rows
    ('reconstructions') and the means after ``gibbs_steps`` Gibbs steps from them ('samples', drawn with the
    logger's own generator). ``image_shape`` (height, width) of the first visible units; None: square inputs only.
    ``images_every=0`` writes no images. Needs the ``tensorboard`` package (``pip install deepbelief[tensorboard]``).

    A resumed fit continues each stage's run: its first logged epoch purges the run's events from that step on
    (TensorBoard's ``purge_step``), so no step appears twice.
    """

    log_dir: object
    images_every: int = 5
    image_shape: tuple = None
    n_images: int = 16
    gibbs_steps: int = 100
    _writers: dict = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self):
        try:
            from torch.utils.tensorboard import SummaryWriter  # noqa: F401
        except ImportError as exc:
            raise ImportError("TensorBoardLogger needs the tensorboard package: pip install tensorboard") from exc

    def on_fit_end(self, estimator):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    def __deepcopy__(self, memo):  # scikit-learn's clone copies parameters; open files stay with the original
        return TensorBoardLogger(self.log_dir, self.images_every, self.image_shape, self.n_images, self.gibbs_steps)

    def write(self, epoch, first):
        from torch.utils.tensorboard import SummaryWriter

        if first or epoch.name not in self._writers:
            if epoch.name in self._writers:
                self._writers.pop(epoch.name).close()
            writer = SummaryWriter(os.path.join(os.fspath(self.log_dir), epoch.name), purge_step=epoch.epoch)
            params = epoch.estimator.get_params(deep=False)
            writer.add_text("hyperparameters", "\n".join(f"    {k} = {v!r}" for k, v in sorted(params.items())),
                            epoch.epoch)
            self._writers[epoch.name] = writer
        writer = self._writers[epoch.name]
        for metric, value in epoch.metrics.items():
            writer.add_scalar(metric, float(value), epoch.epoch)
        last = epoch.epoch + 1 >= epoch.n_epochs
        if self.images_every and ((epoch.epoch + 1) % self.images_every == 0 or last) and epoch.layer in (None, 0):
            for tag, images in self.images(epoch).items():
                writer.add_images(tag, images, epoch.epoch)
        writer.flush()

    @torch.no_grad()
    def images(self, epoch):
        """{tag: (n, 1, height, width) tensor in [0, 1]} of the epoch's model (empty where there are none)."""
        weight = next((p for p in epoch.model.parameters() if p.dim() in (2, 4)), None) if epoch.model else None
        if weight is None:
            return {}
        if weight.dim() == 4:  # convolutional filters: (n_filters, channels, height, width), the first channel
            return {"filters": _unit_range(weight[:, :1].float().cpu())}
        shape = self._shape(weight.shape[1])
        if shape is None:
            return {}
        pixels = math.prod(shape)
        out = {"filters": _unit_range(weight[:, :pixels].float().cpu()).reshape(-1, 1, *shape)}
        model, rows = epoch.model, epoch.rows
        if isinstance(rows, torch.Tensor) and rows.dim() == 2 and hasattr(model, "gibbs_vhv"):
            v = rows[: self.n_images].to(weight.dtype)
            out["reconstructions"] = model.mean_v_given_h(model.prob_h_given_v(v))
            generator = torch.Generator(device=v.device).manual_seed(0)
            mean = v
            for _ in range(self.gibbs_steps):
                mean, v = model.gibbs_vhv(v, generator)
            out["samples"] = mean
            for tag in ("reconstructions", "samples"):
                out[tag] = out[tag][:, :pixels].float().cpu().clamp(0, 1).reshape(-1, 1, *shape)
        return out

    def _shape(self, n_visible):
        if self.image_shape is not None:
            shape = tuple(self.image_shape)
            return shape if math.prod(shape) <= n_visible else None
        side = math.isqrt(n_visible)
        return (side, side) if side * side == n_visible and side > 1 else None


def _unit_range(weights):
    """Each filter scaled to [0, 1] on its own."""
    flat = weights.reshape(weights.shape[0], -1)
    low, high = flat.min(1, keepdim=True).values, flat.max(1, keepdim=True).values
    return ((flat - low) / (high - low).clamp_min(1e-12)).reshape(weights.shape)

