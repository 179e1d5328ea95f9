"""The MNIST reproduction table (issue 12): the published DBN experiments, trained and evaluated in one run.

    python benchmarks/mnist.py [--quick] [--rows dbn,dropout,...] [--device auto] [--data-home ../shared/data]

The same as ``deepbelief reproduce mnist``: writes table.md and table.json into --out and prints the table.
Settings of every row are in :mod:`deepbelief.reproduce` (FULL and QUICK budgets).
"""
import sys

from deepbelief.cli import main

if __name__ == "__main__":
    sys.exit(main(["reproduce", "mnist", *sys.argv[1:]]))
