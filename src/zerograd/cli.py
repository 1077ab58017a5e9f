"""The ``zerograd`` command (also ``python -m zerograd``).

    zerograd train            train an MLP on the spiral data (seconds) and draw its plots
    zerograd train --dataset mnist --model cnn --epochs 3
    zerograd train --resume   continue a run exactly where it stopped (--overwrite: replace it)
    zerograd graph            write the computational graph of a small model
    zerograd export RUN       write a trained run as an ONNX model (RUN/model.onnx)
    zerograd demo             the engine at work: the seed's rule, higher-order derivatives
    zerograd book PROGRAM.py  run a program written for DeZero (import dezero) on zerograd

Errors (bad options, a missing dataset, a folder that cannot be written) are one line on
standard error and a non-zero exit status.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from typing import Any, NoReturn, Optional, Sequence, cast


class CLIError(Exception):
    """An error to report as one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not usage plus message
        raise CLIError(f"{message} (see '{self.prog} --help')")


def _writable_folder(path: str) -> str:
    if not path:
        raise CLIError("--out is empty: name a folder")
    if os.path.exists(path) and not os.path.isdir(path):
        raise CLIError(f"--out {path!r} is a file, not a folder")
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as e:
        raise CLIError(f"cannot write to the output folder {path!r}: {e.strerror or e}") from None
    return path


def _demo() -> int:
    import numpy as np

    import zerograd.functions as F
    from zerograd import Variable

    print("zerograd demo: define-by-run automatic differentiation\n")
    x = Variable(np.array(3.0))
    y = x + x
    y.backward()
    print(f"y = x + x at x = 3:            dy/dx = {x.grad}   (a variable used twice sums its gradients)")
    a = Variable(np.array(1.0))
    b = Variable(np.array(1.0))
    z = (1 + (a + b + 1) ** 2 * (19 - 14 * a + 3 * a ** 2 - 14 * b + 6 * a * b + 3 * b ** 2)) * (
        30 + (2 * a - 3 * b) ** 2 * (18 - 32 * a + 12 * a ** 2 + 48 * b - 36 * a * b + 27 * b ** 2))
    z.backward()
    assert a.grad is not None and b.grad is not None
    print(f"Goldstein-Price at (1, 1):     gradient = ({a.grad.item():.0f}, {b.grad.item():.0f})")
    t = Variable(np.array(1.0))
    y = F.tanh(t)
    y.backward(create_graph=True)
    assert t.grad is not None
    derivatives = [t.grad.item()]
    for _ in range(5):
        gx = t.grad
        t.cleargrad()
        gx.backward(create_graph=True)
        derivatives.append(t.grad.item())
    print("tanh derivatives 1..6 at x=1: " + ", ".join(f"{d:.4f}" for d in derivatives))
    return 0


PLOTS = ("learning_curve.png", "decision_boundary.png", "prediction.png")


def _run_files(out: str) -> list[str]:
    from zerograd.training import Trainer

    return [name for name in Trainer.FILES + PLOTS if os.path.exists(os.path.join(out, name))]


def _set_threads(n: Optional[int]) -> None:
    """Limit the BLAS threads (threadpoolctl's limit lasts for the process)."""
    if n is None:
        return
    if n < 1:
        raise CLIError(f"--threads must be at least 1, got {n}")
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        raise CLIError("--threads needs threadpoolctl: pip install threadpoolctl (or set OMP_NUM_THREADS="
                       f"{n} before starting zerograd)") from None
    global _thread_limit
    _thread_limit = threadpool_limits(limits=n, user_api="blas")


_thread_limit = None


