"""implicit's ALS on the splits bench/models/export-splits.ts wrote: hyperparameters chosen by
NDCG@10 on the validation split carved out of train, then refitted on train and scored once on
test, with the same NDCG@10 as Cairn's (binary relevance, the user's train items excluded, the
ideal DCG over min(|test|, 10) hits, users averaged).

Run: python implicit_ndcg.py DIR   (in the throwaway venv with implicit; OPENBLAS_NUM_THREADS=1)
"""

import itertools
import math
import sys

import numpy as np
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares

K = 10
GRID = {
    "factors": [128, 256],
    "regularization": [10.0, 30.0, 100.0],
    "alpha": [1.0, 3.0, 10.0, 30.0],
    "iterations": [15],
}


def read_pairs(path: str) -> np.ndarray:
    return np.loadtxt(path, dtype=np.int64, delimiter="\t", ndmin=2)


def matrix(pairs: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    data = np.ones(len(pairs), dtype=np.float32)
    m = sp.csr_matrix((data, (pairs[:, 0], pairs[:, 1])), shape=shape)
    m.data[:] = 1.0
    return m


def ndcg(model: AlternatingLeastSquares, train: sp.csr_matrix, held_out: np.ndarray) -> float:
    relevant: dict[int, set[int]] = {}
    for user, item in held_out:
        relevant.setdefault(int(user), set()).add(int(item))
    users = np.array(sorted(relevant), dtype=np.int64)
    ids, _ = model.recommend(users, train[users], N=K, filter_already_liked_items=True)
    total = 0.0
    for user, ranked in zip(users, ids):
        hits = relevant[int(user)]
        dcg = sum(1 / math.log2(r + 2) for r, item in enumerate(ranked) if int(item) in hits)
        idcg = sum(1 / math.log2(r + 2) for r in range(min(len(hits), K)))
        total += dcg / idcg
    return total / len(users)


def fitted(params: dict, train: sp.csr_matrix) -> AlternatingLeastSquares:
    model = AlternatingLeastSquares(**params, num_threads=2, random_state=42, calculate_training_loss=False)
    model.fit(train, show_progress=False)
    return model


def main() -> None:
    directory = sys.argv[1]
    users, items = (int(n) for n in open(f"{directory}/shape.tsv").read().split())
    shape = (users, items)
    for protocol in ("stratified", "temporal"):
        base = f"{directory}/{protocol}"
        validation_train = matrix(read_pairs(f"{base}/validation-train.tsv"), shape)
        validation = read_pairs(f"{base}/validation.tsv")
        best = None
        for values in itertools.product(*GRID.values()):
            params = dict(zip(GRID, values))
            score = ndcg(fitted(params, validation_train), validation_train, validation)
            if best is None or score > best[0]:
                best = (score, params)
        score, params = best
        train = matrix(read_pairs(f"{base}/train.tsv"), shape)
        test = ndcg(fitted(params, train), train, read_pairs(f"{base}/test.tsv"))
        print(f"{protocol}: implicit ALS chose {params} (validation ndcg@{K} {score:.4f}), test ndcg@{K} {test:.4f}")


main()
