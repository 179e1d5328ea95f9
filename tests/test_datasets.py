import gzip
import hashlib
import http.server
import threading

import numpy as np
import pytest

from deepbelief import datasets
from deepbelief.datasets import DatasetError, fetch, get_data_home, load_mnist, parse_idx

from tests.helpers import SHARED, needs_shared


def idx_bytes(array):
    array = np.asarray(array, np.uint8)
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + array.tobytes()


@pytest.fixture
def server(tmp_path):
    """A local HTTP server on 127.0.0.1 serving the folder tmp_path/served; yields (base URL, folder)."""
    folder = tmp_path / "served"
    folder.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(folder), **kwargs)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", folder
    httpd.shutdown()
    httpd.server_close()


def tiny_files(folder):
    """Four small IDX gzip files with the standard names in ``folder``; returns their content checksums."""
    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 256, (5, 28, 28)), rng.integers(0, 10, 5), rng.integers(0, 256, (3, 28, 28)),
              rng.integers(0, 10, 3)]
    checksums = {}
    for name, array in zip(datasets.FILES, arrays):
        content = idx_bytes(array)
        (folder / name).write_bytes(gzip.compress(content))
        checksums[name] = hashlib.sha256(content).hexdigest()
    return checksums, arrays


def test_idx_parsing_and_errors():
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(parse_idx(idx_bytes(array)), array)
    with pytest.raises(DatasetError, match="bad magic number"):
        parse_idx(b"\x00\x00\x0d\x01" + bytes(8))
    with pytest.raises(DatasetError, match="data bytes"):
        parse_idx(idx_bytes(array)[:-1])


def test_download_verifies_and_caches(server, tmp_path):
    url, served = server
    checksums, arrays = tiny_files(served)
    home = tmp_path / "home"
    contents = fetch("mnist", home, mirrors=[url], checksums=checksums, progress=False)
    np.testing.assert_array_equal(parse_idx(contents[datasets.FILES[0]]), arrays[0])
    assert sorted(p.name for p in (home / "mnist").iterdir()) == sorted(datasets.FILES)
    for f in served.iterdir():
        f.unlink()  # the server has nothing now: the second call reads the cache
    assert fetch("mnist", home, mirrors=[url], checksums=checksums, progress=False) == contents


def test_corrupted_download_leaves_nothing(server, tmp_path):
    url, served = server
    checksums, _ = tiny_files(served)
    checksums[datasets.FILES[0]] = "0" * 64
    home = tmp_path / "home"
    with pytest.raises(DatasetError, match="fails its checksum"):
        fetch("mnist", home, mirrors=[url], checksums=checksums, progress=False)
    assert not (home / "mnist").exists() or not any((home / "mnist").iterdir())


def test_server_down_and_offline_errors(tmp_path):
    with pytest.raises(DatasetError, match="could not download train-images-idx3-ubyte.gz of mnist"):
        fetch("mnist", tmp_path, mirrors=["http://127.0.0.1:9/"], progress=False)
    with pytest.raises(DatasetError, match="missing and download=False"):
        load_mnist(tmp_path, download=False)
    with pytest.raises(ValueError, match="unknown dataset"):
        fetch("cifar", tmp_path)
    with pytest.raises(ValueError, match="binarize must be"):
        load_mnist(tmp_path, binarize="otsu")


def test_data_home_order(monkeypatch, tmp_path):
    monkeypatch.setenv("DEEPBELIEF_DATA", str(tmp_path / "env"))
    assert get_data_home() == tmp_path / "env" and get_data_home(tmp_path) == tmp_path
    monkeypatch.delenv("DEEPBELIEF_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert get_data_home() == tmp_path / "cache" / "deepbelief"


@needs_shared
@pytest.mark.slow
def test_mnist_from_the_shared_folder():
    (X, y), (X_test, y_test) = load_mnist(SHARED)
    assert X.shape == (60000, 784) and X_test.shape == (10000, 784) and X.dtype == np.float32
    assert X.min() == 0 and X.max() == 1
    # label counts of the original release (../shared/data/mnist/README.md)
    assert np.bincount(y).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    (B, _), _ = load_mnist(SHARED, binarize="stochastic", random_state=0)
    (B2, _), _ = load_mnist(SHARED, binarize="stochastic", random_state=0)
    assert set(np.unique(B)) == {0, 1} and np.array_equal(B, B2)
    assert abs(B.mean() - X.mean()) < 1e-3
    (T, _), _ = load_mnist(SHARED, binarize="threshold")
    np.testing.assert_array_equal(T, X > 0.5)
    (F, f), _ = datasets.load_fashion_mnist(SHARED)
    assert F.shape == (60000, 784) and np.bincount(f).tolist() == [6000] * 10


@needs_shared
def test_the_real_checksums_accept_the_files_served_locally(server, tmp_path):
    url, served = server
    for name in datasets.FILES:
        (served / name).write_bytes((SHARED / "mnist" / name).read_bytes())
    contents = fetch("mnist", tmp_path, mirrors=[url], progress=False)
    assert parse_idx(contents["t10k-labels-idx1-ubyte.gz"]).shape == (10000,)
