"""Optimizers, gradient hooks and learning-rate schedules.

``optimizer = Adam().setup(model)``; after ``loss.backward()``, ``optimizer.update()``
changes each parameter that has a gradient. Hooks run first, on the list of those
parameters. Every update keeps the parameter's dtype (a float32 model has float32 state).
An optimizer's :meth:`state_dict` holds its step count, learning rate and per-parameter
state (keyed by the parameter's path in the model), so training resumes exactly.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Optional, cast

import numpy as np

from zerograd.backend import as_numpy, get_array_module
from zerograd.core import Parameter, Variable
from zerograd.layers.base import Layer
from zerograd.serialization import CheckpointError


class Optimizer:
    """Base class: subclasses define ``update_one(param)`` and name their state in ``slots``."""

    #: Names of the per-parameter state arrays (saved in state_dict).
    slots: tuple[str, ...] = ()
    #: state_dict keys of files written before every optimizer had ``lr`` -> the attribute they set.
    legacy_keys: dict[str, str] = {}

    def __init__(self) -> None:
        self.target: Optional[Layer] = None
        self.hooks: list[Callable[[list], None]] = []
        self.t = 0  # number of updates made
        self.state: dict[int, dict[str, Any]] = {}  # id(param) -> slot name -> array

    def setup(self, target: Layer) -> "Optimizer":
        """Attach to a Layer or Model (or anything with ``params()``); returns the optimizer."""
        if not hasattr(target, "params"):
            raise TypeError(f"{type(self).__name__}.setup: expected a Layer or Model, got {type(target).__name__}")
        self.target = target
        return self

    def update(self) -> None:
        """Apply hooks, then update every parameter that has a gradient."""
        if self.target is None:
            raise RuntimeError(f"{type(self).__name__}.update: call setup(model) first")
        params = [p for p in self.target.params() if p.grad is not None]
        for hook in self.hooks:
            hook(params)
        self.t += 1
        # hooks such as FreezeParam may drop gradients: look again (DeZero crashes here)
        for p in params:
            if p.grad is not None:
                self.update_one(p)

    def update_one(self, param: Parameter) -> None:
        raise NotImplementedError

    def add_hook(self, f: Callable[[list], None]) -> "Optimizer":
        self.hooks.append(f)
        return self

    def _slot(self, param: Parameter, name: str, init: Optional[Callable[[Any], Any]] = None):
        """The state array ``name`` of ``param``, created (zeros like the parameter) on first use."""
        state = self.state.setdefault(id(param), {})
        arr = state.get(name)
        if arr is None:
            xp = get_array_module(param.data)
            arr = xp.zeros_like(param.data) if init is None else init(param.data)
            state[name] = arr
        return arr

    # ----------------------------------------------------- learning rate
    @property
    def base_lr(self) -> float:
        """The base learning rate, ``lr`` in every optimizer (what schedules change)."""
        return self.lr

    @base_lr.setter
    def base_lr(self, value: float) -> None:
        self.lr = value

    # ---------------------------------------------------------- state
    def _named_params(self) -> list[tuple[str, Parameter]]:
        if self.target is None:
            raise RuntimeError(f"{type(self).__name__}: call setup(model) before saving or loading state")
        if hasattr(self.target, "named_params"):
            return list(self.target.named_params())
        return [(str(i), p) for i, p in enumerate(self.target.params())]

    def state_dict(self) -> dict[str, np.ndarray]:
        """Step count, learning rate and per-parameter state, as arrays keyed by name."""
        out: dict[str, np.ndarray] = {"t": np.asarray(self.t), "lr": np.asarray(self.lr)}
        for key, p in self._named_params():
            for name, arr in self.state.get(id(p), {}).items():
                out[f"state/{key}/{name}"] = as_numpy(arr).copy()
        return out

    def state_shapes(self) -> dict[str, Optional[tuple[int, ...]]]:
        """The shape of every key :meth:`state_dict` may hold (None: a parameter not created
        yet), for checking a file before reading it."""
        out: dict[str, Optional[tuple[int, ...]]] = {"t": (), "lr": ()}
        out.update({key: () for key in self.legacy_keys})
        for key, p in self._named_params():
            for name in self.slots:
                out[f"state/{key}/{name}"] = None if p.data is None else tuple(p.data.shape)
        return out

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned; unknown keys or shapes raise CheckpointError."""
        named = dict(self._named_params())
        if "t" not in state:
            raise CheckpointError(f"{type(self).__name__}.load_state_dict: missing key 't'")
        new_state: dict[int, dict[str, Any]] = {}
        for key, value in state.items():
            if key in ("t", "lr") or key in self.legacy_keys:
                continue
            parts = key.split("/")
            if parts[0] != "state" or len(parts) < 3:
                raise CheckpointError(f"{type(self).__name__}.load_state_dict: unexpected key {key!r}")
            pkey, slot = "/".join(parts[1:-1]), parts[-1]
            if pkey not in named:
                raise CheckpointError(f"{type(self).__name__}.load_state_dict: {key!r} names no parameter of the model")
            if slot not in self.slots:
                raise CheckpointError(f"{type(self).__name__}.load_state_dict: {key!r}: unknown state {slot!r}")
            p = named[pkey]
            if p.data is not None and tuple(value.shape) != tuple(p.data.shape):
                raise CheckpointError(f"{type(self).__name__}.load_state_dict: {key!r} has shape "
                                      f"{tuple(value.shape)} but the parameter has {tuple(p.data.shape)}")
            xp = get_array_module(p.data) if p.data is not None else np
            dtype = p.data.dtype if p.data is not None else value.dtype
            new_state.setdefault(id(p), {})[slot] = xp.asarray(value, dtype=dtype).copy()
        self.t = int(state["t"])
        for key, attr in self.legacy_keys.items():
            if key in state:
                setattr(self, attr, float(state[key]))
        if "lr" in state:
            self.lr = float(state["lr"])
        self.state = new_state


