"""
A deep Boltzmann machine
========================

A DBM (Salakhutdinov & Hinton 2009) is undirected all the way down: every hidden layer gets input from the
layers above and below it. It is pretrained greedily with the paper's modified RBMs, then trained jointly with
mean-field for the data and persistent Gibbs chains for the model. Shown: samples from block Gibbs sampling of all
layers, and each digit's mean-field posterior over the top layer, projected to two dimensions. The likelihood
bound uses an AIS estimate of log Z. Last, a DBM with label units above its top layer: a classifier, and a
generator of each digit with its label clamped.
"""
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA

from deepbelief import DBM, evaluate

X, y = load_digits(return_X_y=True)
X = X / 16
dbm = DBM(hidden_layer_sizes=(100, 50), n_iter=20, max_iter=30, random_state=0).fit(X)

estimate = evaluate.ais(dbm, n_runs=100, betas=np.linspace(0, 1, 1000), data=X, random_state=0)
bound = evaluate.dbm_lower_bound(dbm, X, estimate.log_z)
print(f"AIS log Z {estimate.log_z:.2f} (+-3 s.e. {estimate.lower:.2f} to {estimate.upper:.2f}); "
      f"mean-field lower bound on the mean log p(v) {bound.mean():.2f} nats")

samples = dbm.generate(30, burn_in=500, random_state=0, return_probabilities=True)
top = PCA(2).fit_transform(dbm.transform(X))

fig = plt.figure(figsize=(10, 3.6))
grid = fig.add_gridspec(3, 16)
for i in range(30):
    ax = fig.add_subplot(grid[i // 10, i % 10])
    ax.imshow(samples[i].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
    ax.axis("off")
scatter = fig.add_subplot(grid[:, 11:])
points = scatter.scatter(top[:, 0], top[:, 1], c=y, cmap="tab10", s=3)
scatter.set_title("top-layer posteriors (PCA)", fontsize=9)
scatter.set_xticks([])
scatter.set_yticks([])
fig.colorbar(points, ax=scatter, ticks=range(10))
plt.show()

# %%
# Label units
# -----------
# ``n_labels=10`` puts ten softmax label units above the top layer. ``predict`` compares the mean-field bound on
# log p*(x, y) label by label; ``generate(label=...)`` clamps the label in the Gibbs chains.
labelled = DBM(hidden_layer_sizes=(64, 32), n_labels=10, n_iter=20, max_iter=20, random_state=0)
labelled.fit(X[:1200], y[:1200])
print(f"test accuracy of the label DBM on the last 597 digits: {labelled.score(X[1200:], y[1200:]):.3f}")
digits = labelled.generate(30, label=np.arange(30) % 10, burn_in=500, random_state=0, return_probabilities=True)

fig, axes = plt.subplots(3, 10, figsize=(8, 2.6))
for i, ax in enumerate(axes.flat):
    ax.imshow(digits[i].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
    ax.set_title(str(i % 10), fontsize=8)
    ax.axis("off")
plt.show()
