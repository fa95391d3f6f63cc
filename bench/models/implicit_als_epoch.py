"""Seconds per epoch of implicit's ALS (Cython over BLAS, conjugate gradient) on a CSR matrix that
bench/models/ials-vs-implicit.ts exported: <dir>/indptr.i32 and <dir>/indices.i32, users x items.

Run: python implicit_als_epoch.py DIR USERS ITEMS [factors] [iterations] [threads]
(in a throwaway venv with `pip install implicit`: implicit is not a dependency of Cairn), with
OPENBLAS_NUM_THREADS=1 as implicit asks: it runs its own threads.
"""

import sys
import time

import numpy as np
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares


def main() -> None:
    directory, users, items = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    factors = int(sys.argv[4]) if len(sys.argv) > 4 else 64
    iterations = int(sys.argv[5]) if len(sys.argv) > 5 else 3
    threads = int(sys.argv[6]) if len(sys.argv) > 6 else 2
    indptr = np.fromfile(f"{directory}/indptr.i32", dtype=np.int32)
    indices = np.fromfile(f"{directory}/indices.i32", dtype=np.int32)
    data = np.ones(len(indices), dtype=np.float32)
    user_items = sp.csr_matrix((data, indices, indptr), shape=(users, items))
    epochs: list[float] = []
    model = AlternatingLeastSquares(
        factors=factors,
        regularization=10.0,
        alpha=20.0,
        iterations=iterations,
        use_cg=True,
        num_threads=threads,
        calculate_training_loss=False,
        random_state=1,
    )
    started = time.time()
    model.fit(user_items, show_progress=False, callback=lambda _i, seconds, _loss: epochs.append(seconds))
    total = time.time() - started
    per_epoch = ", ".join(f"{s:.2f}" for s in epochs)
    print(
        f"implicit {__import__('implicit').__version__} ALS (CG) k={factors}, {threads} threads: "
        f"{user_items.nnz} pairs, epochs {per_epoch} s, fit {total:.2f} s, "
        f"median {sorted(epochs)[len(epochs) // 2]:.2f} s per epoch"
    )


main()