class SGD(Optimizer):
    """param -= lr * grad."""

    def __init__(self, lr: float = 0.01) -> None:
        super().__init__()
        self.lr = lr

    def update_one(self, param: Parameter) -> None:
        param.data -= self.lr * param.grad.data  # type: ignore[union-attr]


class MomentumSGD(Optimizer):
    """v = momentum * v - lr * grad; param += v."""

    slots = ("v",)

    def __init__(self, lr: float = 0.01, momentum: float = 0.9) -> None:
        super().__init__()
        self.lr = lr
        self.momentum = momentum

    def update_one(self, param: Parameter) -> None:
        v = self._slot(param, "v")
        v *= self.momentum
        v -= self.lr * param.grad.data  # type: ignore[union-attr]
        param.data += v


class AdaGrad(Optimizer):
    """h += grad^2; param -= lr * grad / (sqrt(h) + eps)."""

    slots = ("h",)

    def __init__(self, lr: float = 0.001, eps: float = 1e-8) -> None:
        super().__init__()
        self.lr = lr
        self.eps = eps

    def update_one(self, param: Parameter) -> None:
        xp = get_array_module(param.data)
        h = self._slot(param, "h")
        grad = param.grad.data  # type: ignore[union-attr]
        h += grad * grad
        param.data -= self.lr * grad / (xp.sqrt(h) + self.eps)


class AdaDelta(Optimizer):
    """Zeiler's AdaDelta: running averages of grad^2 and of update^2 set the step dx;
    param -= lr * dx, with PyTorch's multiplier ``lr`` (1.0: Zeiler's rule; what schedules change)."""

    slots = ("msg", "msdx")
    legacy_keys = {"rho": "rho"}

    def __init__(self, rho: float = 0.95, eps: float = 1e-6, lr: float = 1.0) -> None:
        super().__init__()
        self.rho = rho
        self.eps = eps
        self.lr = lr

    def update_one(self, param: Parameter) -> None:
        xp = get_array_module(param.data)
        msg = self._slot(param, "msg")
        msdx = self._slot(param, "msdx")
        rho, eps = self.rho, self.eps
        grad = param.grad.data  # type: ignore[union-attr]
        msg *= rho
        msg += (1 - rho) * grad * grad
        dx = xp.sqrt((msdx + eps) / (msg + eps)) * grad
        msdx *= rho
        msdx += (1 - rho) * dx * dx
        param.data -= self.lr * dx


