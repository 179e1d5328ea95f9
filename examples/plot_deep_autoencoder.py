"""
The deep autoencoder
====================

Hinton & Salakhutdinov (2006): a stack of RBMs pretrained greedily, unrolled into an encoder and its mirrored
decoder, and fine-tuned end to end to reconstruct the input through a narrow code layer. Against PCA with as
many components as the code has units: with 2 or 4 code units the non-linear code keeps more of each image; by
16 components of these 64-pixel images PCA, the best linear map and free of training, catches up and passes it.
"""
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

from deepbelief import DeepAutoencoder

X, _ = load_digits(return_X_y=True)
X_train, X_test = train_test_split(X / 16, test_size=0.2, random_state=0)

sizes, autoencoder_errors, pca_errors = [2, 4, 8, 16], [], []
for code in sizes:
    autoencoder = DeepAutoencoder((128, 64, code), n_iter=20, max_iter=100, random_state=0).fit(X_train)
    pca = PCA(code).fit(X_train)
    autoencoder_errors.append(np.mean((autoencoder.reconstruct(X_test) - X_test) ** 2))
    pca_errors.append(np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2))
    print(f"{code:2d}-unit code: test reconstruction error {autoencoder_errors[-1]:.4f} autoencoder, "
          f"{pca_errors[-1]:.4f} PCA")

shown = X_test[:10]
rows = [("test digits", shown), (f"autoencoder, {code} units", autoencoder.reconstruct(shown)),
        (f"PCA, {code} components", pca.inverse_transform(pca.transform(shown)))]
fig = plt.figure(figsize=(9, 4))
grid = fig.add_gridspec(3, 14)
for r, (name, images) in enumerate(rows):
    for c in range(10):
        ax = fig.add_subplot(grid[r, c])
        ax.imshow(np.clip(images[c], 0, 1).reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        ax.axis("off")
        if c == 0:
            ax.set_title(name, loc="left", fontsize=8)
curve = fig.add_subplot(grid[:, 11:])
curve.plot(sizes, autoencoder_errors, "o-", label="deep autoencoder")
curve.plot(sizes, pca_errors, "s--", label="PCA")
curve.set_xscale("log", base=2)
curve.set_xlabel("code size")
curve.set_ylabel("test MSE")
curve.legend(fontsize=7)
plt.show()
