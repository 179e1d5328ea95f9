import numpy as np
import pytest
from sklearn.datasets import load_digits


@pytest.fixture(scope="session")
def digits():
    """scikit-learn's digits scaled to [0, 1], float32, and the labels."""
    data = load_digits()
    return (data.data / 16.0).astype(np.float32), data.target
