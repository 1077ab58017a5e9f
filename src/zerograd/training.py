"""The training loop behind ``zerograd train``: tasks, epochs with a progress bar, metrics to
CSV, the best weights, and checkpoints that let ``--resume`` continue exactly.

A checkpoint holds only arrays (no pickle): the model's weights, the optimizer's state, NumPy's
global random state, the loader's order for the next epoch, the epoch count and the best score.
"""
from __future__ import annotations

import csv
import json
import os
from dataclasses import asdict, dataclass
from typing import Any, Callable, Optional

import numpy as np

import zerograd.functions as F
import zerograd.layers as L
from zerograd import optimizers
from zerograd.config import no_grad, test_mode
from zerograd.dataloaders import DataLoader, SeqDataLoader
from zerograd.models import MLP, Model
from zerograd.serialization import CheckpointError, load_arrays, save_arrays
from zerograd.progress import progress_bar

DATASETS = ("spiral", "mnist", "fashion-mnist", "sincurve")
MODELS = ("mlp", "cnn", "lstm")
OPTIMIZERS = ("sgd", "momentum", "adam", "adamw")


class ConfigError(ValueError):
    """A combination of options that cannot work (reported as one line by the CLI)."""


@dataclass
class TrainConfig:
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
        """Fill unset options with each dataset's defaults (the book's settings for spiral)."""
        if self.dataset not in DATASETS:
            raise ConfigError(f"unknown dataset {self.dataset!r} (choose from {', '.join(DATASETS)})")
        if self.model not in MODELS:
            raise ConfigError(f"unknown model {self.model!r} (choose from {', '.join(MODELS)})")
        allowed = {"spiral": ("mlp",), "mnist": ("mlp", "cnn"), "fashion-mnist": ("mlp", "cnn"),
                   "sincurve": ("lstm", "mlp")}[self.dataset]
        if self.model not in allowed:
            raise ConfigError(f"model {self.model!r} does not fit dataset {self.dataset!r} "
                              f"(use {' or '.join(allowed)})")
        defaults = {
            "spiral": dict(epochs=300, batch_size=30, lr=1.0, optimizer="sgd", hidden=10),
            "mnist": dict(epochs=5, batch_size=100, lr=0.001, optimizer="adam", hidden=1000),
            "fashion-mnist": dict(epochs=5, batch_size=100, lr=0.001, optimizer="adam", hidden=1000),
            "sincurve": dict(epochs=20, batch_size=30, lr=0.001, optimizer="adam", hidden=100),
        }[self.dataset]
        out = TrainConfig(**asdict(self))
        for key, value in defaults.items():
            if getattr(out, key) is None:
                setattr(out, key, value)
        if out.optimizer not in OPTIMIZERS:
            raise ConfigError(f"unknown optimizer {out.optimizer!r} (choose from {', '.join(OPTIMIZERS)})")
        for key in ("epochs", "batch_size", "hidden", "bptt"):
            if getattr(out, key) < 1:
                raise ConfigError(f"--{key.replace('_', '-')} must be at least 1, got {getattr(out, key)}")
        if not out.lr > 0:
            raise ConfigError(f"--lr must be positive, got {out.lr}")
        return out


class CNN(Model):
    """conv 3x3 (16) -> ReLU -> pool 2 -> conv 3x3 (32) -> ReLU -> pool 2 -> linear hidden -> ReLU -> linear."""

    def __init__(self, hidden: int, classes: int) -> None:
        super().__init__()
        self.conv1 = L.Conv2d(16, kernel_size=3, pad=1)
        self.conv2 = L.Conv2d(32, kernel_size=3, pad=1)
        self.fc3 = L.Linear(hidden)
        self.fc4 = L.Linear(classes)

    def forward(self, x):
        x = F.pooling(F.relu(self.conv1(x)), 2, 2)
        x = F.pooling(F.relu(self.conv2(x)), 2, 2)
        return self.fc4(F.relu(self.fc3(F.flatten(x))))


class SequenceModel(Model):
    """LSTM followed by a linear layer, for one-step-ahead prediction."""

    def __init__(self, hidden: int, out: int = 1) -> None:
        super().__init__()
        self.rnn = L.LSTM(hidden)
        self.fc = L.Linear(out)

    def reset_state(self) -> None:
        self.rnn.reset_state()

    def forward(self, x):
        return self.fc(self.rnn(x))


@dataclass
class Task:
    """What to train: data, model, and whether it is a classification."""

    config: TrainConfig
    train_set: Any
    test_set: Any
    model: Model
    classification: bool
    sequence: bool


