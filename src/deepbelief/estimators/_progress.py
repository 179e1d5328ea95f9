"""A tqdm progress bar as a training callback."""
from tqdm.auto import tqdm


class EpochBar:
    """Progress over epochs with the latest metrics in the bar; a no-op when ``verbose`` is false."""

    def __init__(self, total, desc, verbose):
        self.bar = tqdm(total=total, desc=desc, unit="epoch", leave=True) if verbose else None

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
