"""
Denoising and inpainting
========================

A DBN is a model of the whole image, so it can restore one. ``denoise(X)`` without a mask runs one mean-field
pass up the stack and back down (cleaning flipped pixels); with a ``mask`` marking the unknown pixels it keeps
the known ones clamped and fills in the rest by Gibbs sampling through the stack (here the lower half of each
digit is missing).
"""
import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from deepbelief import DBN

if os.environ.get("DEEPBELIEF_FULL") == "1":  # MNIST (deepbelief.datasets, downloaded once)
    from deepbelief.datasets import load_mnist
    (X_train, _), (X_test, _) = load_mnist()
    side, sizes = 28, (500, 500)
else:
    X, y = load_digits(return_X_y=True)
    X_train, X_test = train_test_split(X / 16, test_size=0.2, random_state=0)
    side, sizes = 8, (256,)  # one layer: on 8 x 8 digits a second smooths more
dbn = DBN(sizes, n_iter=30, random_state=0).fit(X_train)

rng = np.random.default_rng(0)
clean = X_test[:8]
flip = rng.random(clean.shape) < 0.1
noisy = np.where(flip, 1 - clean, clean)
denoised = dbn.denoise(noisy)

mask = np.zeros(clean.shape, bool)
mask[:, clean.shape[1] // 2:] = True       # the lower half of each image is unknown
holed = np.where(mask, 0.5, clean)
inpainted = dbn.denoise(clean, mask=mask, random_state=0)

print(f"mean squared error to the clean digits: noisy {np.mean((noisy - clean) ** 2):.4f}, "
      f"denoised {np.mean((denoised - clean) ** 2):.4f}")
print(f"on the missing half: grey fill {np.mean((holed - clean)[mask] ** 2):.4f}, "
      f"inpainted {np.mean((inpainted - clean)[mask] ** 2):.4f}")

rows = [("clean", clean), ("10% flipped", noisy), ("denoised", denoised), ("lower half lost", holed),
        ("inpainted", inpainted)]
fig, axes = plt.subplots(len(rows), 8, figsize=(7, 4.8))
for r, (name, images) in enumerate(rows):
    for c in range(8):
        axes[r, c].imshow(images[c].reshape(side, side), cmap="gray_r", vmin=0, vmax=1)
        axes[r, c].axis("off")
    axes[r, 0].set_title(name, loc="left", fontsize=9)
fig.tight_layout()
plt.show()
