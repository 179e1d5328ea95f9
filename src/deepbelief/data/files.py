"""Reading data for the command line: dataset names, CSV, .npy / .npz and IDX files, with errors that say where."""
import csv
import difflib
import gzip
import zipfile
from pathlib import Path

import numpy as np

from .datasets import DatasetError, load_fashion_mnist, load_mnist, parse_idx

DATASET_NAMES = ("digits", "mnist", "fashion-mnist")


class DataError(ValueError):
    """Input data that cannot be used, with a message naming the file, row and column."""


# CSV fields that mean "no value": models need complete rows, so these are reported with the remedy.
MISSING = frozenset({"", "na", "n/a", "nan", "?", "null", "none"})
IMPUTE = ("the models need complete rows: fill them in (e.g. sklearn.impute.SimpleImputer) or drop those rows")


def _number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


def read_dataset(name):
    """(X, y, image_shape) of a named dataset (the training split for MNIST and Fashion-MNIST)."""
    if name == "digits":
        from sklearn.datasets import load_digits
        data = load_digits()
        return (data.data / 16.0).astype(np.float32), data.target, (8, 8)
    loader = {"mnist": load_mnist, "fashion-mnist": load_fashion_mnist}[name]
    try:
        (X, y), _ = loader()
    except DatasetError as exc:
        raise DataError(str(exc)) from None
    return X, y, (28, 28)


def read_csv(path):
    """(column names or None, rows of strings) of a CSV file; a first row with no number is a header."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:  # utf-8-sig: a byte-order mark is not data
            rows = [(number, row) for number, row in enumerate(csv.reader(f), 1) if any(c.strip() for c in row)]
    except UnicodeDecodeError:
        raise DataError(f"{path} is not a text CSV file") from None
    except csv.Error as exc:
        raise DataError(f"{path} is not a readable CSV file: {exc}") from None
    if not rows:
        raise DataError(f"{path} is empty")
    header = _header(rows[0][1])
    if header is not None:
        rows = rows[1:]
        if not rows:
            raise DataError(f"{path} has a header but no data rows")
    width = len(header) if header else len(rows[0][1])
    for number, row in rows:
        if len(row) != width:
            raise DataError(f"{path}, line {number}: {len(row)} columns, but the file has {width}")
    return header, rows


def _header(row):
    """The column names when the first row ``row`` has no number (it is a header), else None."""
    return None if any(_number(c) for c in row) else [c.strip() for c in row]


def _is_idx(path):
    return path.suffix.lower() in (".gz", ".idx") or "-idx" in path.name or "ubyte" in path.name


def table_columns(path):
    """The column names of a CSV file's header, from its first row only; None for a CSV without one and for
    other files."""
    path = Path(path)
    if not path.is_file() or path.suffix.lower() in (".npy", ".npz") or _is_idx(path):
        return None
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            first = next((row for row in csv.reader(f) if any(c.strip() for c in row)), None)
    except (UnicodeDecodeError, csv.Error):
        return read_csv(path)[0]  # which says what is wrong with the file
    return None if first is None else _header(first)


def _column_index(target, header, width, path):
    if target is None:
        return width - 1
    if header is not None and target in header:
        return header.index(target)
    try:
        index = int(target)
    except ValueError:
        close = difflib.get_close_matches(target, header or [], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        names = f" Its columns are {', '.join(header[:20])}{', ...' if len(header) > 20 else ''}" if header else \
            " (it has no header)"
        raise DataError(f"target column {target!r} not found in {path}{hint}{names}") from None
    if not -width <= index < width:
        raise DataError(f"target column {index} is out of range for {path}, which has {width} columns")
    return index % width


def read_table(path, target=None, with_target=True):
    """(X float32, y or None, feature names or None) from a CSV, .npy or .npz file.

    ``target``: the target column's name or index (default: the last column) when ``with_target``. CSV targets stay
    strings unless every value is a number; .npz files hold arrays 'X' and optionally 'y'.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"no such file: {path}")
    if path.is_dir():
        raise DataError(f"{path} is a folder; give a data file (CSV, .npy, .npz or IDX) or a dataset name")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as data:
                if "X" not in data:
                    raise DataError(f"{path} has no array named 'X' (it has {', '.join(data.files)})")
                X, y = data["X"], data["y"] if "y" in data else None
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise DataError(f"{path} is not a readable .npz file (truncated or damaged?): {exc}") from None
        return _as_features(X, path), (_as_target(y, path) if with_target else None), None
    if suffix == ".npy":
        try:
            array = np.load(path, allow_pickle=False, mmap_mode="r")
        except (OSError, ValueError) as exc:
            raise DataError(f"{path} is not a readable .npy file: {exc}") from None
        if array.ndim != 2:
            raise DataError(f"{path} holds an array of shape {array.shape}; expected rows x columns")
        if not with_target:
            return _as_features(array, path), None, None
        index = _column_index(target, None, array.shape[1], path)
        keep = [i for i in range(array.shape[1]) if i != index]
        return _as_features(array[:, keep], path), _as_target(np.asarray(array[:, index]), path), None
    if _is_idx(path):
        return read_idx(path), None, None
    header, rows = read_csv(path)
    width = len(rows[0][1])
    index = _column_index(target, header, width, path) if with_target else None
    features = [i for i in range(width) if i != index]
    X = np.empty((len(rows), len(features)), np.float32)
    missing = []  # (line, column index) of every field that says "no value"
    for r, (number, row) in enumerate(rows):
        for c, i in enumerate(features):
            try:
                X[r, c] = float(row[i])
            except ValueError:
                if row[i].strip().lower() in MISSING:
                    missing.append((number, i))
                    continue
                column = header[i] if header else str(i + 1)
                raise DataError(f"{path}, line {number}, column {column}: {row[i]!r} is not a number") from None
    if missing:
        columns = sorted({i for _, i in missing})
        named = ", ".join(header[i] if header else str(i + 1) for i in columns[:10])
        raise DataError(f"{path} has {len(missing)} missing values (empty, NA, ? or similar) in column(s) {named}, "
                        f"the first at line {missing[0][0]}; {IMPUTE}")
    if not np.isfinite(X).all():
        r, c = np.argwhere(~np.isfinite(X))[0]
        raise DataError(f"{path}, line {rows[r][0]}: a missing or infinite value in column "
                        f"{header[features[c]] if header else features[c] + 1}")
    y = None
    if index is not None:
        values = [row[index].strip() for _, row in rows]
        y = np.array(values)
        if all(_number(v) for v in values):
            numbers = np.array(values, dtype=np.float64)
            y = numbers.astype(np.int64) if np.all(numbers == np.round(numbers)) else numbers
    names = [header[i] for i in features] if header else None
    return X, y, names