def build_task(config: TrainConfig) -> Task:
    """Datasets and model for a resolved config. Creating the data and the model draws from
    NumPy's global generator, so call this right after seeding it."""
    from zerograd.datasets import MNIST, FashionMNIST, SinCurve, Spiral
    from zerograd.transforms import Compose, Normalize, ToFloat

    c = config
    if c.dataset == "spiral":
        train_set, test_set = Spiral(train=True), Spiral(train=False)
        model = MLP((c.hidden, 3))
        return Task(c, train_set, test_set, model, True, False)
    if c.dataset in ("mnist", "fashion-mnist"):
        cls = MNIST if c.dataset == "mnist" else FashionMNIST
        transform = Compose([ToFloat(), Normalize(0.0, 255.0)]) if c.model == "cnn" else None
        train_set, test_set = cls(train=True, transform=transform), cls(train=False, transform=transform)
        model = CNN(min(c.hidden, 100) if c.hidden == 1000 else c.hidden, 10) if c.model == "cnn" \
            else MLP((c.hidden, 10), activation=F.relu)
        return Task(c, train_set, test_set, model, True, False)
    train_set, test_set = SinCurve(train=True), SinCurve(train=False)
    if c.model == "lstm":
        return Task(c, train_set, test_set, SequenceModel(c.hidden), False, True)
    return Task(c, train_set, test_set, MLP((c.hidden, 1), activation=F.tanh), False, False)


def make_optimizer(name: str, lr: float):
    if name == "sgd":
        return optimizers.SGD(lr)
    if name == "momentum":
        return optimizers.MomentumSGD(lr)
    if name == "adam":
        return optimizers.Adam(alpha=lr)
    return optimizers.AdamW(alpha=lr)


def _loss(task: Task, y, t):
    return F.softmax_cross_entropy(y, t) if task.classification else F.mean_squared_error(y, t)


def evaluate(task: Task, batch_size: int) -> tuple[float, Optional[float]]:
    """Mean loss (and accuracy for classification) on the test set, without a graph."""
    model = task.model
    total_loss, total_acc, n = 0.0, 0.0, 0
    with no_grad(), test_mode():
        if task.sequence:
            model.reset_state()
            for i in range(len(task.test_set)):
                x, t = task.test_set[i]
                y = model(x.reshape(1, -1))
                total_loss += float(F.mean_squared_error(y, t.reshape(1, -1)).data)
                n += 1
            model.reset_state()
            return total_loss / n, None
        for x, t in DataLoader(task.test_set, batch_size, shuffle=False):
            y = model(x)
            total_loss += float(_loss(task, y, t).data) * len(x)
            if task.classification:
                total_acc += float(F.accuracy(y, t).data) * len(x)
            n += len(x)
    return total_loss / n, (total_acc / n if task.classification else None)


def predict_sequence(task: Task) -> tuple[np.ndarray, np.ndarray]:
    """(targets, one-step predictions) over the test sequence, without a graph."""
    model = task.model
    predictions = []
    with no_grad(), test_mode():
        if task.sequence:
            model.reset_state()
        for i in range(len(task.test_set)):
            x, _ = task.test_set[i]
            predictions.append(model(x.reshape(1, -1)).item())
        if task.sequence:
            model.reset_state()
    return np.asarray(task.test_set.label).reshape(-1), np.asarray(predictions)


