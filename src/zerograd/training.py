"""The training behind ``zerograd train``: tasks that own their loss, metrics, epoch and
evaluation, and a :class:`Trainer` that runs epochs, appends metrics, keeps the best weights and
checkpoints so that ``--resume`` continues exactly.

A checkpoint (:mod:`zerograd.checkpoint`: arrays only, no pickle) holds the model's weights and
buffers, the optimizer's state, NumPy's global random state and the epoch count, with the Trainer's
own extras: the loader's order for the next epoch (``loader/index``) and the best score (``best``).
The state at the end of every epoch is kept in memory; it is written (uncompressed,
atomically) at most every ``save_every`` seconds, after the last epoch, and on Ctrl-C, so an
interrupted run loses nothing complete and writing costs little next to training.
"""
from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import signal
import threading
import time
from dataclasses import asdict, dataclass, fields
from typing import Any, Callable, Optional, cast

import numpy as np

import zerograd.functions as F
from zerograd import optimizers
from zerograd.checkpoint import Checkpoint, InvalidCheckpoint, checkpoint_arrays, load_checkpoint
from zerograd.compiler import compile as compile_step
from zerograd.config import no_grad, test_mode
from zerograd.dataloaders import DataLoader, SeqDataLoader
from zerograd.models import CNN, GPT, MLP, LSTMRegressor, Model
from zerograd.progress import progress_bar
from zerograd.serialization import CheckpointError, load_arrays, save_arrays, save_text

DATASETS = ("spiral", "mnist", "fashion-mnist", "sincurve", "shakespeare")
MODELS = ("mlp", "cnn", "lstm", "gpt")
#: The models each dataset can train (the first is the default).
FITS = {"spiral": ("mlp",), "mnist": ("mlp", "cnn"), "fashion-mnist": ("mlp", "cnn"), "sincurve": ("lstm", "mlp"),
        "shakespeare": ("gpt",)}
#: Each dataset's settings (the book's for spiral); MODEL_DEFAULTS override them per model.
DEFAULTS = {
    "spiral": dict(epochs=300, batch_size=30, lr=1.0, optimizer="sgd", hidden=10),
    "mnist": dict(epochs=5, batch_size=100, lr=0.001, optimizer="adam", hidden=1000),
    "fashion-mnist": dict(epochs=5, batch_size=100, lr=0.001, optimizer="adam", hidden=1000),
    "sincurve": dict(epochs=20, batch_size=30, lr=0.001, optimizer="adam", hidden=100),
    # nanoGPT's shakespeare_char on a CPU: an "epoch" is LanguageTask.ITERATIONS random batches
    "shakespeare": dict(epochs=8, batch_size=12, lr=0.001, optimizer="adamw", hidden=128),
}
MODEL_DEFAULTS = {"cnn": dict(hidden=100)}
OPTIMIZERS = tuple(optimizers.BY_NAME)
MAX_SEED = 2 ** 32 - 1


class ConfigError(ValueError):
    """A combination of options that cannot work (reported as one line by the CLI)."""


