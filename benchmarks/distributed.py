"""Data-parallel scaling on this machine: 1 process vs 2 processes (torch.distributed, gloo on 127.0.0.1).

For CD-1 pretraining of an RBM (784-500) and for fine-tuning a 784-500-500-10 classifier (DDP), each on 20,000
MNIST rows (random binary rows when ../shared/data is absent), it times the fit in one process with one thread,
in two ranks with one thread each (batch 100 per rank, so the global batch is 200), and, for reference, in one
process with two threads and batch 200 (what the same cores give without distributed training). Scaling
efficiency = throughput of 2 ranks / (2 x throughput of 1 process). It also times the all-reduce of one CD
update's statistics alone, and prints the bytes all-reduced per update: O(parameters), independent of the data.

    python benchmarks/distributed.py [--rows 20000] [--epochs 3]
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve()


def load_rows(n):
    from deepbelief.datasets import load_mnist

    try:
        X, y = load_mnist(data_home=HERE.parents[2] / "shared" / "data", download=False, progress=False)[0]
        return X[:n].reshape(n, -1), y[:n], "MNIST"
    except Exception:  # no local copy: random binary images of the same shape, a learnable 3-class target
        X = (np.random.default_rng(0).random((n, 784)) < 0.13).astype(np.float32)
        return X, (X[:, 300:320].sum(1) > 2).astype(int) + (X[:, 400:420].sum(1) > 2), "random binary"


def worker(args):
    """One rank (or a lone process): time the two fits, write the timings as JSON."""
    import torch
    import torch.distributed as dist

    from deepbelief import RBM, DBNClassifier, distributed

    X, y, _ = load_rows(args.rows)
    group = distributed.current()
    out = {}
    for name, make, fit_args in (
            ("cd1", lambda: RBM(n_components=500, batch_size=args.batch, n_iter=args.epochs, learning_rate=0.05,
                                random_state=0), (X,)),
            ("fine_tune", lambda: DBNClassifier((500, 500), pretrain=False, max_iter=args.epochs, dropout=0.0,
                                                input_dropout=0.0, batch_size=args.batch, random_state=0), (X, y))):
        make().set_params(**({"n_iter": 1} if name == "cd1" else {"max_iter": 1})).fit(*fit_args)  # warm-up
        if group is not None:
            group.barrier()
        start = time.perf_counter()
        make().fit(*fit_args)
        out[name] = time.perf_counter() - start
    if group is not None:
        stats = torch.zeros(500 * 784 + 500 + 784)
        for _ in range(5):
            dist.all_reduce(stats)
        start = time.perf_counter()
        for _ in range(50):
            group.mean_([stats])
        out["all_reduce"] = (time.perf_counter() - start) / 50
    if group is None or group.is_main:
        Path(args.out).write_text(json.dumps(out))
    distributed.close(together=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(world, threads, batch, args):
    out = Path(f"/tmp/deepbelief-dist-{world}-{threads}.json")
    port = str(free_port())
    procs = []
    for rank in range(world):
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port,
               "WORLD_SIZE": str(world), "RANK": str(rank), "LOCAL_RANK": str(rank)}
        procs.append(subprocess.Popen([sys.executable, str(HERE), "--worker", "--out", str(out), "--rows",
                                       str(args.rows), "--epochs", str(args.epochs), "--batch", str(batch)], env=env))
    for p in procs:
        if p.wait() != 0:
            raise SystemExit(f"a worker failed (world {world})")
    return json.loads(out.read_text())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--worker", action="store_true")
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    source = load_rows(args.rows)[2]
    one = run(1, 1, args.batch, args)
    two = run(2, 1, args.batch, args)
    threads = run(1, 2, 2 * args.batch, args)
    rows = args.rows * args.epochs
    print(f"{source} rows: {args.rows}, epochs: {args.epochs}, batch {args.batch} per rank")
    print("| job | 1 process, 1 thread (rows/s) | 2 ranks, 1 thread each (rows/s) | scaling efficiency "
          "| 1 process, 2 threads, batch x2 (rows/s) |")
    print("|---|---|---|---|---|")
    for name, label in (("cd1", "CD-1 pretraining, RBM 784-500"),
                        ("fine_tune", "fine-tuning 784-500-500-10 (DDP)")):
        r1, r2, rt = rows / one[name], rows / two[name], rows / threads[name]
        print(f"| {label} | {r1:,.0f} | {r2:,.0f} | {r2 / (2 * r1):.0%} | {rt:,.0f} |")
    n_params = 500 * 784 + 500 + 784
    print(f"all-reduced per CD update: {n_params:,} float32 = {n_params * 4 / 1e6:.2f} MB (the parameters' size, "
          f"whatever the batch or data size); one such all-reduce over gloo, 2 ranks: {two['all_reduce'] * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
