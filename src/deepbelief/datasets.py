"""The public data loaders: MNIST and Fashion-MNIST with verified downloads (:mod:`deepbelief.data.datasets`) and
sequence data for the conditional models (:mod:`deepbelief.data.sequences`)."""
from .data.datasets import (DATASETS, FILES, DatasetError, fetch, get_data_home, load_fashion_mnist,  # noqa: F401
                            load_mnist, parse_idx)
from .data.sequences import WALKING_CHANNELS, load_motion, make_bouncing_balls, make_walking_motion  # noqa: F401