@dataclass
class TrainConfig:
    """A run's options; ``None`` means the dataset's (and model's) default (:meth:`resolved`)."""

    dataset: str = "spiral"
    model: str = "mlp"
    epochs: Optional[int] = None
    batch_size: Optional[int] = None
    lr: Optional[float] = None
    optimizer: Optional[str] = None
    seed: int = 0
    hidden: Optional[int] = None
    bptt: int = 30

    def resolved(self) -> "TrainConfig":
        """A copy with every unset option filled in, and every option checked."""
        if self.dataset not in DATASETS:
            raise ConfigError(f"unknown dataset {self.dataset!r} (choose from {', '.join(DATASETS)})")
        if self.model not in MODELS:
            raise ConfigError(f"unknown model {self.model!r} (choose from {', '.join(MODELS)})")
        if self.model not in FITS[self.dataset]:
            raise ConfigError(f"model {self.model!r} does not fit dataset {self.dataset!r} "
                              f"(use {' or '.join(FITS[self.dataset])})")
        out = TrainConfig(**asdict(self))
        for key, value in {**DEFAULTS[self.dataset], **MODEL_DEFAULTS.get(self.model, {})}.items():
            if getattr(out, key) is None:
                setattr(out, key, value)
        if out.optimizer not in OPTIMIZERS:
            raise ConfigError(f"unknown optimizer {out.optimizer!r} (choose from {', '.join(OPTIMIZERS)})")
        for key in ("epochs", "batch_size", "hidden", "bptt"):
            value = getattr(out, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"--{key.replace('_', '-')} must be at least 1, got {value}")
        if out.model == "gpt" and cast(int, out.hidden) % LanguageTask.HEADS:
            raise ConfigError(f"--hidden must be a multiple of the {LanguageTask.HEADS} attention heads, got {out.hidden}")
        if isinstance(out.seed, bool) or not isinstance(out.seed, int) or not 0 <= out.seed <= MAX_SEED:
            raise ConfigError(f"--seed must be an integer from 0 to {MAX_SEED}, got {out.seed}")
        if isinstance(out.lr, bool) or not isinstance(out.lr, (int, float)) or not (math.isfinite(out.lr) and out.lr > 0):
            raise ConfigError(f"--lr must be a positive finite number, got {out.lr}")
        out.lr = float(out.lr)
        return out

    @classmethod
    def load(cls, path: str) -> "TrainConfig":
        """A run's ``config.json``, checked: a damaged file is a ConfigError naming it."""
        try:
            with open(path, encoding="utf-8") as fh:
                saved = json.load(fh)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ConfigError(f"{path} is damaged ({e}); start again with --overwrite") from None
        names = {f.name for f in fields(cls)}
        if not isinstance(saved, dict) or set(saved) != names:
            problem = ("not an object" if not isinstance(saved, dict) else
                       f"unknown settings: {sorted(set(saved) - names)}" if set(saved) - names else
                       f"it lacks {', '.join(sorted(names - set(saved)))}")
            raise ConfigError(f"{path} is damaged ({problem}); start again with --overwrite")
        try:
            return cls(**saved).resolved()
        except ConfigError as e:
            raise ConfigError(f"{path} is damaged: {e}; start again with --overwrite") from None

    def save(self, path: str) -> None:
        save_text(path, json.dumps(asdict(self), indent=2) + "\n")


# ------------------------------------------------------------------------------------------ tasks
class Task:
    """What to train and how to measure it: data, model, loss and metrics, one epoch, evaluation."""

    #: Whether the task reports an accuracy beside its loss.
    has_accuracy = False

    def __init__(self, config: TrainConfig, train_set: Any, test_set: Any, model: Model) -> None:
        self.config = config
        self.train_set = train_set
        self.test_set = test_set
        self.model = model
        #: Run the training step under :func:`zerograd.compile` (the same numbers, less Python per step).
        self.compile = False
        #: Processes sharing each batch (``--distributed``): the loader yields global batches of
        #: ``batch_size * ranks`` examples, each rank trains on its part (distributed.RankSlice).
        self.ranks = 1
        self._step: Optional[tuple[optimizers.Optimizer, Callable]] = None

    def make_loader(self) -> DataLoader:
        raise NotImplementedError

    def make_step(self, optimizer: optimizers.Optimizer) -> Callable:
        """The training step: a function of one batch that updates the model and returns its numbers."""
        raise NotImplementedError

    def step_for(self, optimizer: optimizers.Optimizer) -> Callable:
        """:meth:`make_step`'s step for ``optimizer``, made once (compiled when ``self.compile``)."""
        if self._step is None or self._step[0] is not optimizer:
            step = self.make_step(optimizer)
            self._step = (optimizer, compile_step(step) if self.compile else step)
        return self._step[1]

    def train_epoch(self, loader: DataLoader, optimizer: optimizers.Optimizer, bar: Any) -> tuple[float, Optional[float]]:
        """One pass over ``loader`` with updates; (mean loss, accuracy or None)."""
        raise NotImplementedError

    def evaluate(self) -> tuple[float, Optional[float]]:
        """(mean loss, accuracy or None) on the test set, without a graph, in test mode."""
        raise NotImplementedError

    def build_lazy_parameters(self) -> None:
        """Run one forward pass so that lazily shaped parameters exist (before loading weights)."""
        raise NotImplementedError

    def configure(self, optimizer: optimizers.Optimizer) -> None:
        """Settings of the optimizer beyond its name and learning rate (none by default)."""

    def report(self) -> list[str]:
        """Lines to print after an epoch's evaluation (none by default)."""
        return []


