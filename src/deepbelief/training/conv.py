"""Contrastive divergence for a convolutional RBM: :class:`CDTrainer` with the weight sharing's regularisers."""
from .cd import CDTrainer


class ConvCDTrainer(CDTrainer):
    """CD-k / PCD-k training of a :class:`~deepbelief.core.conv.ConvRBMModule` (same state, checkpoints, data
    parallelism and schedules as :class:`CDTrainer`, whose ``step`` it runs).

    The sparsity penalty of Lee et al. (2009) moves the hidden biases only, driving each filter's mean detection
    probability to ``sparsity_target``; weight decay acts on the filters. Centring is not defined for shared
    weights (``config.centering`` must be False).
    """

    def __init__(self, rbm, config, generator, group=None):
        if config.centering:
            raise ValueError("centring is not available for convolutional RBMs")
        super().__init__(rbm, config, generator, group)

    def _start_chains(self, n_chains):
        # From the visible biases alone, as the dense RBM's, as rows of the images.
        rbm = self.rbm
        pre = rbm.visible_bias_image().reshape(1, -1).expand(n_chains, -1)
        return rbm.visible.sample(pre, rbm.visible.mean(pre), self.draws)

    def adjust(self, grads, stats, v0):
        c = self.config
        if self.group is not None:
            self.group.mean_(grads + ([stats.hidden_mean] if c.sparsity_cost else []))
        if c.weight_decay:
            grads[0].add_(self.params[0], alpha=-c.weight_decay)
        if c.sparsity_cost:
            grads[2].add_(self.sparsity_push(stats.hidden_mean))
