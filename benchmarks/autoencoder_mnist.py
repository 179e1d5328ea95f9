"""Deep autoencoder on MNIST (issue 6): DeepAutoencoder 784-1000-500-250-30 vs PCA with 30 components.

    python benchmarks/autoencoder_mnist.py [--data ../shared/data] [--pretrain-epochs 10] [--epochs 50]
        [--schedule cosine] [--weight-decay 1e-5] [--device auto] [--seed 0]

Measure: mean squared reconstruction error per test image, summed over the 784 pixels (Hinton & Salakhutdinov
2006, Science, report 3.00 for their autoencoder, 13.87 for PCA and 8.01 for logistic PCA). Pixels in [0, 1]
as loaded by deepbelief.datasets.load_mnist (not binarised). Prints the per-epoch training loss and a table.
"""
import argparse
import platform
import time

import torch
from sklearn.decomposition import PCA

from deepbelief import DeepAutoencoder, __version__
from deepbelief._runtime import resolve_device
from deepbelief.datasets import load_mnist


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data")
    parser.add_argument("--pretrain-epochs", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--weight-decay", type=float, default=0.0, help="L2 penalty on the weights in fine-tuning")
    parser.add_argument("--schedule", choices=["constant", "cosine"], default="constant")
    parser.add_argument("--no-pretrain", action="store_true")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    (X, _), (X_test, _) = load_mnist(args.data, progress=False)
    device = resolve_device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    print(f"deepbelief {__version__}, torch {torch.__version__}, device {device} ({name}), "
          f"{torch.get_num_threads()} CPU threads", flush=True)
    start = time.perf_counter()
    pca = PCA(30, random_state=args.seed).fit(X)
    pca_error = ((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2).sum(1).mean()
    pca_s = time.perf_counter() - start
    start = time.perf_counter()
    ae = DeepAutoencoder(hidden_layer_sizes=(1000, 500, 250, 30), pretrain=not args.no_pretrain,
                         n_iter=args.pretrain_epochs, learning_rate=args.learning_rate, lr_schedule=args.schedule,
                         max_iter=args.epochs, weight_decay=args.weight_decay,
                         batch_size=args.batch_size, device=args.device, random_state=args.seed, verbose=True)
    ae.fit(X)
    fit_s = time.perf_counter() - start
    for epoch, loss in enumerate(ae.loss_curve_):
        print(f"epoch {epoch + 1}: training cross-entropy {loss:.3f}")
    ae_error = -ae.score(X_test)
    print("| model | test squared error per image | fit s |")
    print("| --- | --- | --- |")
    print(f"| PCA(30) | {pca_error:.2f} | {pca_s:.0f} |")
    init = "random init" if args.no_pretrain else f"pretrained {args.pretrain_epochs} epochs/layer"
    print(f"| DeepAutoencoder 784-1000-500-250-30, {init}, Adam {args.learning_rate:g} {args.schedule}, "
          f"{args.epochs} epochs, weight decay {args.weight_decay:g} | "
          f"{ae_error:.2f} | {fit_s:.0f} |")


if __name__ == "__main__":
    main()