class RMSprop(Optimizer):
    """ms = alpha * ms + (1 - alpha) grad^2; param -= lr * grad / (sqrt(ms) + eps)."""

    slots = ("ms",)

    def __init__(self, lr: float = 0.01, alpha: float = 0.99, eps: float = 1e-8) -> None:
        super().__init__()
        self.lr = lr
        self.alpha = alpha
        self.eps = eps

    def update_one(self, param: Parameter) -> None:
        xp = get_array_module(param.data)
        ms = self._slot(param, "ms")
        grad = param.grad.data  # type: ignore[union-attr]
        ms *= self.alpha
        ms += (1 - self.alpha) * grad * grad
        param.data -= self.lr * grad / (xp.sqrt(ms) + self.eps)


class Adam(Optimizer):
    """Adam as in the book: m and v are running moments; the step uses the bias-corrected rate
    ``corrected_lr = lr * sqrt(1 - beta2^t) / (1 - beta1^t)``. ``alpha`` is the book's name
    for ``lr`` (an alias, in the constructor too)."""

    slots = ("m", "v")
    legacy_keys = {"alpha": "lr"}

    def __init__(self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 alpha: Optional[float] = None) -> None:
        super().__init__()
        self.lr = lr if alpha is None else alpha
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps

    @property
    def alpha(self) -> float:
        return self.lr

    @alpha.setter
    def alpha(self, value: float) -> None:
        self.lr = value

    @property
    def corrected_lr(self) -> float:
        """The step's rate after the bias corrections (DeZero's ``Adam.lr``)."""
        fix1 = 1.0 - math.pow(self.beta1, self.t)
        fix2 = 1.0 - math.pow(self.beta2, self.t)
        return self.lr * math.sqrt(fix2) / fix1

    def update_one(self, param: Parameter) -> None:
        xp = get_array_module(param.data)
        m = self._slot(param, "m")
        v = self._slot(param, "v")
        grad = param.grad.data  # type: ignore[union-attr]
        m += (1 - self.beta1) * (grad - m)
        v += (1 - self.beta2) * (grad * grad - v)
        param.data -= self.corrected_lr * m / (xp.sqrt(v) + self.eps)


class AdamW(Adam):
    """Adam with decoupled weight decay: param -= lr * weight_decay * param before the Adam step."""

    def __init__(self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 weight_decay: float = 0.01, alpha: Optional[float] = None) -> None:
        super().__init__(lr, beta1, beta2, eps, alpha)
        self.weight_decay = weight_decay

    def update_one(self, param: Parameter) -> None:
        param.data -= (self.lr * self.weight_decay) * param.data
        super().update_one(param)


# --------------------------------------------------------------------- hooks
#: Every optimizer by its command-line name (one table: the CLI's choices and construction).
BY_NAME: dict[str, type[Optimizer]] = {
    "sgd": SGD, "momentum": MomentumSGD, "adagrad": AdaGrad, "adadelta": AdaDelta, "rmsprop": RMSprop,
    "adam": Adam, "adamw": AdamW,
}


def create(name: str, lr: float) -> Optimizer:
    """The optimizer called ``name`` in :data:`BY_NAME`, with base learning rate ``lr``."""
    if name not in BY_NAME:
        raise ValueError(f"unknown optimizer {name!r} (choose from {', '.join(BY_NAME)})")
    return cast("Callable[..., Optimizer]", BY_NAME[name])(lr=lr)  # (each optimizer there takes lr)


class WeightDecay:
    """Adds ``rate * param`` to each gradient (L2 regularisation). The sum makes a new array,
    so gradients never change in place."""

    def __init__(self, rate: float) -> None:
        self.rate = rate

    def __call__(self, params: list) -> None:
        for p in params:
            if p.grad is not None:  # (an earlier hook, FreezeParam, may have dropped it)
                p.grad = Variable(p.grad.data + self.rate * p.data, requires_grad=False)


class ClipGrad:
    """Scales all gradients together so that their global L2 norm is at most ``max_norm``."""

    def __init__(self, max_norm: float) -> None:
        self.max_norm = max_norm

    def __call__(self, params: list) -> None:
        params = [p for p in params if p.grad is not None]  # (FreezeParam may have dropped some)
        total = 0.0
        for p in params:
            g = p.grad.data
            total += float((g * g).sum())
        norm = math.sqrt(total)
        rate = self.max_norm / (norm + 1e-6)
        if rate < 1:
            for p in params:
                p.grad = Variable(p.grad.data * p.grad.data.dtype.type(rate), requires_grad=False)


