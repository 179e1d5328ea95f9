"""The one epoch loop of every training (CD, the rectified rule, fine-tuning, up-down): callbacks, the finite
check and the divergence rule, and the resume position; and the schedules and precisions they share."""
import contextlib
import math

import torch

from ..errors import TrainingDivergedError

EXPLOSION = 1e3  # growth of the monitor or loss, relative to the first epoch, that counts as divergence
PRECISIONS = ("float32", "tf32", "bfloat16")
SCHEDULES = ("constant", "linear", "cosine")


@contextlib.contextmanager
def precision_scope(precision, device_type):
    """Matrix products in ``precision`` within the block.

    'float32': exact float32. 'tf32': CUDA tensor cores with 10-bit mantissas and float32 accumulation (Ampere and
    later; elsewhere the same as 'float32'). 'bfloat16': the products' inputs rounded to bfloat16 (8-bit
    mantissas), accumulated in float32, by autocast; the parameters, sampling, sums and updates stay float32.
    """
    if precision == "tf32" and device_type == "cuda":
        previous = torch.backends.cuda.matmul.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = True
        try:
            yield
        finally:
            torch.backends.cuda.matmul.allow_tf32 = previous
    elif precision == "bfloat16":
        with torch.autocast(device_type, dtype=torch.bfloat16):
            yield
    else:
        yield


def scheduled_rate(rate, schedule, epoch, n_epochs):
    """The learning rate of ``epoch`` (0-based) of ``n_epochs``: 'constant' keeps ``rate``; 'linear' decays it to 0 in
    equal steps (Tieleman 2008), rate (1 - epoch / n_epochs); 'cosine' as rate (1 + cos(pi epoch / n_epochs)) / 2.
    Both start at ``rate`` and reach 0 only after the last epoch; an epoch past the end gets 0."""
    if schedule == "constant" or n_epochs <= 0:
        return rate
    progress = min(epoch / n_epochs, 1.0)
    if schedule == "linear":
        return rate * (1.0 - progress)
    if schedule == "cosine":
        return 0.5 * rate * (1.0 + math.cos(math.pi * progress))
    raise ValueError(f"unknown learning-rate schedule {schedule!r}; expected one of {SCHEDULES}")


def divergence(monitor, first, tensors):
    """Why an epoch diverged, or None: its ``monitor`` or one of ``tensors`` is not finite, or the monitor has grown
    to over EXPLOSION times the first epoch's ``first`` (a run-away: Gaussian units grow before they overflow)."""
    if not math.isfinite(monitor) or not all(torch.isfinite(t).all() for t in tensors):
        return "became non-finite"
    if monitor > EXPLOSION * max(first, 1e-6):
        return f"exploded to {monitor:.3g} from {first:.3g}"
    return None


class Restartable:
    """``snapshot()`` / ``restore(saved)`` of a trainer with ``params`` and ``velocity`` (lists of tensors): the
    parameters at the start of an epoch, put back with the velocities zeroed and the chains restarted
    (``forget_chains()``) when the epoch diverges (see :func:`run_epochs`)."""

    def snapshot(self):
        return [p.detach().clone() for p in self.params]

    def restore(self, snapshot):
        for param, saved in zip(self.params, snapshot):
            param.copy_(saved)
        for velocity in self.velocity:
            velocity.zero_()
        self.forget_chains()


def run_epochs(epochs, train_epoch, tensors, snapshot, restore, failure, callback=None, first=None):
    """Train epoch after epoch; the loop every training shares.

    Parameters
    ----------
    epochs : iterable of int, the epochs (0-based) still to run: ``range(resume position, end)``
    train_epoch : callable(epoch) -> (monitor, metrics), one epoch of training: a float that must stay finite and
        within EXPLOSION times the first epoch's, and the dict handed to ``callback``
    tensors : callable() -> iterable of tensors that must stay finite (the parameters)
    snapshot, restore : callable() -> state and callable(state): the state at the start of an epoch, and putting it
        back when that epoch diverges
    failure : callable(epoch, why) -> str, the TrainingDivergedError's message
    callback : callable(epoch, metrics) -> bool or None, after every good epoch; a true result stops the loop
    first : float or None, the first epoch's monitor when the run resumes (None: this call's first epoch)

    Raises
    ------
    TrainingDivergedError after ``restore``: the model keeps the state of the start of the failing epoch.
    """
    for epoch in epochs:
        saved = snapshot()
        monitor, metrics = train_epoch(epoch)
        first = monitor if first is None else first
        why = divergence(monitor, first, tensors())
        if why is not None:
            restore(saved)
            raise TrainingDivergedError(failure(epoch, why))
        if callback is not None and callback(epoch, metrics):
            break
