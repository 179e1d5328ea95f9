"""Feed-forward networks unrolled from a DBN's recognition weights, for fine-tuning with backpropagation."""
import torch
from torch import nn

ACTIVATIONS = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU}


class Dropout(nn.Module):
    """Inverted dropout whose masks come from an explicit ``torch.Generator`` (identity in eval mode).

    ``torch.nn.Dropout`` draws from the global RNG; this layer keeps training reproducible without touching it.
    """

    def __init__(self, p, generator):
        super().__init__()
        self.p = p
        self.generator = generator

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        keep = torch.rand(x.shape, generator=self.generator, device=x.device, dtype=x.dtype) >= self.p
        return x * keep / (1.0 - self.p)

    def extra_repr(self):
        return f"p={self.p}"


def linear_from(weight, bias):
    """An ``nn.Linear`` holding copies of ``weight`` (out, in) and ``bias`` (out,), with gradients on."""
    layer = nn.Linear(weight.shape[1], weight.shape[0], device=weight.device, dtype=weight.dtype)
    with torch.no_grad():
        layer.weight.copy_(weight)
        layer.bias.copy_(bias)
    return layer


def feedforward(linears, activation="sigmoid", dropout=0.0, input_dropout=0.0, head=None, generator=None):
    """``nn.Sequential``: [input dropout] then, per hidden layer, Linear -> activation [-> dropout], then ``head``.

    Parameters
    ----------
    linears : list of nn.Linear, the hidden layers bottom to top
    activation : {'sigmoid', 'relu'}
    dropout, input_dropout : float in [0, 1)
    head : nn.Module or None, the output layer (no activation: losses take logits)
    generator : torch.Generator for the dropout masks, or None for ``torch.nn.Dropout`` (plain PyTorch export)
    """
    def drop(p):
        return Dropout(p, generator) if generator is not None else nn.Dropout(p)

    layers = [drop(input_dropout)] if input_dropout > 0 else []
    for linear in linears:
        layers += [linear, ACTIVATIONS[activation]()]
        if dropout > 0:
            layers.append(drop(dropout))
    if head is not None:
        layers.append(head)
    return nn.Sequential(*layers)


def recognition_linears(dbn):
    """The bottom-up layers of a DBNModule as ``nn.Linear`` copies: W_l and the hidden biases b_l."""
    return [linear_from(rbm.weight, rbm.hidden_bias) for rbm in dbn.rbms]