class BatchTask(Task):
    """Mini-batches of independent examples: a classification (softmax cross entropy, accuracy)
    or a regression (mean squared error)."""

    def __init__(self, config: TrainConfig, train_set: Any, test_set: Any, model: Model, classification: bool,
                 eval_batch_size: Optional[int] = None) -> None:
        super().__init__(config, train_set, test_set, model)
        # evaluation records no graph, so it may take bigger batches: fewer Python steps, the same means
        self.eval_batch_size = max(cast(int, config.batch_size), eval_batch_size or 0)  # (config resolved)
        self.has_accuracy = classification
        self.loss = F.softmax_cross_entropy if classification else F.mean_squared_error

    def make_loader(self) -> DataLoader:
        return DataLoader(self.train_set, cast(int, self.config.batch_size) * self.ranks)

    def make_step(self, optimizer):
        model, loss_of, has_accuracy = self.model, self.loss, self.has_accuracy

        def train_step(x, t):
            y = model(x)
            loss = loss_of(y, t)
            model.cleargrads()
            loss.backward()
            optimizer.update()
            return loss, (F.accuracy(y, t) if has_accuracy else None)
        return train_step

    def train_epoch(self, loader, optimizer, bar):
        step = self.step_for(optimizer)
        total_loss, total_acc, n = 0.0, 0.0, 0
        for x, t in loader:
            loss, acc = step(x, t)
            total_loss += float(loss.data) * len(x)
            if acc is not None:
                total_acc += float(acc.data) * len(x)
            n += len(x)
            bar.update(1)
        return total_loss / n, (total_acc / n if self.has_accuracy else None)

    def evaluate(self):
        total_loss, total_acc, n = 0.0, 0.0, 0
        with no_grad(), test_mode():
            for x, t in DataLoader(self.test_set, self.eval_batch_size, shuffle=False):
                y = self.model(x)
                total_loss += float(self.loss(y, t).data) * len(x)
                if self.has_accuracy:
                    total_acc += float(F.accuracy(y, t).data) * len(x)
                n += len(x)
        return total_loss / n, (total_acc / n if self.has_accuracy else None)

    def build_lazy_parameters(self) -> None:
        x, _ = self.train_set[np.arange(min(2, len(self.train_set)))]
        with no_grad():
            self.model(x)


class SequenceTask(Task):
    """One long sequence fed a step at a time (batch rows start at spread offsets); the loss of
    ``bptt`` steps is backpropagated, then the graph is cut (truncated BPTT)."""

    model: LSTMRegressor  # (build_task's: a model with reset_state())

    def make_loader(self) -> DataLoader:
        return SeqDataLoader(self.train_set, cast(int, self.config.batch_size) * self.ranks)

    def make_step(self, optimizer):
        model = self.model

        def train_window(xs, ts):
            """One truncated-BPTT window: the summed loss of its steps, backpropagated, then cut."""
            loss = 0
            for x, t in zip(xs, ts):
                loss += F.mean_squared_error(model(x), t)
            model.cleargrads()
            loss.backward()
            loss.unchain_backward()
            optimizer.update()
            return loss
        return train_window

    def train_epoch(self, loader, optimizer, bar):
        step = self.step_for(optimizer)
        self.model.reset_state()
        xs, ts, count, total_loss = [], [], 0, 0.0
        for x, t in loader:
            xs.append(x)
            ts.append(t)
            count += 1
            if count % self.config.bptt == 0 or count == len(loader):
                total_loss += float(step(xs, ts).data)
                bar.update(len(xs))
                xs, ts = [], []
        return total_loss / count, None

    def _steps(self):
        """One-step predictions over the test sequence: (prediction, target) per step."""
        self.model.reset_state()
        try:
            for i in range(len(self.test_set)):
                x, t = self.test_set[i]
                yield self.model(np.reshape(x, (1, -1))), np.reshape(t, (1, -1))
        finally:
            self.model.reset_state()

    def evaluate(self):
        total, n = 0.0, 0
        with no_grad(), test_mode():
            for y, t in self._steps():
                total += float(F.mean_squared_error(y, t).data)
                n += 1
        return total / n, None

    def predict_sequence(self) -> tuple[np.ndarray, np.ndarray]:
        """(targets, one-step predictions) over the test sequence."""
        with no_grad(), test_mode():
            steps = [(float(t.reshape(-1)[0]), y.item()) for y, t in self._steps()]
        return np.array([s[0] for s in steps]), np.array([s[1] for s in steps])

    def build_lazy_parameters(self) -> None:
        x, _ = self.train_set[0]
        with no_grad():
            self.model.reset_state()
            self.model(np.reshape(x, (1, -1)))
            self.model.reset_state()


