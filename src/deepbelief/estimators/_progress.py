"""The end of a training epoch as the estimators see it: a tqdm progress bar and the user's callbacks."""
from tqdm.auto import tqdm

from .. import distributed
from ..callbacks import epoch_end


class EpochBar:
    """Progress over epochs with the latest metrics in the bar (a no-op when ``verbose`` is false, and on every
    data-parallel rank but rank 0), and each epoch handed to the callbacks of the fits under way
    (:func:`deepbelief.callbacks.epoch_end`): calling it returns True when one of them ends the stage.

    ``stage``, ``layer``, ``n_epochs`` (the stage's planned epochs; default ``total``), ``model`` (the module
    trained), ``rows`` (its training rows, if in memory) and ``source`` (the estimator training a layer) describe the
    stage to the callbacks."""

    def __init__(self, total, desc, verbose, stage, layer=None, model=None, rows=None, n_epochs=None, source=None):
        show = verbose and distributed.is_main_process()
        self.bar = tqdm(total=total, desc=desc, unit="epoch", leave=True) if show else None
        self.stage, self.layer, self.model, self.rows, self.source = stage, layer, model, rows, source
        self.n_epochs = total if n_epochs is None else n_epochs

    def __call__(self, epoch, metrics):
        if self.bar is not None:
            self.bar.set_postfix({k: f"{v:.4g}" for k, v in metrics.items()}, refresh=False)
            self.bar.update(1)
        return epoch_end(self.stage, self.layer, epoch, self.n_epochs, metrics, self.model, self.rows, self.source)

    def close(self):
        if self.bar is not None:
            self.bar.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
