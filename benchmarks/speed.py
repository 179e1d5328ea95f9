"""Speed of contrastive divergence against the hardware's GEMM rate and against peers (issue 9).

    python benchmarks/speed.py [--device auto] [--seconds 2] [--data ../shared/data] [--skip-jobs]

One run, side by side. FLOP counts: a CD-1 update of a V x H layer on a batch of B rows takes five B x V x H matrix
products (the hidden probabilities of the data, the reconstruction, the hidden probabilities of the
reconstruction, the positive and the negative statistics), 10 B V H floating-point operations; PCD-1 takes six
(the persistent chain needs its own hidden sample), 12 B V H. The
GEMM row times torch.matmul at the same shapes (the mean over the three product shapes), the physical limit of
this code path. Peers: scikit-learn's BernoulliRBM.partial_fit (CD-1, batch B) and a plain NumPy CD-1.
Prints Markdown tables: updates/s, samples/s, GFLOP/s, and the fraction of the GEMM rate.
"""
import argparse
import contextlib
import io
import platform
import tempfile
import time

import numpy as np
import torch

from deepbelief import __version__
from deepbelief._runtime import resolve_device
from deepbelief.core.rbm import RBMModule
from deepbelief.training import CDConfig, CDTrainer


def timed(fn, seconds, sync):
    """Calls of ``fn`` per second, over at least ``seconds`` after one warm-up call."""
    fn()
    sync()
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        calls += 1
    sync()
    return calls / (time.perf_counter() - start)


def gemm_rate(V, H, B, device, seconds, sync):
    """GFLOP/s of torch.matmul at the three product shapes of a CD update (mean time per product)."""
    g = torch.Generator(device=device).manual_seed(0)
    a, w, h = (torch.rand(B, V, generator=g, device=device), torch.rand(H, V, generator=g, device=device),
               torch.rand(B, H, generator=g, device=device))
    products = [lambda: a @ w.t(), lambda: h @ w, lambda: h.t() @ a]
    seconds_per = [1 / timed(p, seconds / 3, sync) for p in products]
    return 2 * B * V * H / np.mean(seconds_per) / 1e9


def ours(V, H, B, device, seconds, sync, persistent=False, precision="float32"):
    g = torch.Generator(device=device).manual_seed(0)
    rbm = RBMModule(V, H, device=device)
    rbm.weight.copy_(torch.randn(H, V, generator=g, device=device) * 0.01)
    trainer = CDTrainer(rbm, CDConfig(learning_rate=0.01, persistent=persistent, precision=precision), g)
    data = (torch.rand(B, V, generator=g, device=device) < 0.3).float()
    return timed(lambda: trainer.step(data, epoch=10), seconds, sync)


def sklearn_rbm(V, H, B, seconds):
    from sklearn.neural_network import BernoulliRBM

    rbm = BernoulliRBM(n_components=H, batch_size=B, random_state=0)
    data = (np.random.default_rng(0).random((B, V)) < 0.3).astype(np.float64)
    return timed(lambda: rbm.partial_fit(data), seconds, lambda: None)


def numpy_cd1(V, H, B, seconds):
    rng = np.random.default_rng(0)
    W, a, b = rng.normal(0, 0.01, (V, H)).astype(np.float32), np.zeros(V, np.float32), np.zeros(H, np.float32)
    v0 = (rng.random((B, V)) < 0.3).astype(np.float32)

    def sigmoid(x):
        return 1 / (1 + np.exp(-x))

    def step():
        nonlocal W, a, b
        ph0 = sigmoid(v0 @ W + b)
        h0 = (rng.random(ph0.shape, dtype=np.float32) < ph0).astype(np.float32)
        pv = sigmoid(h0 @ W.T + a)
        v1 = (rng.random(pv.shape, dtype=np.float32) < pv).astype(np.float32)
        ph1 = sigmoid(v1 @ W + b)
        W += 0.01 * (v0.T @ ph0 - v1.T @ ph1) / B
        a += 0.01 * (v0 - v1).mean(0)
        b += 0.01 * (ph0 - ph1).mean(0)

    return timed(step, seconds, lambda: None)


