"""The convolutional RBM with probabilistic max-pooling (Lee, Grosse, Ranganath & Ng 2009).

Visible images v of shape (C, H, W); K filters W^k of shape (C, f_h, f_w) shared over all positions; K detection
maps h^k of shape (H - f_h + 1, W - f_w + 1) ('valid' correlation), cut into non-overlapping pooling blocks of
(p_h, p_w) units (smaller ones at the bottom and right edges when they do not tile); one pooling unit per block. The energy

    E(v, h) = E_v(v; c) - sum_k sum_ij h^k_ij ((W^k * v)_ij + b_k),

with ``*`` the valid cross-correlation (``torch.nn.functional.conv2d``), one hidden bias b_k per filter and one
visible bias c per channel, under the constraint that each block has at most one detection unit on (its pooling
unit is on iff one is). Given v each block is one categorical variable over its (block size + 1) states, with
I_ij = (W^k * v)_ij + b_k:

    P(h_ij = 1 | v) = exp(I_ij) / (1 + sum_{i'j' in block} exp(I_i'j')),   P(pooling unit off | v) = 1 / (same).

Given h the visible units are independent with pre-activations c + sum_k W^k (full convolution) h^k
(``conv_transpose2d``). A pool size of 1 is the plain convolutional RBM: independent Bernoulli detection units,
the same model as a dense RBM whose weight matrix is the unrolled convolution.

Inputs may be image batches (n, C, H, W) or their flattened rows (n, C * H * W); the hidden layer comes back as
maps (n, K, H', W'). Pure math: no optimizer, no I/O.
"""
import torch
import torch.nn.functional as F
from torch import nn

from .rbm import CDStatistics, RBMModule
from .units import draw, get_units


def _pair(value, name):
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or not all(isinstance(n, int) and n >= 1 for n in pair):
        raise ValueError(f"{name} must be a positive integer or a pair of them; got {value!r}")
    return pair