class LanguageTask(Task):
    """Next-character prediction with a GPT on Tiny Shakespeare (nanoGPT's ``shakespeare_char``):
    the first 90% of the text trains, the rest validates. An epoch is :attr:`ITERATIONS` random
    windows (batch x CONTEXT characters, drawn from NumPy's global generator, which checkpoints
    keep); the learning rate warms up over :attr:`WARMUP` iterations, then follows a cosine to a
    tenth; AdamW with beta2 0.99 and weight decay 0.1; gradients clipped to norm 1. Evaluation: the
    mean loss of :attr:`EVAL_BATCHES` fixed random batches of the validation text, then a sample."""

    ITERATIONS = 250
    WARMUP = 100
    EVAL_BATCHES = 20
    CONTEXT, LAYERS, HEADS = 64, 4, 4

    def __init__(self, config: TrainConfig, text: Any, model: Model) -> None:
        super().__init__(config, text, text, model)
        ids = np.concatenate([text.data[:1], text.label])
        split = int(0.9 * len(ids))
        self.train_ids, self.val_ids = ids[:split], ids[split:]
        self.text = text

    def make_loader(self) -> Any:  # (a WindowLoader: random windows, not a DataLoader)
        return WindowLoader(self.train_ids, cast(int, self.config.batch_size) * self.ranks, self.CONTEXT,
                            self.ITERATIONS)

    def configure(self, optimizer):
        optimizer.beta2 = 0.99
        optimizer.weight_decay = 0.1
        optimizer.add_hook(optimizers.ClipGrad(1.0))
        total = cast(int, self.config.epochs) * self.ITERATIONS
        lr = cast(float, self.config.lr)
        #: The learning rate of update ``optimizer.t`` (0 first): linear warm-up, then cosine to lr / 10.
        self.schedule = optimizers.WarmupLR(optimizer, self.WARMUP, after=optimizers.CosineAnnealingLR(
            optimizer, max(1, total - self.WARMUP), eta_min=lr / 10))

    def make_step(self, optimizer):
        model = self.model

        def train_step(x, t):
            loss = F.softmax_cross_entropy(F.reshape(model(x), (-1, model.vocab_size)), t.reshape(-1))
            model.cleargrads()
            loss.backward()
            optimizer.update()
            return loss
        return train_step

    def train_epoch(self, loader, optimizer, bar):
        step = self.step_for(optimizer)
        total, n = 0.0, 0
        for x, t in loader:
            optimizer.base_lr = self.schedule.lr_at(optimizer.t)  # (optimizer.t: updates made, kept by checkpoints)
            total += float(step(x, t).data)
            n += 1
            bar.update(1)
        return total / n, None

    def evaluate(self):
        rng = np.random.default_rng(cast(int, self.config.seed) + 1)  # the same batches at every evaluation
        losses = []
        with no_grad(), test_mode():
            for _ in range(self.EVAL_BATCHES):
                x, t = WindowLoader.window(self.val_ids, cast(int, self.config.batch_size) * self.ranks, self.CONTEXT,
                                           rng)  # (the global batch: a distributed run evaluates what one process would)
                logits = self.model(x)
                losses.append(float(F.softmax_cross_entropy(F.reshape(logits, (-1, logits.shape[-1])),
                                                            t.reshape(-1)).data))
        return float(np.mean(losses)), None

    def sample(self, prompt: str = "\n", tokens: int = 200, temperature: float = 0.8, top_k: Optional[int] = 40) -> str:
        """Text the model writes after ``prompt`` (characters outside the vocabulary are an error)."""
        unknown = sorted(set(prompt) - set(self.text.char_to_id))
        if unknown:
            raise ValueError(f"the prompt has characters the model does not know: {''.join(unknown)!r}")
        ids = np.array([self.text.char_to_id[c] for c in prompt], dtype=np.int64)
        return self.text.decode(cast(Any, self.model).generate(ids[None], tokens, temperature, top_k)[0])

    def report(self):
        state = np.random.get_state()  # (a sample must not move the training's random numbers)
        try:
            np.random.seed(cast(int, self.config.seed))
            return ["sample: " + self.sample("\n", 120).replace("\n", "\n        ")]
        finally:
            np.random.set_state(state)

    def build_lazy_parameters(self) -> None:
        with no_grad():
            self.model(self.train_ids[None, :self.CONTEXT])