def slope(xs, ys):
    return float(np.polyfit(np.log(xs), np.log(ys), 1)[0])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--data", default="../shared/data")
    parser.add_argument("--skip-jobs", action="store_true", help="only the per-update and scaling tables")
    args = parser.parse_args()
    device = resolve_device(args.device)
    cuda = device.type == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    name = torch.cuda.get_device_name(device) if cuda else f"{platform.processor() or 'cpu'}"
    print(f"deepbelief {__version__}, torch {torch.__version__}, device {device} ({name}), "
          f"{torch.get_num_threads()} CPU threads\n")
    shapes = [(784, 500, 100), (500, 2000, 100)] + ([(4096, 4096, 1024)] if cuda else [(2048, 2048, 512)])
    print("| layer V x H, batch B | implementation | updates/s | samples/s | GFLOP/s | of GEMM rate |")
    print("| --- | --- | --- | --- | --- | --- |")
    for V, H, B in shapes:
        flops = 10 * B * V * H
        peak = gemm_rate(V, H, B, device, args.seconds, sync)
        rows = [("torch.matmul at these shapes (the limit)", peak * 1e9 / flops),
                ("deepbelief CD-1", ours(V, H, B, device, args.seconds, sync)),
                ("deepbelief PCD-1", ours(V, H, B, device, args.seconds, sync, persistent=True))]
        if cuda:  # the precision option: tensor-core products (tf32, bfloat16), against the float32 GEMM rate
            rows += [(f"deepbelief CD-1, precision='{p}'", ours(V, H, B, device, args.seconds, sync, precision=p))
                     for p in ("tf32", "bfloat16")]
        if not cuda and V * H <= 784 * 2000:
            rows += [("scikit-learn BernoulliRBM.partial_fit", sklearn_rbm(V, H, B, args.seconds)),
                     ("plain NumPy CD-1 (float32)", numpy_cd1(V, H, B, args.seconds))]
        for label, rate in rows:
            f = flops * 6 // 5 if "PCD" in label else flops
            print(f"| {V} x {H}, {B} | {label} | {rate:,.0f} | {rate * B:,.0f} | {rate * f / 1e9:.1f} | "
                  f"{rate * f / 1e9 / peak:.0%} |", flush=True)

    print("\nScaling of a CD-1 epoch (784 x 500, batch 100, binary random data):\n")
    print("| rows | s per epoch |\n| --- | --- |")
    sizes, times = [1000, 4000, 16000, 60000], []
    for n in sizes:
        data = (torch.rand(n, 784, generator=torch.Generator().manual_seed(0)) < 0.3).float().to(device)
        rbm = RBMModule(784, 500, device=device)
        trainer = CDTrainer(rbm, CDConfig(learning_rate=0.01), torch.Generator(device=device).manual_seed(0))
        times.append(1 / timed(lambda: trainer.run_epoch(data, 100, 10), min(args.seconds, 1.0), sync))
        print(f"| {n} | {times[-1]:.3f} |", flush=True)
    print(f"\nlog-log slope against rows: {slope(sizes, times):.2f}\n")
    print("| hidden units (784 visible, batch 100, 10,000 rows) | s per epoch |\n| --- | --- |")
    widths, times = [250, 500, 1000, 2000, 4000], []
    data = (torch.rand(10000, 784, generator=torch.Generator().manual_seed(0)) < 0.3).float().to(device)
    for h in widths:
        rbm = RBMModule(784, h, device=device)
        trainer = CDTrainer(rbm, CDConfig(learning_rate=0.01), torch.Generator(device=device).manual_seed(0))
        times.append(1 / timed(lambda: trainer.run_epoch(data, 100, 10), min(args.seconds, 1.0), sync))
        print(f"| {h} | {times[-1]:.3f} |", flush=True)
    print(f"\nlog-log slope against width: {slope(widths, times):.2f}")
    if args.skip_jobs:
        return
    from deepbelief import DBN, DBNClassifier
    from deepbelief.datasets import load_mnist

    (X, y), _ = load_mnist(args.data, progress=False)
    epochs = 50 if cuda else 1
    start = time.perf_counter()
    DBN((500, 500, 2000), n_iter=epochs, batch_size=100, device=device, random_state=0).fit(X)
    sync()
    pretrain_s = time.perf_counter() - start
    clf = DBNClassifier((500, 500, 2000), pretrain=False, max_iter=3, batch_size=100, device=device, random_state=0)
    start = time.perf_counter()
    clf.fit(X, y)
    sync()
    fine_s = (time.perf_counter() - start) / 3
    from deepbelief.cli import main as cli

    with tempfile.TemporaryDirectory() as out, contextlib.redirect_stdout(io.StringIO()):
        start = time.perf_counter()
        cli(["demo", "--quiet", "--device", str(device), "--out", out])
        demo_s = time.perf_counter() - start
    print(f"\n| job | time |\n| --- | --- |\n| pretraining 784-500-500-2000 on MNIST, {epochs} epoch(s) per layer "
          f"(60,000 rows, batch 100) | {pretrain_s:.1f} s |\n| fine-tuning the same network, one epoch "
          f"| {fine_s:.1f} s ({1 / fine_s:.2f} epochs/s) |\n| `deepbelief demo` (digits) | {demo_s:.1f} s |")


if __name__ == "__main__":
    main()