def _train(args: argparse.Namespace) -> int:
    import numpy as np

    from zerograd.backend import keep_freed_memory

    from zerograd.training import ConfigError, Trainer, TrainConfig, TrainingInterrupted, build_task

    from zerograd.training import TrainingDiverged

    comm = _communicator(args)
    out = args.out
    created = not os.path.exists(out)
    config_path = os.path.join(out, "config.json")
    options = ("dataset", "model", "batch_size", "lr", "optimizer", "seed", "hidden", "bptt")
    if args.resume and args.overwrite:
        raise CLIError("--resume continues the run in --out and --overwrite replaces it: choose one")
    if args.log_every is not None and args.log_every < 1:
        raise CLIError(f"--log-every must be at least 1, got {args.log_every}")
    try:
        if args.resume:
            if not os.path.exists(config_path):
                others = _run_files(out) if os.path.isdir(out) else []
                raise CLIError(f"--resume: no earlier run in {out!r} (config.json is missing)"
                               + ("; start again with --overwrite" if others else "; run without --resume first"))
            config = TrainConfig.load(config_path)
            for key in options:  # options given again must agree with the run; --epochs may grow
                value = getattr(args, key)
                if value is not None and getattr(config, key) != value:
                    raise CLIError(f"--resume: --{key.replace('_', '-')} {value} differs from the run in {out!r} "
                                   f"({getattr(config, key)}); resume with the same options")
            if args.epochs is not None:
                config.epochs = args.epochs
        elif args.bptt is not None and not (args.dataset == "sincurve" and args.model == "lstm"):
            raise CLIError("--bptt applies to --dataset sincurve --model lstm only")
        else:
            given = {key: getattr(args, key) for key in options if getattr(args, key) is not None}
            config = TrainConfig(epochs=args.epochs, **given)
        config = config.resolved()
    except ConfigError as e:
        raise CLIError(str(e)) from None
    if comm is not None:  # every rank must run the same run (other options would leave one waiting)
        mine = (sorted(vars(config).items()), out, args.resume, args.overwrite, args.compile)
        theirs = comm.allgather_object(mine)
        if any(other != theirs[0] for other in theirs):
            rank = next(r for r, other in enumerate(theirs) if other != theirs[0])
            raise CLIError(f"rank {rank} was started with other options than rank 0: start every process of "
                           "mpiexec with the same command")

    def check_folder() -> None:
        if not args.resume:
            existing = _run_files(out) if os.path.isdir(out) else []
            if existing and not args.overwrite:
                raise CLIError(f"{out!r} holds another run ({', '.join(existing)}); pass --resume to continue it, "
                               "--overwrite to replace it, or choose another --out")
        _writable_folder(out)
    _everywhere(comm, lambda: check_folder() if comm is None or comm.rank == 0 else None)  # (the folder is rank 0's)
    _set_threads(args.threads)
    keep_freed_memory()
    writes = comm is None or comm.rank == 0
    started = False

    def setup() -> Any:
        """The task and trainer (resumed or fresh); 0 when a resumed run has nothing to do."""
        np.random.seed(config.seed)
        task = build_task(config)
        task.compile = args.compile
        try:
            trainer = Trainer(task, out, progress=None if args.progress else False, log_every=args.log_every,
                              comm=comm)
        except ValueError as e:  # options the data cannot serve (a batch longer than the sequence)
            raise CLIError(str(e)) from None
        if args.resume:
            trainer.resume()
            if trainer.epoch >= cast(int, config.epochs):  # (resolved: set)
                if args.epochs is not None and args.epochs < trainer.epoch:
                    raise CLIError(f"--epochs {args.epochs} is fewer than the {trainer.epoch} epochs the run in "
                                   f"{out!r} has done")
                missing = [p for p in _plot_names(task) if not os.path.exists(os.path.join(out, p))]
                if missing and writes:  # a run whose plots were cut short: draw them now
                    _plots(task, trainer.history, out, f"{config.model.upper()} on {config.dataset}")
                    print(f"drew {', '.join(missing)} in {out}")
                print(f"nothing to do: the run in {out} already has {trainer.epoch} epochs (pass a larger --epochs "
                      "to go on)")
                return 0
            print(f"resuming from epoch {trainer.epoch} of {config.epochs}")
        elif writes:
            for name in _run_files(out):  # --overwrite: nothing of the old run stays beside the new one
                os.unlink(os.path.join(out, name))
        trainer.write_config()  # before training, with the (possibly raised) epoch count
        return task, trainer

    try:
        made = _everywhere(comm, setup)  # (distributed: every rank learns whether every rank could start)
        if made == 0:
            return 0
        task, trainer = made
        started = True
    finally:
        if not started and writes and created and os.path.isdir(out) and not os.listdir(out):
            os.rmdir(out)  # a failed start leaves no empty folder
    name = f"{config.model.upper()} on {config.dataset}"
    print(f"training {name}: {config.epochs} epoch{'s' if config.epochs != 1 else ''}, batch {config.batch_size}, {config.optimizer} lr {config.lr}, "
          f"hidden {config.hidden}, seed {config.seed}")
    resume_command = f"zerograd train --out {out} --resume" if comm is None else \
        f"mpiexec -n {comm.size} zerograd train --distributed --out {out} --resume"
    try:
        history = _run_everywhere(comm, trainer)
    except TrainingDiverged as e:
        print(f"zerograd: error: {e}", file=sys.stderr)
        return 1
    except TrainingInterrupted as e:
        if not writes:  # (rank 0 reports and keeps the files; then every rank ends: see _end_interrupted)
            _end_interrupted(comm)
        if e.saved_epoch is None:
            print(f"interrupted during epoch {e.epoch + 1}: no epoch was complete, nothing saved", file=sys.stderr)
            if not args.resume:
                for leftover in _run_files(out):
                    os.unlink(os.path.join(out, leftover))
                if created and not os.listdir(out):
                    os.rmdir(out)
        else:
            print(f"interrupted during epoch {e.epoch + 1}: saved epoch {e.saved_epoch} in "
                  f"{os.path.join(out, 'checkpoint.npz')}; continue with: {resume_command}", file=sys.stderr)
        if comm is not None:
            _end_interrupted(comm)
        return 130
    if not writes:
        return 0
    written = ["metrics.csv", "best.npz", "checkpoint.npz", "config.json"]
    try:
        written += _plots(task, history, out, name)
    except ImportError as e:
        print(f"plots skipped: {e}")
    except KeyboardInterrupt:
        print(f"interrupted while drawing the plots: training is complete and saved; draw them with: "
              f"{resume_command}", file=sys.stderr)
        return 130
    last = history[-1]
    summary = f"test loss {last['test_loss']:.4f}"
    if last.get("test_accuracy") is not None:
        summary += f", test accuracy {last['test_accuracy']:.4f}"
    print(f"done: {summary}. Wrote {', '.join(written)} to {out}")
    return 0