class WindowLoader:
    """``iterations`` random windows per pass: inputs (batch, context) of a text's ids and the next
    ids as targets, starts drawn from NumPy's global generator. (``index``: for checkpoints, unused.)"""

    def __init__(self, ids: np.ndarray, batch: int, context: int, iterations: int) -> None:
        if len(ids) < context + 2:
            raise ValueError(f"the text has {len(ids)} characters, fewer than a window of {context} needs")
        if batch > len(ids) - context:
            raise ValueError(f"--batch-size {batch} is more than the {len(ids) - context} windows of the text")
        self.ids, self.batch, self.context, self.iterations = ids, batch, context, iterations
        self.index = np.arange(1)
        self.iteration = 0

    def __len__(self) -> int:
        return self.iterations

    @staticmethod
    def window(ids: np.ndarray, batch: int, context: int, rng: Any = np.random) -> tuple[np.ndarray, np.ndarray]:
        rows = rng.randint(0, len(ids) - context, batch) if rng is np.random else \
            rng.integers(0, len(ids) - context, batch)  # (the last window's target is the text's last character)
        rows = rows[:, None] + np.arange(context)
        return ids[rows], ids[rows + 1]

    def __iter__(self):
        for _ in range(self.iterations):
            yield self.window(self.ids, self.batch, self.context)


def build_task(config: TrainConfig) -> Task:
    """Datasets and model for a resolved config. Creating the data and the model draws from
    NumPy's global generator, so call this right after seeding it."""
    from zerograd.datasets import MNIST, Dataset, FashionMNIST, Shakespeare, SinCurve, Spiral
    from zerograd.transforms import Compose, Normalize, ToFloat

    c = config
    hidden = cast(int, c.hidden)  # (config resolved)
    train_set: Dataset
    test_set: Dataset
    if c.dataset == "spiral":
        return BatchTask(c, Spiral(train=True), Spiral(train=False), MLP((hidden, 3)), classification=True,
                         eval_batch_size=1000)
    if c.dataset in ("mnist", "fashion-mnist"):
        cls = MNIST if c.dataset == "mnist" else FashionMNIST
        cls.fetch_all()  # one error naming every missing file
        transform = Compose([ToFloat(), Normalize(0.0, 255.0)]) if c.model == "cnn" else None
        train_set, test_set = cls(train=True, transform=transform), cls(train=False, transform=transform)
        model = CNN(hidden, 10) if c.model == "cnn" else MLP((hidden, 10), activation=F.relu)
        return BatchTask(c, train_set, test_set, model, classification=True,
                         eval_batch_size=None if c.model == "cnn" else 1000)  # (im2col of 1000 images: 450 MB)
    if c.dataset == "shakespeare":
        text = Shakespeare()
        gpt = GPT(len(text.char_to_id), LanguageTask.CONTEXT, LanguageTask.LAYERS, LanguageTask.HEADS, hidden)
        return LanguageTask(c, text, gpt)
    train_set, test_set = SinCurve(train=True), SinCurve(train=False)
    if c.model == "lstm":
        return SequenceTask(c, train_set, test_set, LSTMRegressor(hidden))
    return BatchTask(c, train_set, test_set, MLP((hidden, 1), activation=F.tanh), classification=False,
                     eval_batch_size=1000)