class FreezeParam:
    """Keeps the parameters of the given layers (or the given Parameters) unchanged by
    dropping their gradients before the update."""

    def __init__(self, *layers: Any) -> None:
        self.frozen: set[int] = set()
        for layer in layers:
            if isinstance(layer, Parameter):
                self.frozen.add(id(layer))
            elif hasattr(layer, "params"):
                self.frozen.update(id(p) for p in layer.params())
            else:
                raise TypeError(f"FreezeParam: expected Layers or Parameters, got {type(layer).__name__}")

    def __call__(self, params: list) -> None:
        for p in params:
            if id(p) in self.frozen:
                p.grad = None


# ------------------------------------------------------------ lr schedules
def _at_least_one(owner: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{owner}: {name} must be an integer of at least 1, got {value!r}")
    return int(value)


class LRScheduler:
    """Sets ``optimizer.base_lr`` from a schedule; call :meth:`step` once per epoch (or per
    iteration, as you choose). ``last_step`` counts the calls."""

    def __init__(self, optimizer: Optimizer) -> None:
        self.optimizer = optimizer
        self.initial_lr = optimizer.base_lr
        self.last_step = 0

    def lr_at(self, step: int) -> float:
        raise NotImplementedError

    def step(self) -> float:
        self.last_step += 1
        lr = self.lr_at(self.last_step)
        self.optimizer.base_lr = lr
        return lr

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"last_step": np.asarray(self.last_step), "initial_lr": np.asarray(self.initial_lr)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.last_step = int(state["last_step"])
        self.initial_lr = float(state["initial_lr"])
        self.optimizer.base_lr = self.lr_at(self.last_step)


class StepLR(LRScheduler):
    """lr = initial * gamma ** (step // step_size)."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        super().__init__(optimizer)
        self.step_size = _at_least_one("StepLR", "step_size", step_size)
        self.gamma = gamma

    def lr_at(self, step: int) -> float:
        return self.initial_lr * self.gamma ** (step // self.step_size)


class ExponentialLR(LRScheduler):
    """lr = initial * gamma ** step."""

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        super().__init__(optimizer)
        self.gamma = gamma

    def lr_at(self, step: int) -> float:
        return self.initial_lr * self.gamma ** step


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (initial - eta_min) (1 + cos(pi step / t_max)) / 2, flat after t_max."""

    def __init__(self, optimizer: Optimizer, t_max: int, eta_min: float = 0.0) -> None:
        super().__init__(optimizer)
        self.t_max = _at_least_one("CosineAnnealingLR", "t_max", t_max)
        self.eta_min = eta_min

    def lr_at(self, step: int) -> float:
        s = min(step, self.t_max)
        return self.eta_min + (self.initial_lr - self.eta_min) * (1 + math.cos(math.pi * s / self.t_max)) / 2


class WarmupLR(LRScheduler):
    """Linear warm-up from initial / warmup_steps to initial over ``warmup_steps`` steps, then
    ``after`` (another schedule, stepped from then on) or constant."""

    def __init__(self, optimizer: Optimizer, warmup_steps: int, after: Optional[LRScheduler] = None) -> None:
        super().__init__(optimizer)
        self.warmup_steps = _at_least_one("WarmupLR", "warmup_steps", warmup_steps)
        self.after = after
        if after is not None:
            after.initial_lr = self.initial_lr
        optimizer.base_lr = self.initial_lr / warmup_steps

    def lr_at(self, step: int) -> float:
        if step < self.warmup_steps:
            return self.initial_lr * (step + 1) / self.warmup_steps
        if self.after is None:
            return self.initial_lr
        return self.after.lr_at(step - self.warmup_steps)

__all__ = [
    "Optimizer", "SGD", "MomentumSGD", "AdaGrad", "AdaDelta", "RMSprop", "Adam", "AdamW", "BY_NAME",
    "create", "WeightDecay", "ClipGrad", "FreezeParam", "LRScheduler", "StepLR", "ExponentialLR",
    "CosineAnnealingLR", "WarmupLR",
]