def _plot_names(task) -> list[str]:
    """The pictures a finished run of ``task`` has."""
    from zerograd.training import SequenceTask

    return ["learning_curve.png"] + (["decision_boundary.png"] if task.config.dataset == "spiral" else
                                     ["prediction.png"] if isinstance(task, SequenceTask) else [])


def _plots(task, history: list, out: str, name: str) -> list[str]:
    """Draw the run's pictures (:func:`_plot_names`): the learning curve, and the decision boundary
    or the predicted curve."""
    from zerograd import plotting

    names = _plot_names(task)
    for picture in names:
        path = os.path.join(out, picture)
        if picture == "learning_curve.png":
            plotting.learning_curve(history, path, title=name)
        elif picture == "decision_boundary.png":
            data = task.train_set
            plotting.decision_boundary(task.model, data.data, data.label, path, title=name)
        else:
            target, predicted = task.predict_sequence()
            plotting.curve_prediction(target, predicted, path, title=f"{name}: one-step predictions of the test curve")
    return names


def _export(args: argparse.Namespace) -> int:
    """Export a trained run's best weights: ``zerograd export RUN_DIR --format onnx``."""
    import numpy as np

    from zerograd.models import Model
    from zerograd.training import SequenceTask

    try:
        from zerograd import onnx as zonnx
    except ImportError as e:
        raise CLIError(str(e)) from None
    config, task = _load_run(args.run_dir)
    if isinstance(task, SequenceTask):  # the LSTM unrolled over --steps inputs: (batch, steps) -> (batch, 1)
        class Unrolled(Model):
            def __init__(self, step: Model) -> None:
                super().__init__()
                self.step = step

            def forward(self, xs):
                self.step.reset_state()
                y = None
                for t in range(xs.shape[1]):
                    y = self.step(xs[:, t:t + 1])
                return y

        model: Model = Unrolled(task.model)
        example = np.zeros((1, args.steps), dtype=np.float32)
        shapes = f"(batch, {args.steps}), output 'output' (batch, 1)"
    else:
        model = task.model
        x, _ = task.train_set[np.arange(1)]
        example = np.asarray(x)
        shapes = f"(batch, {', '.join(map(str, example.shape[1:]))}), output 'output'"
    out = args.out or os.path.join(args.run_dir, "model.onnx")
    try:
        zonnx.export(model, example, out, opset=args.opset)
    except ValueError as e:  # (ExportError too)
        raise CLIError(f"export: {e}") from None
    print(f"wrote {out}: {config.model.upper()} on {config.dataset}, input 'input' {shapes}, "
          f"opset {args.opset}")
    return 0