def read_idx(path):
    """An IDX image (or any array) file, gzip or raw, as float32 rows; uint8 images are divided by 255."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} is a folder, not an IDX file" if path.is_dir() else f"no such file: {path}")
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise DataError(f"{path} is not a readable gzip file: {exc}") from None
    try:
        array = parse_idx(data)
    except DatasetError as exc:
        raise DataError(f"{path}: {exc}") from None
    return (array.reshape(len(array), -1) / (255.0 if array.ndim > 1 else 1.0)).astype(np.float32)


def _as_features(array, path):
    if np.iscomplexobj(array):  # float32 would silently drop the imaginary parts
        raise DataError(f"{path} holds complex numbers; give the real and imaginary parts (or magnitude and phase) "
                        "as separate columns")
    try:
        X = np.asarray(array, dtype=np.float32)
    except (TypeError, ValueError):
        raise DataError(f"{path} does not hold numbers") from None
    if X.ndim != 2:
        raise DataError(f"{path} holds an array of shape {X.shape}; expected rows x columns")
    bad = ~np.isfinite(X)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise DataError(f"{path} has {int(bad.sum())} missing (NaN) or infinite values, the first at row {r}, "
                        f"column {c}; {IMPUTE}")
    return X


def _as_target(y, path):
    """A target column from an array file: complex and missing values are refused with the remedy."""
    if y is None:
        return None
    if np.iscomplexobj(y):
        raise DataError(f"the target column of {path} holds complex numbers; targets are labels or real values")
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise DataError(f"the target column of {path} has {int((~np.isfinite(y)).sum())} missing (NaN) or infinite "
                        f"values, the first at row {int(np.argwhere(~np.isfinite(y))[0][0])}; {IMPUTE}")
    return y