# ---------------------------------------------------------------------------------------- trainer
@contextlib.contextmanager
def _sigint_ignored():
    """Ignore Ctrl-C for the duration (in the main thread; elsewhere signals cannot be set)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _duration(seconds: float) -> str:
    """``3.4 ms`` below a second, ``12.34 s`` above."""
    return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


class TrainingDiverged(Exception):
    """The loss stopped being a finite number (the learning rate is usually too high)."""


class TrainingInterrupted(Exception):
    """Ctrl-C during training; ``saved_epoch`` is the last complete epoch written (None: none)."""

    def __init__(self, epoch: int, saved_epoch: Optional[int]) -> None:
        super().__init__(f"interrupted during epoch {epoch + 1}")
        self.epoch = epoch
        self.saved_epoch = saved_epoch


class Trainer:
    """Runs a task's epochs and keeps its files in ``out``: ``metrics.csv`` (a row appended per
    epoch), ``best.npz`` (the weights of the best test score) and ``checkpoint.npz``.

    ``timings`` adds up the seconds spent training, evaluating and keeping the files."""

    FIELDS = ["epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "seconds"]
    FILES = ("config.json", "metrics.csv", "checkpoint.npz", "best.npz")

    def __init__(self, task: Task, out: str, log: Callable[[str], None] = print, progress: Optional[bool] = None,
                 log_every: Optional[int] = None, save_every: float = 2.0, comm: Any = None) -> None:
        self.task = task
        self.config = task.config
        self.out = out
        self.log = log
        self.progress = progress
        self.save_every = save_every
        self.optimizer = optimizers.create(cast(str, self.config.optimizer),  # (config resolved)
                                           cast(float, self.config.lr)).setup(task.model)
        #: ``distributed.Communicator`` of a ``--distributed`` run: gradients averaged over the ranks,
        #: each rank trains on its part of every batch; rank 0 alone writes files and logs.
        self.comm = comm
        self.writes = comm is None or comm.rank == 0
        if comm is not None:
            from zerograd.distributed import RankSlice, create_multi_node_optimizer

            task.ranks = comm.size
            multi = create_multi_node_optimizer(self.optimizer, comm)
            self.optimizer = multi
        task.configure(self.optimizer)
        self.loader = task.make_loader()
        if comm is not None:
            last = len(self.loader.dataset) % self.loader.batch_size if isinstance(self.loader, DataLoader) else 0
            if 0 < last < comm.size:
                raise ValueError(f"the last batch of each epoch would have {last} example{'s' if last > 1 else ''} "
                                 f"for {comm.size} processes: choose another --batch-size or process count")
            self.loader = RankSlice(self.loader, comm, multi)  # type: ignore[assignment]  # (a loader too)
        if not self.writes:
            self.log, self.progress = (lambda line: None), False
        self.epoch = 0
        self.best: Optional[float] = None
        self.history: list[dict] = []
        self.log_every = log_every or max(1, cast(int, self.config.epochs) // 10)
        self.timings = {"train": 0.0, "evaluate": 0.0, "files": 0.0}
        self._snapshot: Optional[dict[str, np.ndarray]] = None  # the state after the last complete epoch
        self._best_weights: Optional[dict[str, np.ndarray]] = None  # not written yet
        self._last_save = time.perf_counter()

    def path(self, name: str) -> str:
        return os.path.join(self.out, name)

    # ------------------------------------------------------------------------ writing
    def write_config(self) -> None:
        if self.writes:
            self.config.save(self.path("config.json"))

    def _state(self) -> dict[str, np.ndarray]:
        """Everything a checkpoint holds, copied (the run goes on changing the originals)."""
        return checkpoint_arrays(self.task.model, self.optimizer, self.epoch, **{
            "loader/index": self.loader.index, "best": np.nan if self.best is None else self.best,
            "processes": np.asarray(1 if self.comm is None else self.comm.size)})

    def _write_files(self) -> None:
        """Write the kept state: best weights first, then the checkpoint that refers to them (rank 0 only)."""
        if not self.writes:
            self._last_save = time.perf_counter()
            return
        if self._best_weights is not None:
            save_arrays(self.path("best.npz"), self._best_weights)
            self._best_weights = None
        if self._snapshot is not None:
            save_arrays(self.path("checkpoint.npz"), self._snapshot)
        self._last_save = time.perf_counter()

    def _start_metrics(self) -> Any:
        """Open metrics.csv for appending; it holds exactly the rows of ``history``."""
        if not self.writes:
            return open(os.devnull, "w")
        path = self.path("metrics.csv")
        lines = [",".join(self.FIELDS)] + [self._csv_row(row) for row in self.history]
        save_text(path, "\n".join(lines) + "\n")
        return open(path, "a", encoding="utf-8", newline="")

    def _csv_row(self, row: dict) -> str:
        return ",".join("" if row.get(k) is None else repr(row[k]) if isinstance(row[k], float) else str(row[k])
                        for k in self.FIELDS)

    # ------------------------------------------------------------------------ resuming
    def resume(self) -> None:
        """Restore the state saved after the last finished epoch. Anything damaged is one
        CheckpointError naming the file; nothing is restored unless everything fits."""
        path = self.path("checkpoint.npz")
        if not os.path.exists(path):
            raise CheckpointError(f"--resume: no checkpoint in {self.out} (the run stopped before its first save); "
                                  "start again with --overwrite")
        if any(p.data is None for p in self.task.model.params()):
            self.task.build_lazy_parameters()

        def damaged(problem: str, name: str = "checkpoint.npz") -> CheckpointError:
            return CheckpointError(f"--resume: {self.path(name)} is damaged: {problem}; start again with --overwrite")

        items = len(self.loader.index)
        history: list[dict] = []

        def check(saved: Checkpoint) -> None:
            """The Trainer's own parts: the loader's order, the best score, best.npz, metrics.csv."""
            index = saved.arrays["loader/index"]
            if index.dtype.kind not in "iu" or not np.array_equal(np.sort(index), np.arange(items)):
                raise damaged(f"loader/index is not an order of the {items} training items")
            if saved.arrays["best"].dtype.kind not in "iuf":
                raise damaged(f"best is {saved.arrays['best'].dtype}, not a score")
            best_path = self.path("best.npz")
            if not os.path.exists(best_path):
                raise damaged("it is missing", "best.npz")
            load_arrays(best_path, {k: tuple(v.shape) for k, v in self.task.model.state_dict().items()})
            history[:] = self._read_metrics()
            if len(history) < saved.epoch or [row["epoch"] for row in history[: saved.epoch]] != \
                    list(range(1, saved.epoch + 1)):
                raise damaged(f"it holds {len(history)} epochs where the checkpoint has {saved.epoch}", "metrics.csv")

        try:
            saved = load_checkpoint(path, self.task.model, self.optimizer, check=check,
                                    expected={"loader/index": (items,), "best": ()})
        except InvalidCheckpoint as e:
            if e.damaged:
                raise damaged(e.problem) from None
            raise CheckpointError(f"--resume: {path} does not fit this run ({e.problem}); start again with "
                                  "--overwrite") from None
        except CheckpointError as e:
            if str(e).startswith("--resume:"):
                raise
            raise CheckpointError(f"--resume: {path} does not fit this run ({e}); start again with --overwrite") \
                from None
        processes = int(saved.arrays["processes"]) if "processes" in saved.arrays else 1  # (older files: one)
        now = 1 if self.comm is None else self.comm.size
        if processes != now:  # (the global batch is processes x --batch-size: another count is another run)
            raise CheckpointError(f"--resume: the run in {self.out!r} was trained by {processes} process"
                                  f"{'es' if processes > 1 else ''}; resume it with "
                                  + (f"mpiexec -n {processes} zerograd train --distributed" if processes > 1
                                     else "zerograd train (without --distributed)") + f" --out {self.out} --resume")
        self.loader.index = saved.arrays["loader/index"].astype(np.int64)
        self.loader.iteration = 0
        self.epoch = saved.epoch
        best = float(saved.arrays["best"])
        self.best = None if np.isnan(best) else best
        self.history = history[: self.epoch]
        self._snapshot = saved.arrays
        self._last_save = time.perf_counter()

    def _read_metrics(self) -> list[dict]:
        """metrics.csv's complete rows (a row cut short by a kill ends them)."""
        path = self.path("metrics.csv")
        if not os.path.exists(path):
            return []
        rows = []
        try:
            with open(path, newline="", encoding="utf-8") as fh:
                text = fh.read()
            complete = text[: text.rfind("\n") + 1]
            for row in csv.DictReader(complete.splitlines()):
                if set(row) != set(self.FIELDS) or row["seconds"] in ("", None):
                    break
                rows.append({k: (None if v == "" else int(v) if k == "epoch" else float(v)) for k, v in row.items()})
        except (ValueError, UnicodeDecodeError, csv.Error) as e:
            raise CheckpointError(f"--resume: {path} is damaged ({e}); start again with --overwrite") from None
        return rows

    # ------------------------------------------------------------------------ epochs
    def run(self) -> list[dict]:
        """Train until ``config.epochs``; returns the history (a dict per epoch). Ctrl-C writes the
        last complete epoch and raises :class:`TrainingInterrupted`."""
        epochs = cast(int, self.config.epochs)
        bar = progress_bar((epochs - self.epoch) * len(self.loader), desc="training", unit="batch",
                           enable=self.progress, leave=False)
        tick = time.perf_counter()
        metrics = self._start_metrics()
        self.timings["files"] += time.perf_counter() - tick
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # (a diverged loss is reported below)
                self._epochs(bar, metrics)
        except TrainingDiverged:
            if self._snapshot is not None:
                self._write_files()  # the last finite epoch
            raise
        except KeyboardInterrupt:
            bar.close()
            metrics.close()
            saved = None
            if self._snapshot is not None:
                with _sigint_ignored():  # a second Ctrl-C must not cut this save short
                    self._write_files()
                saved = int(self._snapshot["epoch"])
            raise TrainingInterrupted(self.epoch, saved) from None
        finally:
            bar.close()
            metrics.close()
        return self.history

    def _epochs(self, bar: Any, metrics: Any) -> None:
        epochs = cast(int, self.config.epochs)
        while self.epoch < epochs:
            bar.set_description(f"epoch {self.epoch + 1}/{epochs}")
            tick = time.perf_counter()
            train_loss, train_acc = self.task.train_epoch(self.loader, self.optimizer, bar)
            if self.comm is not None:  # (the ranks' means, and one set of running statistics for all)
                from zerograd.distributed import average_buffers

                average_buffers(self.task.model, self.comm)
                means = self.comm.allreduce_mean([np.asarray([train_loss, train_acc or 0.0], np.float64)])[0]
                train_loss, train_acc = float(means[0]), (None if train_acc is None else float(means[1]))
            trained = time.perf_counter()
            test_loss, test_acc = self.task.evaluate()
            evaluated = time.perf_counter()
            if not (math.isfinite(train_loss) and math.isfinite(test_loss)):
                raise TrainingDiverged(f"epoch {self.epoch + 1}: the loss is not a finite number (train {train_loss},"
                                       f" test {test_loss}); the learning rate ({self.config.lr}) is probably too "
                                       f"high; epoch {self.epoch} is the last one saved")
            self.epoch += 1
            seconds = trained - tick
            row = {"epoch": self.epoch, "train_loss": train_loss, "train_accuracy": train_acc,
                   "test_loss": test_loss, "test_accuracy": test_acc, "seconds": round(seconds, 4)}
            self.history.append(row)
            bar.set_postfix_str(f"loss {train_loss:.4f}")
            score = test_acc if test_acc is not None else -test_loss
            if self.best is None or score > self.best:
                self.best = score
                self._best_weights = {k: np.array(v) for k, v in self.task.model.state_dict().items()}
            metrics.write(self._csv_row(row) + "\n")
            metrics.flush()
            self._snapshot = self._state()
            if self.epoch == epochs or evaluated - self._last_save >= self.save_every:
                self._write_files()
            self.timings["train"] += seconds
            self.timings["evaluate"] += evaluated - trained
            self.timings["files"] += time.perf_counter() - evaluated
            if self.epoch % self.log_every == 0 or self.epoch == epochs or self.epoch == 1:
                acc = "" if train_acc is None else f", accuracy {train_acc:.4f}"
                tacc = "" if test_acc is None else f", accuracy {test_acc:.4f}"
                bar.clear()
                self._log(f"epoch {self.epoch:>4}: train loss {train_loss:.4f}{acc} | test loss {test_loss:.4f}"
                          f"{tacc} | {_duration(seconds)}")
                for line in self.task.report():
                    self._log(line)
                bar.refresh()

    def _log(self, line: str) -> None:
        try:
            self.log(line)
        except BrokenPipeError:  # the reader went away (| head): keep training, stop talking
            self.log = lambda line: None