#: True in the processes of a distributed run other than rank 0: they print nothing.
_QUIET = False


def _communicator(args: argparse.Namespace) -> Any:
    """``--distributed``: the MPI communicator (None otherwise). Ranks other than 0 print nothing on
    standard output; rank 0 alone writes files (training.Trainer) and prints."""
    if not getattr(args, "distributed", False):
        size = os.environ.get("PMI_SIZE") or os.environ.get("OMPI_COMM_WORLD_SIZE") or "1"
        if size != "1":
            raise CLIError(f"started by mpiexec as {size} processes but without --distributed: they would all "
                           "train the same run into one folder (add --distributed)")
        return None
    from zerograd import distributed

    try:
        comm = distributed.create_communicator()
    except (ImportError, distributed.DistributedError) as e:
        raise CLIError(str(e)) from None
    if comm.rank != 0:
        global _QUIET
        _QUIET = True
        sys.stdout = open(os.devnull, "w")
    return comm


def _everywhere(comm: Any, step: Any) -> Any:
    """``step()`` on every rank; in a distributed run, if it fails on any rank, every rank raises
    the first failure as a CLIError (printed once, by rank 0) instead of some ranks going on alone."""
    if comm is None:
        return step()
    result, error = None, None
    try:
        result = step()
    except CLIError as e:
        error = str(e)
    except Exception as e:  # (the others must hear of it, or they wait in the first collective)
        error = f"{type(e).__name__}: {e}"
    errors = comm.allgather_object(error)
    failed = [(rank, message) for rank, message in enumerate(errors) if message is not None]
    if failed:
        rank, message = failed[0]
        raise CLIError(message if rank == 0 else f"on rank {rank}: {message}")
    return result


def _end_interrupted(comm: Any) -> NoReturn:
    """End every rank of an interrupted distributed run: a rank may be waiting in a collective for
    one that stopped. Rank 0 (which saved the last complete epoch and said so) aborts at once; the
    others give it two seconds to do that first."""
    import time

    if comm.rank != 0:
        time.sleep(2)
    sys.stdout.flush()
    sys.stderr.flush()
    comm.abort(130)
    raise SystemExit(130)  # (abort does not return; a test double's may)


def _run_everywhere(comm: Any, trainer: Any) -> Any:
    """``trainer.run()``; in a distributed run an unexpected error on one rank ends every rank
    (MPI_Abort) instead of leaving the others waiting in a collective."""
    if comm is None:
        return trainer.run()
    from zerograd.distributed import abort_on_error
    from zerograd.training import TrainingDiverged, TrainingInterrupted

    with abort_on_error(comm):
        try:
            return trainer.run()
        except (TrainingDiverged, TrainingInterrupted) as e:  # (every rank sees these alike)
            outcome = e
    raise outcome


def _load_run(run_dir: str) -> tuple:
    """(config, task) of a finished run, its model holding the run's best weights."""
    import numpy as np

    from zerograd.training import ConfigError, TrainConfig, build_task

    config_path = os.path.join(run_dir, "config.json")
    weights = os.path.join(run_dir, "best.npz")
    if not os.path.exists(config_path) or not os.path.exists(weights):
        raise CLIError(f"{run_dir!r} holds no finished run (config.json and best.npz are needed)")
    try:
        config = TrainConfig.load(config_path)
    except ConfigError as e:
        raise CLIError(str(e)) from None
    np.random.seed(config.seed)
    task = build_task(config)
    task.build_lazy_parameters()
    task.model.load_weights(weights)
    return config, task