class Trainer:
    """Runs epochs, writes ``metrics.csv``, ``best.npz`` and ``checkpoint.npz`` into ``out``."""

    FIELDS = ["epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "seconds"]

    def __init__(self, task: Task, out: str, log: Callable[[str], None] = print, progress: Optional[bool] = None,
                 log_every: Optional[int] = None) -> None:
        self.task = task
        self.config = task.config
        self.out = out
        self.log = log
        self.progress = progress
        self.optimizer = make_optimizer(self.config.optimizer, self.config.lr).setup(task.model)
        if task.sequence:
            self.loader = SeqDataLoader(task.train_set, self.config.batch_size)
        else:
            self.loader = DataLoader(task.train_set, self.config.batch_size)
        self.epoch = 0
        self.best: Optional[float] = None
        self.history: list[dict] = []
        self.log_every = log_every or max(1, self.config.epochs // 10)

    # --------------------------------------------------------------- files
    def path(self, name: str) -> str:
        return os.path.join(self.out, name)

    def _save_checkpoint(self) -> None:
        arrays = {f"model/{k}": np.asarray(v) for k, v in self.task.model.state_dict().items()}
        arrays.update({f"optimizer/{k}": v for k, v in self.optimizer.state_dict().items()})
        name, keys, pos, has_gauss, cached = np.random.get_state()
        arrays.update({"rng/keys": keys, "rng/pos": np.asarray(pos), "rng/has_gauss": np.asarray(has_gauss),
                       "rng/cached_gaussian": np.asarray(cached), "loader/index": self.loader.index,
                       "epoch": np.asarray(self.epoch), "best": np.asarray(np.nan if self.best is None else self.best)})
        save_arrays(self.path("checkpoint.npz"), arrays)

    def _checkpoint_shapes(self) -> dict[str, Optional[tuple]]:
        """The shape of every array a checkpoint of this run holds (checked before reading)."""
        shapes: dict[str, Optional[tuple]] = {f"model/{k}": None if v.data is None else tuple(v.data.shape)
                                              for k, v in self.task.model._named_state()}
        shapes.update({f"optimizer/{k}": v for k, v in self.optimizer.state_shapes().items()})
        shapes.update({"rng/keys": (624,), "rng/pos": (), "rng/has_gauss": (), "rng/cached_gaussian": (),
                       "loader/index": None, "epoch": (), "best": ()})  # (index: checked below, by name)
        return shapes

    def resume(self) -> None:
        """Restore the state saved after the last finished epoch."""
        path = self.path("checkpoint.npz")
        if not os.path.exists(path):
            raise CheckpointError(f"--resume: no checkpoint in {self.out} (run without --resume first)")
        if any(p.data is None for p in self.task.model.params()):
            self._build_lazy_parameters()
        data = load_arrays(path, self._checkpoint_shapes())
        model_state = {k[len("model/"):]: v for k, v in data.items() if k.startswith("model/")}
        self.task.model.load_state_dict(model_state)
        self.optimizer.load_state_dict({k[len("optimizer/"):]: v for k, v in data.items()
                                        if k.startswith("optimizer/")})
        np.random.set_state(("MT19937", data["rng/keys"], int(data["rng/pos"]), int(data["rng/has_gauss"]),
                             float(data["rng/cached_gaussian"])))
        if data["loader/index"].shape != self.loader.index.shape:
            raise CheckpointError("--resume: the checkpoint was made with another dataset")
        self.loader.index = data["loader/index"]
        self.loader.iteration = 0
        self.epoch = int(data["epoch"])
        best = float(data["best"])
        self.best = None if np.isnan(best) else best
        if os.path.exists(self.path("metrics.csv")):
            with open(self.path("metrics.csv"), newline="") as fh:
                self.history = [{k: (None if v in ("", None) else int(v) if k == "epoch" else float(v))
                                 for k, v in row.items()} for row in csv.DictReader(fh)][: self.epoch]

    def _build_lazy_parameters(self) -> None:
        """Run one forward pass so that lazily shaped parameters exist before loading.
        (Its random draws are overwritten when the random state is restored.)"""
        x, _ = self.task.train_set[np.arange(min(2, len(self.task.train_set)))]
        with no_grad():
            if self.task.sequence:
                self.task.model.reset_state()
                self.task.model(x[:1].reshape(1, -1))
                self.task.model.reset_state()
            else:
                self.task.model(x)

    def _write_metrics(self) -> None:
        tmp = self.path("metrics.csv.tmp")
        with open(tmp, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=self.FIELDS)
            writer.writeheader()
            for row in self.history:
                writer.writerow({k: ("" if row.get(k) is None else row[k]) for k in self.FIELDS})
        os.replace(tmp, self.path("metrics.csv"))

    def write_config(self) -> None:
        with open(self.path("config.json"), "w") as fh:
            json.dump(asdict(self.config), fh, indent=2)

    # --------------------------------------------------------------- epochs
    def _train_epoch(self) -> tuple[float, Optional[float]]:
        task, model, opt = self.task, self.task.model, self.optimizer
        bar = progress_bar(len(self.loader), desc=f"epoch {self.epoch + 1}/{self.config.epochs}", unit="batch",
                           enable=self.progress)
        total_loss, total_acc, n = 0.0, 0.0, 0
        try:
            if task.sequence:
                model.reset_state()
                loss, count = 0, 0
                for x, t in self.loader:
                    loss += F.mean_squared_error(model(x), t)
                    count += 1
                    if count % self.config.bptt == 0 or count == len(self.loader):
                        model.cleargrads()
                        loss.backward()
                        loss.unchain_backward()
                        opt.update()
                        total_loss += float(loss.data)
                        loss = 0
                    bar.update(1)
                return total_loss / count, None
            for x, t in self.loader:
                y = model(x)
                loss = _loss(task, y, t)
                model.cleargrads()
                loss.backward()
                opt.update()
                total_loss += float(loss.data) * len(x)
                if task.classification:
                    total_acc += float(F.accuracy(y, t).data) * len(x)
                n += len(x)
                bar.update(1)
                bar.set_postfix_str(f"loss {total_loss / n:.4f}")
        finally:
            bar.close()
        return total_loss / n, (total_acc / n if task.classification else None)

    def run(self) -> list[dict]:
        import time

        while self.epoch < self.config.epochs:
            start = time.perf_counter()
            train_loss, train_acc = self._train_epoch()
            seconds = time.perf_counter() - start
            test_loss, test_acc = evaluate(self.task, self.config.batch_size)
            self.epoch += 1
            row = {"epoch": self.epoch, "train_loss": train_loss, "train_accuracy": train_acc,
                   "test_loss": test_loss, "test_accuracy": test_acc, "seconds": round(seconds, 4)}
            self.history.append(row)
            score = test_acc if test_acc is not None else -test_loss
            if self.best is None or score > self.best:
                self.best = score
                self.task.model.save_weights(self.path("best.npz"))
            self._write_metrics()
            self._save_checkpoint()
            if self.epoch % self.log_every == 0 or self.epoch == self.config.epochs or self.epoch == 1:
                acc = "" if train_acc is None else f", accuracy {train_acc:.4f}"
                tacc = "" if test_acc is None else f", accuracy {test_acc:.4f}"
                self.log(f"epoch {self.epoch:>4}: train loss {train_loss:.4f}{acc} | test loss {test_loss:.4f}{tacc}"
                         f" | {seconds:.2f} s")
        return self.history
