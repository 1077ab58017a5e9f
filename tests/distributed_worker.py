"""One rank of tests/test_distributed.py's multi-process runs (not a test file itself):

    mpiexec -n 2 python tests/distributed_worker.py MODE NPROCS [OUT_DIR]

MODE ``train`` trains the spiral MLP data-parallel and saves each rank's weights to OUT_DIR;
``fail`` raises on rank 1 while rank 0 waits in a barrier; ``mismatch`` builds a different
model on rank 1. The spiral setup is shared with the test's one-process reference (``spiral_setup``).
"""
import os
import sys

import numpy as np

import zerograd.functions as F
from zerograd import DataLoader, no_grad
from zerograd.datasets import Spiral
from zerograd.models import MLP
from zerograd.optimizers import SGD

BATCH, EPOCHS, LOADER_SEED, SCATTER_SEED = 15, 3, 1, 0


def spiral_setup(init_seed, hidden=10):
    """The spiral data in float64, and an MLP((hidden, 3)) created from ``init_seed``, in float64."""
    data = Spiral()  # (reseeds NumPy's global generator: the model is drawn after it)
    data.data = data.data.astype(np.float64)
    np.random.seed(init_seed)
    model = MLP((hidden, 3))
    with no_grad():
        model(data.data[:1])
    for p in model.params():
        p.data = p.data.astype(np.float64)
    return data, model


def train(model, loader, optimizer):
    for _ in range(EPOCHS):
        for x, t in loader:
            loss = F.softmax_cross_entropy(model(x), t)
            model.cleargrads()
            loss.backward()
            optimizer.update()


def main(mode, nprocs, out=None):
    from zerograd import distributed

    comm = distributed.create_communicator()
    if comm.size != nprocs:
        print(f"WRONG-MPI: this mpiexec started ranks of size {comm.size}, not {nprocs}", flush=True)
        return 3
    with distributed.abort_on_error(comm):
        if mode == "train":
            data, model = spiral_setup(100 + comm.rank)  # (different on each rank: the broadcast fixes it)
            distributed.broadcast_initial_parameters(model, comm)
            shard = distributed.scatter_dataset(data, comm, shuffle=True, seed=SCATTER_SEED)
            optimizer = distributed.create_multi_node_optimizer(SGD(lr=1.0), comm).setup(model)
            train(model, DataLoader(shard, BATCH, seed=LOADER_SEED), optimizer)
            # lazy parameters, never broadcast by hand: the first update synchronises them
            np.random.seed(200 + comm.rank)
            lazy = MLP((10, 3))
            lazy_opt = distributed.create_multi_node_optimizer(SGD(lr=1.0), comm).setup(lazy)
            train(lazy, DataLoader(shard, BATCH, seed=LOADER_SEED), lazy_opt)
            np.savez(os.path.join(out, f"rank{comm.rank}.npz"),
                     **{k: v.data for k, v in model.named_params()},
                     **{"lazy/" + k: v.data for k, v in lazy.named_params()})
        elif mode == "fail":
            if comm.rank == 1:
                raise ValueError("rank one failed on purpose")
            comm.barrier()  # (would wait forever for rank 1 without the abort)
        elif mode == "mismatch":
            _, model = spiral_setup(0, hidden=10 + comm.rank)
            optimizer = distributed.create_multi_node_optimizer(SGD(lr=1.0), comm).setup(model)
            loss = F.sum(model(np.ones((2, 2))))
            loss.backward()
            optimizer.update()
        else:
            raise ValueError(f"unknown mode {mode!r}")
    print(f"OK rank {comm.rank}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]), *sys.argv[3:]))