def _sample(args: argparse.Namespace) -> int:
    """Text from a trained language model: ``zerograd sample RUN_DIR --prompt "ROMEO:"``."""
    import numpy as np

    from zerograd.training import LanguageTask

    if args.tokens < 0 or not args.temperature > 0 or (args.top_k is not None and args.top_k < 1):
        raise CLIError(f"--tokens must be at least 0, --temperature above 0 and --top-k at least 1; got "
                       f"{args.tokens}, {args.temperature} and {args.top_k}")
    if not 0 <= args.seed < 2 ** 32:
        raise CLIError(f"--seed must be an integer from 0 to 2**32-1, got {args.seed}")
    config, task = _load_run(args.run_dir)
    if not isinstance(task, LanguageTask):
        raise CLIError(f"{args.run_dir!r} holds a {config.model} run on {config.dataset}: sample needs a language "
                       "model (zerograd train --dataset shakespeare)")
    np.random.seed(args.seed)
    try:
        print(task.sample(args.prompt, args.tokens, args.temperature, args.top_k))
    except ValueError as e:
        raise CLIError(f"sample: {e}") from None
    return 0


def _graph(args: argparse.Namespace) -> int:
    import shutil

    import numpy as np

    import zerograd.functions as F
    from zerograd.models import MLP
    from zerograd.utils import get_dot_graph, plot_dot_graph

    if args.hidden < 1:
        raise CLIError(f"--hidden must be at least 1, got {args.hidden}")
    out = _writable_folder(args.out)
    np.random.seed(0)
    model = MLP((args.hidden, 3))
    x = np.random.rand(5, 2).astype(np.float32)
    t = np.array([0, 1, 2, 1, 0])
    loss = F.softmax_cross_entropy(model(x), t)
    loss.name = "loss"
    dot_path = os.path.join(out, "graph.dot")
    with open(dot_path, "w") as fh:
        fh.write(get_dot_graph(loss, verbose=True))
    written = [dot_path]
    if args.format != "dot":
        if shutil.which("dot") is None:
            raise CLIError(f"wrote {dot_path}, but {args.format.upper()} needs Graphviz's 'dot' program: install "
                           "Graphviz (apt-get install graphviz, brew install graphviz), or pass --format dot")
        written.append(plot_dot_graph(loss, verbose=True, to_file=os.path.join(out, f"graph.{args.format}")))
    print("wrote " + ", ".join(written))
    return 0


def _default(key: str) -> str:
    """The help text's default for a training option: per dataset, as the defaults table says."""
    from zerograd.training import DEFAULTS, MODEL_DEFAULTS

    values = {ds: d[key] for ds, d in DEFAULTS.items()}
    text = ", ".join(f"{v} for {ds}" for ds, v in values.items())
    extra = "".join(f"; {d[key]} for the {m} model" for m, d in MODEL_DEFAULTS.items() if key in d)
    return f"default: {text}{extra}"


