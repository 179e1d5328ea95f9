"""Feed-forward networks unrolled from a DBN's recognition weights (or a DBM's), for fine-tuning with
backpropagation."""
import copy

import torch
from torch import nn

from .units import RankDraws, draw

ACTIVATIONS = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU}


class Dropout(nn.Module):
    """Inverted dropout whose masks come from an explicit ``torch.Generator`` (identity in eval mode).

    ``torch.nn.Dropout`` draws from the global RNG; this layer keeps training reproducible without touching it.
    Masks are drawn in bulk, ``rows`` at a time, and handed out batch by batch: three kernels per refill instead
    of three per step, which matters for the small batches of fine-tuning.
    """

    def __init__(self, p, generator, rows=4096):
        super().__init__()
        self.p = p
        self.generator = generator
        self.rows = rows
        self._masks = None
        self._next = 0
        self.rank, self.world = 0, 1  # data-parallel training: this rank's share of every draw (see RankDraws)

    def _refill(self, n, like):
        rows = max(self.rows, n)
        generator = self.generator if self.world == 1 else RankDraws(self.generator, self.rank, self.world)
        masks = draw(torch.rand, (rows, *like.shape[1:]), generator, like)
        if self.world > 1:
            masks = masks.clone()  # free the other ranks' rows
        self._masks = masks.ge_(self.p).mul_(1.0 / (1.0 - self.p))  # uniform -> {0, 1 / (1 - p)}, in place
        self._next = 0

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        masks = self._masks
        if (masks is None or masks.shape[1:] != x.shape[1:] or masks.dtype != x.dtype
                or masks.device != x.device or self._next + x.shape[0] > masks.shape[0]):
            self._refill(x.shape[0], x)
        mask = self._masks[self._next:self._next + x.shape[0]]
        self._next += x.shape[0]
        return x * mask

    def buffer_state(self):
        """(mask buffer or None, position of the next mask): what an exact resume needs besides the generator.
        (Not ``state_dict``, which nn.Module reserves for parameters and buffers.)"""
        return self._masks, self._next

    def load_buffer_state(self, masks, position):
        self._masks, self._next = masks, int(position)

    def __getstate__(self):  # the mask buffer is scratch space, not state worth pickling
        return {**self.__dict__, "_masks": None, "_next": 0}

    def extra_repr(self):
        return f"p={self.p}"


def linear_from(weight, bias):
    """An ``nn.Linear`` holding copies of ``weight`` (out, in) and ``bias`` (out,), with gradients on."""
    layer = nn.Linear(weight.shape[1], weight.shape[0], device=weight.device, dtype=weight.dtype)
    with torch.no_grad():
        layer.weight.copy_(weight)
        layer.bias.copy_(bias)
    return layer


def feedforward(linears, activation="sigmoid", dropout=0.0, input_dropout=0.0, head=None, generator=None,
                front=None):
    """``nn.Sequential``: [``front``] [input dropout] then, per hidden layer, Linear -> activation [-> dropout], then ``head``.

    Parameters
    ----------
    linears : list of nn.Linear, the hidden layers bottom to top
    activation : {'sigmoid', 'relu'}
    dropout, input_dropout : float in [0, 1)
    head : nn.Module or None, the output layer (no activation: losses take logits)
    generator : torch.Generator for the dropout masks, or None for ``torch.nn.Dropout`` (plain PyTorch export)
    front : nn.Module or None, a first module (a DBM's :class:`MeanFieldInput`)
    """
    def drop(p):
        return Dropout(p, generator) if generator is not None else nn.Dropout(p)

    layers = [] if front is None else [front]
    layers += [drop(input_dropout)] if input_dropout > 0 else []
    for linear in linears:
        layers += [linear, ACTIVATIONS[activation]()]
        if dropout > 0:
            layers.append(drop(dropout))
    if head is not None:
        layers.append(head)
    return nn.Sequential(*layers)


def recognition_linears(dbn):
    """The bottom-up layers of a DBNModule as ``nn.Linear`` copies: W_l and the hidden biases b_l (for a top RBM
    with label units, the weights of its data units only: the labels count as off)."""
    linears = []
    for rbm in dbn.rbms:
        n_data = getattr(rbm.visible, "n_features", rbm.n_visible)
        linears.append(linear_from(rbm.weight[:, :n_data], rbm.hidden_bias))
    return linears


