"""MNIST and Fashion-MNIST from their standard IDX gzip files, with verified downloads.

The files are looked up in ``data_home``, else in the folder named by the ``DEEPBELIEF_DATA`` environment
variable, else in the user cache (``$XDG_CACHE_HOME/deepbelief`` or ``~/.cache/deepbelief``). Each holds
``mnist/`` and ``fashion-mnist/`` subfolders with the four standard file names. Missing files are downloaded from
the official mirrors into that folder. Every file, downloaded or found, is checked against the SHA-256 of its
decompressed content (the gzip wrappers differ between mirrors, the IDX content does not); a download that fails
the check is deleted.
"""
import gzip
import hashlib
import logging
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
from sklearn.utils import check_random_state
from tqdm.auto import tqdm

logger = logging.getLogger("deepbelief")

FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
         "t10k-labels-idx1-ubyte.gz")

DATASETS = {
    "mnist": {
        "mirrors": ("https://ossci-datasets.s3.amazonaws.com/mnist/", "https://storage.googleapis.com/cvdf-datasets/mnist/"),
        "sha256": dict(zip(FILES, (
            "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"))),
    },
    "fashion-mnist": {
        "mirrors": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        "sha256": dict(zip(FILES, (
            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"))),
    },
}


class DatasetError(OSError):
    """A dataset file is missing, cannot be downloaded, or fails its checksum."""


def get_data_home(data_home=None):
    """The data folder: ``data_home``, else $DEEPBELIEF_DATA, else the user cache folder."""
    if data_home is not None:
        return Path(data_home).expanduser()
    if os.environ.get("DEEPBELIEF_DATA"):
        return Path(os.environ["DEEPBELIEF_DATA"]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "deepbelief"


def _checked_content(path, sha256):
    """The decompressed bytes of ``path``, or DatasetError when they do not have the expected SHA-256."""
    try:
        content = gzip.decompress(Path(path).read_bytes())
    except (OSError, EOFError) as exc:
        raise DatasetError(f"{path} is not a readable gzip file ({exc})") from None
    if hashlib.sha256(content).hexdigest() != sha256:
        raise DatasetError(f"{path} fails its checksum: the SHA-256 of its content is "
                           f"{hashlib.sha256(content).hexdigest()}, expected {sha256}")
    return content


def _download(url, target, sha256, progress):
    """Download ``url`` to ``target`` through a temporary file in the same folder; verified, then renamed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=30) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=target.name, disable=not progress) as bar:
                while chunk := response.read(1 << 16):
                    out.write(chunk)
                    bar.update(len(chunk))
        content = _checked_content(tmp, sha256)
        os.replace(tmp, target)
        return content
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def fetch(name, data_home=None, download=True, progress=True, mirrors=None, checksums=None):
    """The decompressed, verified content of the four files of dataset ``name``, as {file name: bytes}.

    ``mirrors`` and ``checksums`` replace the built-in ones (tests serve small files from a local server).
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; expected one of {sorted(DATASETS)}")
    folder = get_data_home(data_home) / name
    mirrors = mirrors or DATASETS[name]["mirrors"]
    checksums = checksums or DATASETS[name]["sha256"]
    contents = {}
    for file, sha256 in checksums.items():
        path = folder / file
        if path.exists():
            try:
                contents[file] = _checked_content(path, sha256)
            except DatasetError as exc:
                raise DatasetError(f"{exc}. Delete the file to download it again") from None
            continue
        if not download:
            raise DatasetError(f"{path} is missing and download=False")
        errors = []
        for mirror in mirrors:
            try:
                logger.info("downloading %s into %s", mirror + file, folder)
                contents[file] = _download(mirror + file, path, sha256, progress)
                break
            except (urllib.error.URLError, OSError) as exc:  # DatasetError (checksum) is an OSError too
                logger.warning("download of %s failed: %s", mirror + file, getattr(exc, "reason", exc))
                errors.append(f"{mirror + file}: {getattr(exc, 'reason', exc)}")
        else:
            raise DatasetError(f"could not download {file} of {name} into {folder}; tried: " + "; ".join(errors)
                               + ". Without internet, copy the four files there or set DEEPBELIEF_DATA")
    return contents


def parse_idx(content):
    """An IDX file's content (bytes) as a NumPy array (unsigned bytes only, as MNIST uses)."""
    if len(content) < 4 or content[:2] != b"\0\0" or content[2] != 0x08:
        raise DatasetError("not an IDX file of unsigned bytes (bad magic number)")
    n_dims = content[3]
    shape = tuple(int.from_bytes(content[4 + 4 * i: 8 + 4 * i], "big") for i in range(n_dims))
    offset = 4 + 4 * n_dims
    if len(content) != offset + int(np.prod(shape)):
        raise DatasetError(f"IDX file of shape {shape} has {len(content) - offset} data bytes")
    return np.frombuffer(content, np.uint8, offset=offset).reshape(shape)


def _load(name, data_home, binarize, random_state, download, progress):
    if binarize not in (None, "threshold", "stochastic"):
        raise ValueError(f"binarize must be None, 'threshold' or 'stochastic'; got {binarize!r}")
    contents = fetch(name, data_home, download, progress)
    arrays = [parse_idx(contents[file]) for file in FILES]
    X_train, X_test = (a.reshape(len(a), -1).astype(np.float32) / 255 for a in arrays[0::2])
    y_train, y_test = (a.astype(np.int64) for a in arrays[1::2])
    if binarize == "threshold":
        X_train, X_test = ((X > 0.5).astype(np.float32) for X in (X_train, X_test))
    elif binarize == "stochastic":
        rng = check_random_state(random_state)
        X_train, X_test = ((rng.random_sample(X.shape) < X).astype(np.float32) for X in (X_train, X_test))
    return (X_train, y_train), (X_test, y_test)


def load_mnist(data_home=None, binarize=None, random_state=None, download=True, progress=True):
    """MNIST as ((X_train, y_train), (X_test, y_test)): 60,000 + 10,000 rows of 784 float32 pixels in [0, 1].

    Parameters
    ----------
    data_home : path or None
        Folder holding ``mnist/``; see the module docstring for the default.
    binarize : None, 'threshold' or 'stochastic'
        'threshold': pixels > 0.5 become 1; 'stochastic': each pixel is 1 with its intensity as the probability
        (the binarisation of Salakhutdinov & Murray 2008), drawn with ``random_state``.
    random_state : int, RandomState or None
    download : bool, default=True
        Download missing files; False raises DatasetError instead.
    progress : bool, default=True
        Progress bars while downloading.
    """
    return _load("mnist", data_home, binarize, random_state, download, progress)


def load_fashion_mnist(data_home=None, binarize=None, random_state=None, download=True, progress=True):
    """Fashion-MNIST, like :func:`load_mnist` (folder ``fashion-mnist/``)."""
    return _load("fashion-mnist", data_home, binarize, random_state, download, progress)