def build_parser() -> argparse.ArgumentParser:
    from zerograd import __version__
    from zerograd.training import DATASETS, MODELS, OPTIMIZERS

    parser = _Parser(prog="zerograd", description="zerograd: a define-by-run deep-learning framework")
    parser.add_argument("--version", action="version", version=f"zerograd {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    sub.add_parser("demo", help="show automatic differentiation at work")
    book = sub.add_parser("book", help="run a program written for DeZero (import dezero) on zerograd",
                          description="Run PROGRAM.py (or -m MODULE) with `import dezero` served by zerograd.")
    book.add_argument("program", nargs=argparse.REMAINDER, help="PROGRAM.py [ARGS...] or -m MODULE [ARGS...]")
    train = sub.add_parser("train", help="train a model, with progress, metrics, checkpoints and plots")
    train.add_argument("--dataset", choices=DATASETS, default=None, help="default: spiral")
    train.add_argument("--model", choices=MODELS, default=None, help="default: the dataset's first (mlp; lstm for sincurve, gpt for shakespeare)")
    train.add_argument("--epochs", type=int, help=_default("epochs"))
    train.add_argument("--batch-size", type=int, help=_default("batch_size"))
    train.add_argument("--lr", type=float, help="learning rate; " + _default("lr"))
    train.add_argument("--optimizer", choices=OPTIMIZERS, help=_default("optimizer"))
    train.add_argument("--seed", type=int, help="seed of NumPy's global generator (0 to 2**32-1); default: 0")
    train.add_argument("--hidden", type=int, help="hidden units; " + _default("hidden"))
    train.add_argument("--bptt", type=int, help="truncated BPTT length (sincurve with lstm); default: 30")
    train.add_argument("--out", default="out", help="output folder; default: out")
    train.add_argument("--resume", action="store_true", help="continue the run saved in --out")
    train.add_argument("--overwrite", action="store_true", help="replace the run already in --out")
    train.add_argument("--threads", type=int, default=None,
                       help="BLAS threads (needs threadpoolctl); default: all cores. 1 is often fastest for small "
                            "models on a busy machine")
    train.add_argument("--distributed", action="store_true",
                       help="data-parallel over MPI: start with mpiexec -n N zerograd train --distributed; each "
                            "process trains on --batch-size examples of every batch of N x --batch-size; "
                            "default: one process")
    train.add_argument("--compile", action="store_true",
                       help="trace the training step once and replay it (zerograd.compile): the same numbers, "
                            "less Python per step; default: eager")
    train.add_argument("--log-every", type=int, default=None, help="print a line every N epochs; default: epochs/10")
    train.add_argument("--no-progress", dest="progress", action="store_false",
                       help="no progress bar (default: a bar on a terminal)")
    export = sub.add_parser("export", help="export a trained run's best weights (ONNX)")
    export.add_argument("run_dir", help="the folder of a finished run (--out of zerograd train)")
    export.add_argument("--format", choices=("onnx",), default="onnx", help="default: onnx")
    export.add_argument("--out", default=None, help="the file to write; default: RUN_DIR/model.onnx")
    export.add_argument("--opset", type=int, default=17, help="ONNX opset; default: 17")
    export.add_argument("--steps", type=int, default=30,
                        help="sequence runs: the steps the LSTM is unrolled over; default: 30")
    sample = sub.add_parser("sample", help="text from a trained language model (a shakespeare run)")
    sample.add_argument("run_dir", help="the folder of a finished run (--out of zerograd train)")
    sample.add_argument("--prompt", default="\n", help="the text to continue; default: a new line")
    sample.add_argument("--tokens", type=int, default=200, help="characters to write; default: 200")
    sample.add_argument("--temperature", type=float, default=0.8,
                        help="below 1 more likely characters, above 1 more surprising ones; default: 0.8")
    sample.add_argument("--top-k", type=int, default=40, help="draw from the k most likely characters; default: 40")
    sample.add_argument("--seed", type=int, default=0, help="seed of the draws (the same seed, the same text); "
                                                           "default: 0")
    graph = sub.add_parser("graph", help="write the computational graph of a small model")
    graph.add_argument("--out", default="out", help="output folder; default: out")
    graph.add_argument("--format", choices=("png", "svg", "dot"), default="png",
                       help="dot writes only graph.dot; png and svg also need Graphviz; default: png")
    graph.add_argument("--hidden", type=int, default=4, help="hidden units of the MLP drawn; default: 4")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    from zerograd.datasets import DatasetUnavailableError
    from zerograd.serialization import CheckpointError

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["book"]:  # everything after it is the program's (argparse would read its options)
        from zerograd.book import run as run_book

        return run_book(argv[1:])
    try:
        args = build_parser().parse_args(argv)
        if args.command == "train":
            if not args.resume:  # (on --resume only the options given are compared with the run's)
                args.dataset = args.dataset or "spiral"
                from zerograd.training import FITS
                args.model = args.model or FITS[args.dataset][0]
            return _train(args)
        if args.command == "graph":
            return _graph(args)
        if args.command == "export":
            return _export(args)
        if args.command == "sample":
            return _sample(args)
        if args.command == "demo":
            return _demo()
        build_parser().print_help()
        return 2
    except CLIError as e:
        if not _QUIET:  # (a distributed run's error is printed once, by rank 0)
            print(f"zerograd: error: {e}", file=sys.stderr)
        return 2
    except DatasetUnavailableError as e:  # several lines: every missing file, where to put them
        print(f"zerograd: error: {e}", file=sys.stderr)
        return 1
    except CheckpointError as e:
        print(f"zerograd: error: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"zerograd: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("zerograd: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader of our output went away (| head): leave quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