class MeanFieldInput(nn.Module):
    """The input of a network fine-tuned from a DBM (Salakhutdinov & Hinton 2009): rows v -> [v, q(h^2 | v)], q the
    mean-field posterior of the DBM's second hidden layer, computed without gradients: a fixed extra input, as in
    the paper. ``dbm`` (a DBMModule with >= 2 hidden layers) is copied."""

    def __init__(self, dbm, n_mean_field, damping=0.0):
        super().__init__()
        self.dbm = copy.deepcopy(dbm)
        self.n_mean_field, self.damping = int(n_mean_field), float(damping)

    def forward(self, v):
        with torch.no_grad():
            q = self.dbm.mean_field(v, self.n_mean_field, self.damping)[2]
        return torch.cat([v, q.to(v.dtype)], 1)

    def extra_repr(self):
        return f"mean field: {self.n_mean_field} iterations, damping {self.damping:g}"


def dbm_linears(dbm):
    """A DBMModule unrolled for fine-tuning as ``nn.Linear`` copies, bottom to top. With L >= 2 hidden layers the
    first takes [v, q(h^2 | v)] (:class:`MeanFieldInput`) with weights [W_1 | W_2^T], the paper's network for two
    layers; a layer between the first and the top takes 2 W_l, the input from below standing in for the top-down
    half it gets in the DBM (as the pretraining assumed); the top layer W_L. Biases b_l."""
    L = dbm.n_layers
    if L == 1:
        return [linear_from(dbm.weights[0], dbm.biases[1])]
    first = linear_from(torch.cat([dbm.weights[0], dbm.weights[1].t()], 1), dbm.biases[1])
    middle = [linear_from(2 * dbm.weights[l], dbm.biases[l + 1]) for l in range(1, L - 1)]
    return [first, *middle, linear_from(dbm.weights[L - 1], dbm.biases[L])]


class ProbabilisticMaxPool(nn.Module):
    """P(pooling unit on) of probabilistic max-pooling from detection pre-activations (n, K, H', W'): per block,
    1 - 1 / (1 + sum exp(I)), computed as -expm1(-logsumexp([I, 0])); edge blocks are smaller where the blocks do not
    tile the maps. Differentiable: a convolutional DBN's inference as a layer of a network to fine-tune."""

    def __init__(self, pool_size):
        super().__init__()
        self.pool_size = tuple(pool_size)

    def forward(self, pre):
        (ph, pw), (n, k, dh, dw) = self.pool_size, pre.shape
        hp, wp = -(-dh // ph), -(-dw // pw)
        if (hp * ph, wp * pw) != (dh, dw):
            pre = torch.nn.functional.pad(pre, (0, wp * pw - dw, 0, hp * ph - dh), value=-torch.inf)
        blocks = pre.reshape(n, k, hp, ph, wp, pw).permute(0, 1, 2, 4, 3, 5).reshape(n, k, hp, wp, ph * pw)
        log_z = torch.logsumexp(torch.cat([blocks, torch.zeros_like(blocks[..., :1])], -1), -1)
        return -torch.expm1(-log_z)

    def extra_repr(self):
        return f"pool_size={self.pool_size}"


def conv_network(modules):
    """A ``torch.nn.Sequential`` computing what a convolutional DBN of the ConvRBMModules ``modules`` passes up:
    flat rows of images (in model units) -> each layer's convolution and pooling probabilities -> flat rows of the
    top layer's pooled maps; the parameters are copies, trainable."""
    layers = [nn.Unflatten(1, modules[0].image_shape)]
    for m in modules:
        conv = nn.Conv2d(m.image_shape[0], m.n_filters, m.filter_size, dtype=m.weight.dtype, device=m.weight.device)
        with torch.no_grad():
            conv.weight.copy_(m.weight)
            conv.bias.copy_(m.hidden_bias)
        layers += [conv, ProbabilisticMaxPool(m.pool_size)]
    return nn.Sequential(*layers, nn.Flatten())
