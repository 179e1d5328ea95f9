"""
What each layer learns
======================

Greedy layer-wise pretraining of a two-layer DBN. A first-layer unit's weights are an image (its receptive
field); a second-layer unit is shown as the weighted sum of the first-layer filters it connects to.
"""
import os

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits

from deepbelief import DBN

if os.environ.get("DEEPBELIEF_FULL") == "1":  # MNIST (deepbelief.datasets, downloaded once), 500-500 units
    from deepbelief.datasets import load_mnist
    (X, _), _ = load_mnist()
    side, sizes, epochs = 28, (500, 500), 10
else:
    X, side, sizes, epochs = load_digits().data / 16, 8, (64, 32), 20
dbn = DBN(sizes, n_iter=epochs, random_state=0).fit(X)
first = dbn.rbms_[0].components_            # (units, pixels)
second = dbn.rbms_[1].components_ @ first   # (units, pixels): through the first layer

fig, axes = plt.subplots(2, 12, figsize=(10, 2.2))
for row, (weights, name) in enumerate(((first, "layer 1"), (second, "layer 2"))):
    for ax, w in zip(axes[row], weights):
        ax.imshow(w.reshape(side, side), cmap="RdBu_r")
        ax.axis("off")
    axes[row, 0].set_title(name, loc="left", fontsize=9)
plt.show()
