"""
What each layer learns
======================

Greedy layer-wise pretraining of a two-layer DBN. A first-layer unit's weights are an image (its receptive
field); a second-layer unit is shown as the weighted sum of the first-layer filters it connects to.
"""
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits

from deepbelief import DBN

X = load_digits().data / 16
dbn = DBN((64, 32), n_iter=20, random_state=0).fit(X)
first = dbn.rbms_[0].components_            # (64 units, 64 pixels)
second = dbn.rbms_[1].components_ @ first   # (32 units, 64 pixels): through the first layer

fig, axes = plt.subplots(2, 12, figsize=(10, 2.2))
for row, (weights, name) in enumerate(((first, "layer 1"), (second, "layer 2"))):
    for ax, w in zip(axes[row], weights):
        ax.imshow(w.reshape(8, 8), cmap="RdBu_r")
        ax.axis("off")
    axes[row, 0].set_title(name, loc="left", fontsize=9)
plt.show()
