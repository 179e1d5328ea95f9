"""Devices, random generators and tensor conversion shared by the estimators."""
import numpy as np
import torch
from sklearn.utils import check_random_state


def resolve_device(device):
    """torch.device for 'cpu', 'cuda', 'cuda:N', 'auto' (CUDA when available) or a torch.device."""
    if isinstance(device, torch.device):
        device = str(device)
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
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
