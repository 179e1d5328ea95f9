"""
Video: bouncing balls with a conditional RBM
============================================

A conditional RBM (Taylor, Hinton & Roweis 2007) models each frame given the few before it: the past frames
shift the visible and hidden biases. Trained on synthetic video of balls bouncing in a box (Sutskever & Hinton
2007), it continues a sequence from three seed frames on its own. The animation is the generated video; the
strip below it compares true and generated frames.
"""
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.animation import FuncAnimation

from deepbelief import ConditionalRBM
from deepbelief.datasets import make_bouncing_balls

size = 15
videos = make_bouncing_balls(30, 60, size=size, n_balls=2, radius=1.8, random_state=0)   # (30, 60, 225) in [0, 1]
crbm = ConditionalRBM(200, order=3, visible="bernoulli", learning_rate=0.05, n_iter=40,
                      random_state=0).fit(list(videos[:-1]))

test = videos[-1]
generated = crbm.generate(test[:3], n_steps=40, random_state=0)
predicted = crbm.predict(test)
print(f"one-step prediction error per pixel {np.mean((predicted - test[3:]) ** 2):.4f} "
      f"(copying the last frame: {np.mean((test[2:-1] - test[3:]) ** 2):.4f})")

fig, axes = plt.subplots(2, 10, figsize=(9, 2.2))
for c in range(10):
    axes[0, c].imshow(test[3 + 2 * c].reshape(size, size), cmap="gray", vmin=0, vmax=1)
    axes[1, c].imshow(generated[2 * c].reshape(size, size), cmap="gray", vmin=0, vmax=1)
    axes[0, c].axis("off")
    axes[1, c].axis("off")
axes[0, 0].set_title("true video", loc="left", fontsize=8)
axes[1, 0].set_title("generated from its first 3 frames", loc="left", fontsize=8)
plt.show()

# %%
# The generated video as an animation.
fig, ax = plt.subplots(figsize=(2.5, 2.5))
image = ax.imshow(generated[0].reshape(size, size), cmap="gray", vmin=0, vmax=1)
ax.axis("off")
animation = FuncAnimation(fig, lambda t: [image.set_data(generated[t].reshape(size, size))],
                          frames=len(generated), interval=100)
plt.show()
