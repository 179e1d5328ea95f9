"""The DBM row of the MNIST table (issue 40) at a chosen budget: `deepbelief reproduce mnist --rows dbm` runs the
paper's (100 pretraining epochs per RBM, 500 joint epochs); this script runs fewer, to record what a CPU reaches.

    python benchmarks/dbm_mnist.py --data-home ../shared/data --pretrain-epochs 10 --epochs 5
"""
import argparse
import json
import time

from deepbelief import reproduce

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--data-home", required=True)
parser.add_argument("--pretrain-epochs", type=int, default=10)
parser.add_argument("--epochs", type=int, default=5)
parser.add_argument("--rows", type=int, default=None, help="training rows (default: all 60,000)")
parser.add_argument("--ais-runs", type=int, default=100)
parser.add_argument("--ais-betas", type=int, default=None, help="default: the paper's 14,501")
parser.add_argument("--device", default="cpu")
args = parser.parse_args()

budget = reproduce.Budget(n_train=args.rows, dbm_pretrain_epochs=args.pretrain_epochs, dbm_epochs=args.epochs,
                          ais_runs=args.ais_runs, ais_betas=args.ais_betas)
start = time.perf_counter()
record = reproduce._row_dbm(budget, args.device, 0, args.data_home)
record["seconds"] = round(time.perf_counter() - start, 1)
print(json.dumps(record, indent=1))
