"""
Generating digits of a chosen class
===================================

A DBN whose top RBM models the penultimate layer jointly with label units is a generative model of images and
labels (Hinton, Osindero & Teh 2006). Clamping a label and running Gibbs sampling in the top RBM, then one pass
down, draws digits of that class.
"""
import os

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits

from deepbelief import DBN

if os.environ.get("DEEPBELIEF_FULL") == "1":  # MNIST (deepbelief.datasets, downloaded once), the paper's sizes
    from deepbelief.datasets import load_mnist
    (X, y), _ = load_mnist()
    side, sizes = 28, (500, 500, 2000)
else:
    X, y = load_digits(return_X_y=True)
    X, side, sizes = X / 16, 8, (128, 128)
dbn = DBN(sizes, n_labels=10, n_iter=30, random_state=0).fit(X, y)

fig, axes = plt.subplots(4, 10, figsize=(8, 3.4))
for digit in range(10):
    samples = dbn.generate(4, label=digit, random_state=digit)
    for row in range(4):
        axes[row, digit].imshow(samples[row].reshape(side, side), cmap="gray_r")
        axes[row, digit].axis("off")
    axes[0, digit].set_title(str(digit))
fig.suptitle("label-conditioned samples")
plt.show()
