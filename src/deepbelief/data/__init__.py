"""Data in and out of the estimators: readers of CSV, .npy and IDX files (``files``), MNIST and Fashion-MNIST
(``datasets``), sequence data (``sequences``) and rows streamed from .npy files (``streaming``). A leaf of the
package: nothing here imports the models."""
