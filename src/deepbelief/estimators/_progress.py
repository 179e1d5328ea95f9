"""A tqdm progress bar as a training callback."""
from tqdm.auto import tqdm

from .. import distributed


class EpochBar:
    """Progress over epochs with the latest metrics in the bar; a no-op when ``verbose`` is false, and on every
    data-parallel rank but rank 0."""

    def __init__(self, total, desc, verbose):
        show = verbose and distributed.is_main_process()
        self.bar = tqdm(total=total, desc=desc, unit="epoch", leave=True) if show else None

    def __call__(self, epoch, metrics):
        if self.bar is not None:
            self.bar.set_postfix({k: f"{v:.4g}" for k, v in metrics.items()}, refresh=False)
            self.bar.update(1)

    def close(self):
        if self.bar is not None:
            self.bar.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
