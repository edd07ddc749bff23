"""One GBDT peer of `npm run bench -- ml`: fits LightGBM, XGBoost or scikit-learn's
HistGradientBoosting on the rows Kerf trained on, scores the rows Kerf was tested on, and prints one
JSON line: the library's version, the test metric, fit seconds and the process's peak RSS.

    python gbdt.py CASE.json lightgbm|xgboost|sklearn

CASE.json (written by bench/ml.ts): {"train": file, "train_rows": n, "test": file, "test_rows": n,
"target": name, "task": "regression"|"binary", "features": [names], "categorical": [names],
"iterations": n, "learning_rate": x, "max_leaves": n, "threads": n}. The files are Arrow IPC (bench/peerData.ts):
the features encoded as Kerf's trainers see them (categories as codes, NaN for missing) and the
target. Each peer gets the same budget and is told which features are categories; everything else
is the library's default, as a user would start.
"""

import importlib
import json
import resource
import sys
import time

import numpy as np
import pyarrow as pa


def read_matrix(path, rows, features, target):
    """The features as one C-ordered float64 matrix and the target, copied a record batch at a time
    so the file's bytes and the matrix are never both held whole."""
    reader = pa.ipc.open_file(pa.OSFile(path, "rb"))
    x = np.empty((rows, len(features)), dtype=np.float64)
    y = np.empty(rows, dtype=np.float64)
    start = 0
    for i in range(reader.num_record_batches):
        batch = reader.get_batch(i)
        end = start + batch.num_rows
        for j, name in enumerate(features):
            x[start:end, j] = batch.column(name).to_numpy()
        y[start:end] = batch.column(target).to_numpy()
        start = end
    return x, y


def fit_lightgbm(case, x, y, categorical):
    import lightgbm

    params = {
        "objective": "regression" if case["task"] == "regression" else "binary",
        "learning_rate": case["learning_rate"],
        "num_leaves": case["max_leaves"],
        "num_threads": case["threads"],
        "verbose": -1,
    }
    data = lightgbm.Dataset(x, y, categorical_feature=categorical, free_raw_data=True)
    booster = lightgbm.train(params, data, num_boost_round=case["iterations"])
    return (lambda test: booster.predict(test)), lightgbm.__version__


def fit_xgboost(case, x, y, categorical):
    import xgboost

    types = ["c" if j in categorical else "q" for j in range(x.shape[1])]
    params = {
        "objective": "reg:squarederror" if case["task"] == "regression" else "binary:logistic",
        "eta": case["learning_rate"],
        # Leaf-wise like Kerf and LightGBM: at most max_leaves leaves, no depth limit.
        "tree_method": "hist",
        "grow_policy": "lossguide",
        "max_leaves": case["max_leaves"],
        "max_depth": 0,
        "nthread": case["threads"],
    }
    data = xgboost.DMatrix(x, y, feature_types=types, enable_categorical=True, nthread=case["threads"])
    booster = xgboost.train(params, data, num_boost_round=case["iterations"])

    def predict(test):
        return booster.predict(xgboost.DMatrix(test, feature_types=types, enable_categorical=True))

    return predict, xgboost.__version__


def fit_sklearn(case, x, y, categorical):
    import sklearn
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    mask = [j in categorical for j in range(x.shape[1])]
    params = {
        "max_iter": case["iterations"],
        "learning_rate": case["learning_rate"],
        "max_leaf_nodes": case["max_leaves"],
        "early_stopping": False,
        "categorical_features": mask if any(mask) else None,
    }
    if case["task"] == "regression":
        model = HistGradientBoostingRegressor(**params).fit(x, y)
        return model.predict, sklearn.__version__
    model = HistGradientBoostingClassifier(**params).fit(x, y)
    return (lambda test: model.predict_proba(test)[:, 1]), sklearn.__version__


def fit_lightgbm_codes(case, x, y, categorical):
    """LightGBM with each category as a plain number, its label's rank in alphabetical order (as
    pandas' category codes give it): no categorical handling, so a split's side holds categories
    that happen to be neighbours in the alphabet."""
    return fit_lightgbm(case, alphabetical_codes(case, x, categorical), y, [])


def alphabetical_codes(case, x, categorical):
    """The matrix with each categorical column's codes (Kerf's order) replaced by their labels'
    alphabetical ranks; missing values stay NaN."""
    recoded = x.copy()
    for j in categorical:
        labels = case["category_labels"][case["features"][j]]
        rank = {label: r for r, label in enumerate(sorted(labels))}
        by_code = np.array([rank[label] for label in labels], dtype=np.float64)
        column = x[:, j]
        present = ~np.isnan(column)
        recoded[present, j] = by_code[column[present].astype(np.int64)]
    return recoded


PEERS = {
    "lightgbm": fit_lightgbm,
    "xgboost": fit_xgboost,
    "sklearn": fit_sklearn,
    "lightgbm_codes": fit_lightgbm_codes,
}
# The module each peer's fit imports: imported before the clock starts, as Kerf's trainer is loaded
# before its fit is timed (importing one takes longer than fitting steel-energy).
PEER_MODULES = {
    "lightgbm": "lightgbm",
    "xgboost": "xgboost",
    "sklearn": "sklearn.ensemble",
    "lightgbm_codes": "lightgbm",
}


def auc(y, score):
    """Area under the ROC curve with tied scores at their average rank (as Kerf's metrics do)."""
    order = np.argsort(score, kind="mergesort")
    sorted_score = score[order]
    sorted_y = y[order]
    _, first, counts = np.unique(sorted_score, return_index=True, return_counts=True)
    ranks = np.repeat(first + (counts + 1) / 2, counts)
    positive = sorted_y == 1
    positives = positive.sum()
    negatives = len(y) - positives
    return float((ranks[positive].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def log_loss(y, p):
    """Mean negative log-likelihood, probabilities clipped at 1e-15 as Kerf's metrics do."""
    q = np.where(y == 1, p, 1 - p)
    return float(np.mean(-np.log(np.clip(q, 1e-15, 1))))


def main():
    case_file, peer = sys.argv[1], sys.argv[2]
    with open(case_file, encoding="utf-8") as source:
        case = json.load(source)
    features = case["features"]
    categorical = [features.index(name) for name in case["categorical"]]
    # Both splits are held from the start, as Kerf's bench holds them.
    x, y = read_matrix(case["train"], case["train_rows"], features, case["target"])
    test_x, test_y = read_matrix(case["test"], case["test_rows"], features, case["target"])
    importlib.import_module(PEER_MODULES[peer])
    started = time.perf_counter()
    predict, version = PEERS[peer](case, x, y, categorical)
    fit_seconds = time.perf_counter() - started
    if peer == "lightgbm_codes":
        test_x = alphabetical_codes(case, test_x, categorical)
    predicted = np.asarray(predict(test_x), dtype=np.float64)
    if case["task"] == "regression":
        quality = {"rmse": float(np.sqrt(np.mean((predicted - test_y) ** 2)))}
    else:
        quality = {"auc": auc(test_y, predicted), "log_loss": log_loss(test_y, predicted)}
    line = {
        "peer": peer,
        "version": version,
        **quality,
        "fit_s": fit_seconds,
        # ru_maxrss is in KiB on Linux.
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    print(json.dumps(line))


if __name__ == "__main__":
    main()
