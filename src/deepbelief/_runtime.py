"""Devices, random generators and tensor conversion shared by the estimators."""
import functools
import threading

import numpy as np
import torch
from sklearn.utils import check_random_state

from .errors import DeviceMemoryError


def resolve_device(device, group=None):
    """torch.device for 'cpu', 'cuda', 'cuda:N', 'auto' (CUDA when available) or a torch.device. Under data
    parallelism (``group``, a ``distributed.Group``) 'cuda' and 'auto' mean the rank's own GPU, cuda:LOCAL_RANK."""
    if isinstance(device, torch.device):
        device = str(device)
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and group is not None:
        device = f"cuda:{group.local_rank}"
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device={device!r} is not a device; use 'cpu', 'cuda', 'cuda:N' or 'auto'") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was requested but CUDA is not available on this machine; "
                         "use device='cpu', or 'auto' to take a GPU only when one is present")
    if resolved.type not in ("cpu", "cuda"):
        raise ValueError(f"device={device!r} is not supported; use 'cpu', 'cuda', 'cuda:N' or 'auto'")
    return resolved


def seeds_from(random_state, n):
    """``n`` integer seeds drawn from a scikit-learn style ``random_state`` (None, int or RandomState)."""
    return [int(s) for s in check_random_state(random_state).randint(0, 2**31 - 1, size=n)]


def make_generator(seed, device):
    """A torch.Generator on ``device`` seeded with ``seed``."""
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)
    return generator


def to_tensor(X, device, dtype=torch.float32):
    """A (copied, contiguous) tensor of ``X`` on ``device``."""
    return torch.as_tensor(np.ascontiguousarray(X), dtype=dtype, device=device)


def to_numpy(t):
    """A NumPy copy of tensor ``t``."""
    return t.detach().cpu().numpy()


_training = threading.local()  # inside a memory_errors method of this thread


def memory_errors(method):
    """Decorator for training methods: torch's out-of-memory error becomes a DeviceMemoryError naming the
    estimator, the device and the remedy (a smaller batch, smaller layers, or the CPU). The outermost estimator is
    the one named: a DBNClassifier's error, not that of the DBN it pretrains with."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        outer = not getattr(_training, "active", False)
        _training.active = True
        try:
            return method(self, *args, **kwargs)
        except (torch.OutOfMemoryError, RuntimeError) as exc:
            # The CPU allocator reports as a RuntimeError; other RuntimeErrors pass through.
            if not outer or (not isinstance(exc, torch.OutOfMemoryError) and "allocate" not in str(exc)):
                raise
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else "out of memory"
            raise DeviceMemoryError(
                f"{type(self).__name__}.{method.__name__} ran out of memory on device={self.device!r} ({first_line}). "
                f"Use a smaller batch_size (now {getattr(self, 'batch_size', '?')}), smaller hidden layers, or "
                "device='cpu'") from None
        finally:
            if outer:
                _training.active = False
    return wrapper
