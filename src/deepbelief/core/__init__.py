"""Pure torch math of RBMs and DBNs: no I/O, no optimizer, no logging."""
from .dbn import DBNModule
from .rbm import RBMModule

__all__ = ["DBNModule", "RBMModule"]
