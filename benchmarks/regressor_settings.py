"""DBNRegressor settings side by side on the regression tables of benchmarks/defaults.py (its folds and splits)
plus scikit-learn's diabetes: 3-fold R^2 on the raw table / behind a StandardScaler, one column per setting.

    python benchmarks/regressor_settings.py "{}" "{'learning_rate': 1e-2}" "{'learning_rate': 1e-2, 'pretrain': False}"
"""
import ast
import sys
from pathlib import Path

from sklearn.datasets import load_diabetes

sys.path.insert(0, str(Path(__file__).parent))
from defaults import evaluate, preprocessed, tables  # noqa: E402

from deepbelief import DBNRegressor  # noqa: E402


def main():
    settings = [ast.literal_eval(text) for text in sys.argv[1:]] or [{}]
    rows = [(name, X, y) for name, X, y, task in tables(quick=True) if task == "regress"]
    rows.append(("diabetes", *load_diabetes(return_X_y=True)))
    print("| table | " + " | ".join(str(s) for s in settings) + " |")
    print("| --- |" + " --- |" * len(settings))
    for name, X, y in rows:
        cells = []
        for setting in settings:
            scores = [evaluate(preprocessed(DBNRegressor(random_state=0, **setting), how), X, y, "regress", 3)[0]
                      for how in ("raw", "standard")]
            cells.append(" / ".join(f"{score:.3f}" for score in scores))
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
