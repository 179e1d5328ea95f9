"""
Dimensionality reduction and clustering: DBN codes against PCA
==============================================================

A deep autoencoder pretrained as a stack of RBMs and fine-tuned to reconstruct its input (Hinton &
Salakhutdinov 2006) maps each digit to a 2-D code; PCA gives the best linear 2-D projection. The codes
separate the classes better, which k-means measures (adjusted Rand index against the true digits).
"""
import matplotlib.pyplot as plt
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score

from deepbelief import DeepAutoencoder

X, y = load_digits(return_X_y=True)
X = X / 16
codes = {"PCA": PCA(2).fit_transform(X),
         "deep autoencoder 64-128-64-2": DeepAutoencoder((128, 64, 2), n_iter=20, max_iter=60,
                                                          random_state=0).fit_transform(X)}

fig, axes = plt.subplots(1, 2, figsize=(9, 4))
for ax, (name, Z) in zip(axes, codes.items()):
    clusters = KMeans(10, n_init=10, random_state=0).fit_predict(Z)
    ari = adjusted_rand_score(y, clusters)
    print(f"{name}: adjusted Rand index of k-means on the 2-D codes {ari:.3f}")
    points = ax.scatter(Z[:, 0], Z[:, 1], c=y, cmap="tab10", s=4)
    ax.set_title(f"{name}\nk-means ARI {ari:.2f}", fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
fig.colorbar(points, ax=axes, ticks=range(10), label="digit")
plt.show()
