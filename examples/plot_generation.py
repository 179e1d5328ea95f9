"""
Generating digits of a chosen class
===================================

A DBN whose top RBM models the penultimate layer jointly with label units is a generative model of images and
labels (Hinton, Osindero & Teh 2006). Clamping a label and running Gibbs sampling in the top RBM, then one pass
down, draws digits of that class.
"""
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits

from deepbelief import DBN

X, y = load_digits(return_X_y=True)
dbn = DBN((128, 128), n_labels=10, n_iter=30, random_state=0).fit(X / 16, y)

fig, axes = plt.subplots(4, 10, figsize=(8, 3.4))
for digit in range(10):
    samples = dbn.generate(4, label=digit, random_state=digit)
    for row in range(4):
        axes[row, digit].imshow(samples[row].reshape(8, 8), cmap="gray_r")
        axes[row, digit].axis("off")
    axes[0, digit].set_title(str(digit))
fig.suptitle("label-conditioned samples")
plt.show()
