"""
Motion: generating a walk with a conditional DBN
================================================

Joint angles of a walking figure (synthetic: leg and arm oscillators with a drifting cadence and noise,
``make_walking_motion``) modelled frame by frame by a two-layer conditional DBN with real-valued (Gaussian)
visible units (Taylor, Hinton & Roweis 2007). From the first seven frames of a held-out walk it generates 150
frames on its own; the gait continues instead of fading to the mean pose.
"""
import matplotlib.pyplot as plt

from deepbelief import ConditionalDBN
from deepbelief.datasets import WALKING_CHANNELS, make_walking_motion

walks = make_walking_motion(20, 150, random_state=0)        # (20, 150, 12) joint angles
model = ConditionalDBN((100, 100), order=(5, 2), hidden="relu", learning_rate=3e-3, n_iter=40,
                       random_state=0).fit(list(walks[:-1]))

held_out = walks[-1]
seed = held_out[:model.context_length]
generated = model.generate(seed, n_steps=150, random_state=0)
print(f"seed frames {len(seed)}, generated {generated.shape[0]} frames of {generated.shape[1]} channels; "
      f"range of the generated angles {generated.min():.2f} to {generated.max():.2f} "
      f"(data {walks.min():.2f} to {walks.max():.2f})")

fig, axes = plt.subplots(4, 1, figsize=(8, 5.5), sharex=True)
for ax, channel in zip(axes, (0, 2, 6, 8)):
    ax.plot(held_out[:, channel], color="0.6", label="held-out walk")
    ax.plot(range(len(seed), len(seed) + len(generated)), generated[:, channel], color="C0", label="generated")
    ax.axvline(len(seed), color="k", ls=":")
    ax.set_ylabel(WALKING_CHANNELS[channel], fontsize=8)
axes[0].legend(fontsize=8, loc="upper right")
axes[-1].set_xlabel("frame")
fig.tight_layout()
plt.show()