def conv_shapes(image_shape, filter_size, pool_size):
    """(detection map shape, pooled map shape) of images ``image_shape`` = (C, H, W) under filters ``filter_size``
    and pooling blocks ``pool_size`` (each an int or a pair); ValueError when a filter is larger than the images.
    Detection maps that the blocks do not tile end in smaller blocks (the last row and column of blocks)."""
    _, height, width = image_shape
    (fh, fw), (ph, pw) = _pair(filter_size, "filter_size"), _pair(pool_size, "pool_size")
    dh, dw = height - fh + 1, width - fw + 1
    if dh < 1 or dw < 1:
        raise ValueError(f"filter_size {(fh, fw)} is larger than the images {(height, width)}; choose filters at "
                         "most as large as the layer's input maps")
    return (dh, dw), (-(-dh // ph), -(-dw // pw))


class ConvRBMModule(nn.Module):
    """Convolutional RBM with probabilistic max-pooling, Bernoulli or Gaussian (unit variance) visible units.

    Parameters
    ----------
    image_shape : (C, H, W)
    n_filters : int, K
    filter_size, pool_size : int or (int, int)
    visible : {'bernoulli', 'gaussian'}
    dtype, device : of the parameters.

    Parameters of the module: ``weight`` (K, C, f_h, f_w), ``hidden_bias`` (K,), ``visible_bias`` (C,).
    """

    def __init__(self, image_shape, n_filters, filter_size, pool_size=1, visible="bernoulli", dtype=torch.float32,
                 device=None):
        super().__init__()
        self.image_shape = tuple(int(n) for n in image_shape)
        self.filter_size, self.pool_size = _pair(filter_size, "filter_size"), _pair(pool_size, "pool_size")
        self.detection_shape, self.pooled_shape = conv_shapes(self.image_shape, self.filter_size, self.pool_size)
        self.visible = get_units(visible) if isinstance(visible, str) else visible
        if self.visible.name not in ("bernoulli", "gaussian"):
            raise ValueError(f"a convolutional RBM takes Bernoulli or Gaussian visible units, not {self.visible.name!r}")
        kw = dict(dtype=dtype, device=device)
        self.weight = nn.Parameter(torch.zeros(n_filters, self.image_shape[0], *self.filter_size, **kw),
                                   requires_grad=False)
        self.hidden_bias = nn.Parameter(torch.zeros(n_filters, **kw), requires_grad=False)
        self.visible_bias = nn.Parameter(torch.zeros(self.image_shape[0], **kw), requires_grad=False)

    @property
    def n_filters(self):
        return self.weight.shape[0]

    @property
    def n_visible(self):
        """Visible units per image, C * H * W."""
        c, h, w = self.image_shape
        return c * h * w

    @property
    def n_outputs(self):
        """Pooling units per image, K * H_p * W_p: the width of what the layer passes up."""
        return self.n_filters * self.pooled_shape[0] * self.pooled_shape[1]

    def extra_repr(self):
        return (f"{self.image_shape} {self.visible.name} -> {self.n_filters} x {self.detection_shape} "
                f"(filters {self.filter_size}, pooling {self.pool_size})")

    def cd_parameters(self):
        """The parameters CD updates, in the order of the gradients of :meth:`cd_statistics`."""
        return self.weight, self.visible_bias, self.hidden_bias

    def image(self, v):
        """Rows (n, C * H * W) or images (n, C, H, W) -> images."""
        return v.reshape(-1, *self.image_shape)

    def visible_bias_image(self):
        """The visible bias of every unit, shape (C, H, W)."""
        return self.visible_bias[:, None, None].expand(self.image_shape)

    # conditionals -------------------------------------------------------------------------------
    def pre_h(self, v):
        """Detection pre-activations I = W * v + b, shape (n, K, H', W')."""
        return F.conv2d(self.image(v), self.weight, self.hidden_bias).to(self.weight.dtype)

    def pre_v(self, h):
        """Visible pre-activations c + sum_k W^k (full convolution) h^k, shape (n, C, H, W)."""
        return (F.conv_transpose2d(h, self.weight) + self.visible_bias[:, None, None]).to(self.weight.dtype)

    def _blocks(self, maps, fill=0.0):
        """(n, K, H', W') -> (n, K, H_p, W_p, p_h * p_w): the pooling blocks' units on the last axis; the places
        beyond the maps in the last, smaller blocks hold ``fill`` (-inf for pre-activations: units that never fire)."""
        n, k = maps.shape[:2]
        (hp, wp), (ph, pw) = self.pooled_shape, self.pool_size
        dh, dw = self.detection_shape
        if (hp * ph, wp * pw) != (dh, dw):
            maps = F.pad(maps, (0, wp * pw - dw, 0, hp * ph - dh), value=fill)
        return maps.reshape(n, k, hp, ph, wp, pw).permute(0, 1, 2, 4, 3, 5).reshape(n, k, hp, wp, ph * pw)

    def _unblock(self, blocks):
        """The inverse of :meth:`_blocks`."""
        n, k = blocks.shape[:2]
        (hp, wp), (ph, pw) = self.pooled_shape, self.pool_size
        dh, dw = self.detection_shape
        maps = blocks.reshape(n, k, hp, wp, ph, pw).permute(0, 1, 2, 4, 3, 5).reshape(n, k, hp * ph, wp * pw)
        return maps[:, :, :dh, :dw]

    def block_states(self, pre):
        """P of each block's states given v: shape (n, K, H_p, W_p, block size + 1), the last state 'all off'."""
        blocks = self._blocks(pre, -torch.inf)
        return torch.softmax(torch.cat([blocks, torch.zeros_like(blocks[..., :1])], -1), -1)

    def prob_h_given_v(self, v):
        """(P(h_ij = 1 | v) of shape (n, K, H', W'), P(pooling unit on | v) of shape (n, K, H_p, W_p))."""
        probs = self.block_states(self.pre_h(v))[..., :-1]
        return self._unblock(probs), probs.sum(-1)

    def pooled(self, v):
        """P(pooling unit on | v) as rows (n, K * H_p * W_p): what a convolutional DBN passes up."""
        return self.prob_h_given_v(v)[1].reshape(v.shape[0] if v.ndim == 4 else -1, self.n_outputs)

    def sample_h_given_v(self, v, generator):
        """(P(h = 1 | v), a sample h ~ P(h | v)), both (n, K, H', W'): one categorical draw per block."""
        states = self.block_states(self.pre_h(v))
        return self._unblock(states[..., :-1]), self._unblock(self._categorical(states, generator)[..., :-1])

    def _categorical(self, probs, generator):
        """One-hot draws from the categorical distributions on the last axis of ``probs``."""
        u = draw(torch.rand, probs.shape[:-1] + (1,), generator, probs)
        # the first state whose cumulative probability exceeds u; the clamp guards rounding of the last sum
        index = (probs.cumsum(-1) < u).sum(-1).clamp_max(probs.shape[-1] - 1)
        return F.one_hot(index, probs.shape[-1]).to(probs.dtype)

    def sample_h_given_pooled(self, v, pooled, generator):
        """h ~ P(h | v, pooling states): ``pooled`` (n, K, H_p, W_p) in {0, 1}; a block whose pooling unit is on has
        exactly one detection unit on, unit (i, j) with probability proportional to exp(I_ij); an off block none.
        (How a convolutional DBN's lower layer is sampled given the pooling states the layer above drew.)"""
        blocks = torch.softmax(self._blocks(self.pre_h(v), -torch.inf), -1)
        return self._unblock(self._categorical(blocks, generator) * pooled.reshape(blocks.shape[:-1])[..., None])

    def mean_h_given_pooled(self, v, pooled):
        """E[h | v, pooling unit means]: each block's on-probability ``pooled`` (n, K, H_p, W_p) shared among its
        units in proportion to exp(I_ij) (I from ``v``), shape (n, K, H', W') (top-down reconstruction)."""
        blocks = torch.softmax(self._blocks(self.pre_h(v), -torch.inf), -1)
        return self._unblock(blocks * pooled.reshape(blocks.shape[:-1])[..., None])

    # E[v | h], (E[v | h], a sample v ~ P(v | h)) and one Gibbs step v -> h -> v', as images: the dense RBM's rules,
    # which only read pre_v, the unit objects and sample_h_given_v
    mean_v_given_h = RBMModule.mean_v_given_h
    sample_v_given_h = RBMModule.sample_v_given_h
    gibbs_vhv = RBMModule.gibbs_vhv
    negative_phase = RBMModule.negative_phase

    # energies -----------------------------------------------------------------------------------
    def _visible_energy(self, v):
        v = self.image(v)
        return self.visible.energy(v.reshape(v.shape[0], -1), self.visible_bias_image().reshape(-1))

    def energy(self, v, h):
        """E(v, h) for detection states h (n, K, H', W') with at most one unit on per block, one value per row."""
        return self._visible_energy(v) - (h * self.pre_h(v)).sum((1, 2, 3))

    def free_energy(self, v):
        """F(v) = E_v(v; c) - sum over blocks of log(1 + sum_{ij in block} exp(I_ij)), one value per row."""
        blocks = self._blocks(self.pre_h(v), -torch.inf)
        log_z = torch.logsumexp(torch.cat([blocks, torch.zeros_like(blocks[..., :1])], -1), -1)
        return self._visible_energy(v) - log_z.sum((1, 2, 3))

    # learning statistics ------------------------------------------------------------------------
    def correlation(self, v, h):
        """sum over rows and positions of h^k_ij v_(c, i + a, j + b), shape (K, C, f_h, f_w): the statistic whose
        data-minus-model difference is the weights' log-likelihood gradient."""
        # Rows become channels: a valid correlation of the images with the hidden maps as filters.
        return F.conv2d(v.transpose(0, 1), h.transpose(0, 1)).transpose(0, 1).to(self.weight.dtype)

    def cd_statistics(self, v0, k, generator, chain=None, out=None):
        """Statistics of CD-k (``chain=None``) or persistent CD-k (``chain``: fantasy images or their rows), as
        :meth:`RBMModule.cd_statistics`, with the weights' and hidden biases' gradients averaged over the H' W'
        detection positions and the visible biases' over the H W pixels (Lee et al. 2009), so one learning rate
        suits every image size. ``chain`` comes back in the layout of ``v0``; ``hidden_mean`` is each filter's
        mean detection probability (K,), which the sparsity penalty drives to its target. ``out`` is unused."""
        shape = v0.shape
        v0 = self.image(v0)
        ph0, vk, squared_error = self.negative_phase(v0, k, generator, chain)  # chain rows or images: pre_h reads both
        phk = self.prob_h_given_v(vk)[0]
        n_data, n_chains = v0.shape[0], vk.shape[0]
        positions = ph0.shape[2] * ph0.shape[3]
        pixels = v0.shape[2] * v0.shape[3]
        grad_weight = (self.correlation(v0, ph0) / n_data - self.correlation(vk, phk) / n_chains) / positions
        hidden_mean = ph0.mean((0, 2, 3))
        grad_hidden = hidden_mean - phk.mean((0, 2, 3))
        grad_visible = (v0.sum((0, 2, 3)) / n_data - vk.sum((0, 2, 3)) / n_chains) / pixels
        return CDStatistics(grad_weight, grad_visible, grad_hidden, vk.reshape(-1, *shape[1:]), hidden_mean,
                            squared_error)
