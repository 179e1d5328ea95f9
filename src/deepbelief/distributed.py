"""Data-parallel training on ``torch.distributed``, launched by ``torchrun``.

Every rank holds the same model and trains it on its own shard of the rows: a CD update averages the ranks'
statistics with one all-reduce of a buffer the size of the parameters (never of the data), and fine-tuning runs
under ``DistributedDataParallel``. Random draws are made for all ranks' rows and split (``core.units.RankDraws``),
so the ranks stay in step and N ranks with batch b draw what one process with batch N*b would. Only rank 0 writes
files.

Launch: ``torchrun --nproc_per_node=N your_script.py`` or ``torchrun --nproc_per_node=N -m deepbelief train ...``;
the estimators join the process group on their own. Backend: gloo for CPU tensors, NCCL for CUDA tensors.
"""
import atexit
import datetime
import logging
import os
import sys
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist

logger = logging.getLogger("deepbelief")

TIMEOUT_VARIABLE = "DEEPBELIEF_TIMEOUT"
DEFAULT_TIMEOUT = 300.0  # seconds a collective waits for a missing rank before it fails on every rank


@dataclass(frozen=True)
class Group:
    """This process's place among the data-parallel ranks."""

    rank: int
    world: int
    local_rank: int
    device: str = "cpu"  # where small collectives (counters, monitors) run: 'cuda' under an NCCL-only group

    @property
    def is_main(self):
        return self.rank == 0

    def shard(self, n):
        """The indices of this rank's rows among ``n``: a contiguous block of ceil(n / world) rows. The last
        ranks wrap around to the first rows, so every shard has the same size and every step the same batch
        on every rank (at most world - 1 rows are used twice per epoch)."""
        size = -(-n // self.world)
        return np.arange(self.rank * size, (self.rank + 1) * size) % n

    def mean_(self, tensors):
        """Average ``tensors`` over the ranks, in place, with one all-reduce of one flat buffer."""
        return self.sum_(tensors, 1.0 / self.world)

    def sum_(self, tensors, scale=1.0):
        """Sum ``tensors`` (of one device and dtype) over the ranks, times ``scale``, in place, with one
        all-reduce of one flat buffer."""
        flat = torch.cat([t.reshape(-1) for t in tensors])
        dist.all_reduce(flat)
        if scale != 1.0:
            flat *= scale
        offset = 0
        for t in tensors:
            t.copy_(flat[offset:offset + t.numel()].view_as(t))
            offset += t.numel()
        return tensors

    def sum(self, values):
        """The sums over the ranks of a few numbers (float64), as a list of floats."""
        buffer = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.all_reduce(buffer)
        return buffer.tolist()

    def stack_rows(self, tensor):
        """The ranks' tensors of equal shape stacked along the first axis in rank order."""
        parts = [torch.empty_like(tensor) for _ in range(self.world)]
        dist.all_gather(parts, tensor.contiguous())
        return torch.cat(parts)

    def barrier(self):
        dist.barrier()


def timeout_seconds():
    """The collective timeout from $DEEPBELIEF_TIMEOUT (seconds), else 300."""
    text = os.environ.get(TIMEOUT_VARIABLE)
    if text is None:
        return DEFAULT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise ValueError(f"{TIMEOUT_VARIABLE}={text!r} is not a positive number of seconds")
    return value


def init():
    """Join the process group described by torchrun's environment (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT)."""
    backend = "cpu:gloo,cuda:nccl" if torch.cuda.is_available() else "gloo"
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend, timeout=datetime.timedelta(seconds=timeout_seconds()))
    atexit.register(close)  # a group left to the interpreter's teardown can abort the process at exit
    logger.info("rank %d of %d joined the process group (%s)", dist.get_rank(), dist.get_world_size(), backend)


def current():
    """The :class:`Group` this process trains in, or None when it runs alone.

    An initialised process group is used as it is; otherwise, under torchrun (WORLD_SIZE > 1 in the environment),
    one is initialised on first use.
    """
    if not dist.is_available():
        return None
    if not dist.is_initialized():
        if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
            return None
        init()
    if dist.get_world_size() == 1:
        return None
    device = "cuda" if dist.get_backend() == "nccl" else "cpu"
    return Group(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")), device)


def is_main_process():
    """True on rank 0, and in a process that runs alone: the one that writes files."""
    group = current()
    return group is None or group.is_main


def close(together=False):
    """Leave the process group, if this process is in one.

    ``together``: first wait at a barrier for every rank (only where all of them reach this call, e.g. after a
    successful run): a rank that tears its group down while another still uses its own can abort at exit.
    """
    if dist.is_available() and dist.is_initialized():
        if together:
            dist.barrier()
        dist.destroy_process_group()


def leave(code=0):
    """End this process with exit status ``code``: leave the process group (together with every rank, see
    :func:`close`), flush the output and ``os._exit``. The interpreter's own teardown of torch's communication
    threads aborted about one rank exit in 50-100 ('terminate called without an active exception', with no Python
    frame left), after a run that had succeeded; ``os._exit`` skips that teardown."""
    close(together=True)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
