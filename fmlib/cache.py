"""Trained models saved once and loaded in class: ``FMLIB_CACHE=folder``.

On a slow class machine a teacher runs each notebook once before the lesson with the environment
variable ``FMLIB_CACHE`` set to a folder; every training call (``train_cfm``, ``train_cnf_mle``,
``train_dsm``) then saves the weights it produced and its loss history there. In class, with the
same variable set, the same call with the same arguments and the same initial weights loads them
instead of training: the notebook shows the same figures, and its training cells take well under a
second. Without the variable nothing is saved or loaded.

A call is cached only when all of its inputs can be told apart by value: tensors (by their bytes),
numbers, strings, None, and objects whose ``repr`` names their settings (fmlib's paths, sources
and models do). A callback, a time budget, or any input whose ``repr`` is only a memory address
means the call trains live, since loading could not reproduce what it does. A folder that cannot
be written (a teacher's read-only cache on a hub) is read, never written.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import os
import re
from pathlib import Path

import torch
from torch import Tensor, nn

from .i18n import t as _t

ENV = "FMLIB_CACHE"
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
# inputs that change what a call does without changing what it computes are left out of the key
_NOT_IN_KEY = {"progress"}
# inputs with which loading cannot reproduce the call: it trains live
_LIVE_ONLY = {"callback", "time_budget_s"}


def folder() -> Path | None:
    """The cache folder named by ``FMLIB_CACHE``, or None when caching is off."""
    value = os.environ.get(ENV, "").strip()
    return Path(value).expanduser() if value else None


def _digest_tensor(h, t: Tensor) -> None:
    t = t.detach().cpu().contiguous()
    h.update(f"{t.dtype}{tuple(t.shape)}".encode())
    h.update(t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.float().numpy().tobytes())


def _digest(h, value) -> bool:
    """Feed ``value`` into the hash; False when it cannot be told apart by value."""
    if isinstance(value, Tensor):
        _digest_tensor(h, value)
    elif isinstance(value, nn.Module):
        h.update(repr(value).encode())
        for name, tensor in value.state_dict().items():
            h.update(name.encode())
            _digest_tensor(h, tensor)
    elif value is None or isinstance(value, (bool, int, float, str)):
        h.update(repr(value).encode())
    elif isinstance(value, (list, tuple)):
        h.update(f"{type(value).__name__}{len(value)}".encode())
        return all(_digest(h, v) for v in value)
    elif isinstance(value, dict):
        h.update(f"dict{len(value)}".encode())
        return all(_digest(h, k) and _digest(h, v) for k, v in sorted(value.items(), key=str))
    else:
        text = repr(value)
        if _ADDRESS.search(text):
            return False
        h.update(f"{type(value).__module__}.{type(value).__qualname__}:{text}".encode())
    return True


def _name(fn, qualified: bool = False) -> str:
    name = getattr(fn, "__qualname__" if qualified else "__name__", None) or type(fn).__qualname__
    return f"{getattr(fn, '__module__', type(fn).__module__)}.{name}" if qualified else name


def _flat(bound: inspect.BoundArguments):
    """The call's arguments by name, with the options of a ``**options`` parameter among them."""
    for name, value in bound.arguments.items():
        kind = bound.signature.parameters[name].kind
        if kind is inspect.Parameter.VAR_KEYWORD:
            yield from sorted(value.items())
        else:
            yield name, value


def key(fn, bound: inspect.BoundArguments) -> str | None:
    """The cache key of one call of ``fn``, or None when the call must train live."""
    from . import __version__

    h = hashlib.sha256(f"{_name(fn, qualified=True)} fmlib {__version__}".encode())
    h.update(f"torch {torch.__version__}".encode())
    for name, value in _flat(bound):
        if name in _LIVE_ONLY and value is not None:
            return None
        if name in _NOT_IN_KEY:
            continue
        h.update(name.encode())
        if not _digest(h, value):
            return None
    return h.hexdigest()[:32]


def cached(fn):
    """Wrap a training function ``fn(model, ...) -> history`` so that ``FMLIB_CACHE`` works.

    On a hit the model's weights (``state_dict``) and the returned history are loaded, the model is
    left in eval mode as after training, and nothing is trained.
    """
    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        where = folder()
        if where is None:
            return fn(*args, **kwargs)
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        model = bound.arguments.get("model")
        name = key(fn, bound) if isinstance(model, nn.Module) else None
        if name is None:
            return fn(*args, **kwargs)
        file = where / f"{_name(fn)}-{name}.pt"
        if file.exists():
            saved = torch.load(file, weights_only=False)
            model.load_state_dict(saved["state_dict"])
            model.eval()
            if dict(_flat(bound)).get("progress", True):
                print(
                    _t(
                        "{name}: loaded the trained weights from {file} (FMLIB_CACHE)",
                        name=_name(fn),
                        file=file,
                    )
                )
            return saved["history"]
        history = fn(*args, **kwargs)
        try:
            where.mkdir(parents=True, exist_ok=True)
            tmp = file.with_suffix(f".{os.getpid()}.tmp")
            torch.save({"state_dict": model.state_dict(), "history": history}, tmp)
            tmp.replace(file)  # atomic: a class reading the folder never sees half a file
        except OSError:
            pass  # a read-only cache: train live, save nothing
        return history

    wrapper.__wrapped__ = fn
    return wrapper
