"""Toy distributions for Chapter 6: the source p_0 (a standard Gaussian) and 2-D targets p_1.

Every sampler takes ``n`` and a ``torch.Generator`` and returns float32 points of shape (n, 2)
(with integer labels where the data has classes), so the same seed gives the same points.
Section 6.1.4 (x_0 ~ p_0, x_1 ~ p_1) and Exercise 6.2 (the two-moons target). One real data set
goes further: scikit-learn's 8 x 8 handwritten digits, 64-D points with ten classes (``digits``).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch
from sklearn.datasets import load_digits, make_moons
from torch import Tensor

from ._validate import check_generator, check_points, check_positive_int

__all__ = [
    "LabeledSample",
    "StandardGaussian",
    "two_moons",
    "eight_gaussians",
    "checkerboard",
    "circles",
    "DATASETS",
    "sample_data",
    "moons_distance",
    "moons_gap",
    "DIGITS_HELD_OUT",
    "DIGITS_SPLIT_SEED",
    "Digits",
    "digits",
]


class LabeledSample(NamedTuple):
    x: Tensor  # (n, 2) points
    y: Tensor  # (n,) integer class labels


def _seed_from(generator: torch.Generator | None) -> int:
    """Draw a numpy seed from a torch generator, so scikit-learn samplers follow torch seeding."""
    return int(torch.randint(0, 2**31 - 1, (1,), generator=generator).item())


def moons_moments(noise: float) -> tuple[Tensor, Tensor]:
    """Exact mean and standard deviation of scikit-learn's ``make_moons`` law with this noise.

    The outer moon is (cos s, sin s), the inner (1 - cos s, 1/2 - sin s), s uniform on [0, pi],
    plus N(0, noise^2 I). Standardising with these (not with a sample's own moments) keeps two
    samples draws of one fixed law, which the W2 noise floor needs.
    """
    mean = torch.tensor([0.5, 0.25])
    var_x = 0.5 + 0.25 + noise**2
    var_y = 0.5 - 4 / math.pi**2 + (2 / math.pi - 0.25) ** 2 + noise**2
    return mean, torch.tensor([var_x, var_y]).sqrt()


def two_moons(
    n: int,
    generator: torch.Generator | None = None,
    noise: float = 0.05,
    labels: bool = False,
    stratified: bool = True,
) -> Tensor | LabeledSample:
    """Standardised two moons; labels 0 (outer) and 1 (inner). Exercise 6.2.

    ``stratified=True`` is scikit-learn's ``make_moons``: exactly n // 2 points on the outer moon,
    placed at *evenly spaced* angles, then Gaussian noise and a shuffle. ``stratified=False`` draws
    the same law i.i.d. (uniform angles, fair-coin moon), as a generative model does. Two stratified
    samples are closer to each other than two i.i.d. samples, which matters for the W2 noise floor
    (see ``fmlib.ot.w2_noise_floor``). Returns x: (n, 2), or ``LabeledSample(x, y)``.
    """
    check_positive_int(n, "n")
    check_generator(generator)
    if not (isinstance(noise, (int, float)) and noise >= 0):
        raise ValueError(f"noise must be a non-negative float; got {noise!r}")
    if stratified:
        xy, y_np = make_moons(n_samples=n, noise=noise, random_state=_seed_from(generator))
        x, y = torch.from_numpy(xy.astype(np.float32)), torch.from_numpy(y_np.astype(np.int64))
    else:
        y = (torch.rand(n, generator=generator) < 0.5).long()
        angle = math.pi * torch.rand(n, generator=generator)
        outer = torch.stack([angle.cos(), angle.sin()], dim=1)
        inner = torch.stack([1 - angle.cos(), 0.5 - angle.sin()], dim=1)
        x = torch.where(y[:, None].bool(), inner, outer) + noise * torch.randn(
            n, 2, generator=generator
        )
    mean, std = moons_moments(noise)
    x = (x - mean) / std
    if labels:
        return LabeledSample(x, y)
    return x


def eight_gaussians(
    n: int,
    generator: torch.Generator | None = None,
    radius: float = 2.0,
    std: float = 0.2,
    labels: bool = False,
) -> Tensor | LabeledSample:
    """Eight isotropic Gaussians of width ``std`` on a circle of ``radius``; labels 0..7."""
    check_positive_int(n, "n")
    check_generator(generator)
    y = torch.randint(0, 8, (n,), generator=generator)
    angle = y.float() * (2 * math.pi / 8)
    centres = radius * torch.stack([angle.cos(), angle.sin()], dim=1)
    x = centres + std * torch.randn(n, 2, generator=generator)
    return LabeledSample(x, y) if labels else x


def checkerboard(n: int, generator: torch.Generator | None = None, squares: int = 4) -> Tensor:
    """Uniform on the dark squares of a ``squares`` x ``squares`` board spanning [-2, 2]^2."""
    check_positive_int(n, "n")
    check_generator(generator)
    side = 4.0 / squares
    cells = [(i, j) for i in range(squares) for j in range(squares) if (i + j) % 2 == 0]
    pick = torch.randint(0, len(cells), (n,), generator=generator)
    corner = torch.tensor(cells, dtype=torch.float32)[pick] * side - 2.0
    return corner + side * torch.rand(n, 2, generator=generator)


def circles(
    n: int,
    generator: torch.Generator | None = None,
    radii: tuple[float, float] = (1.0, 2.0),
    noise: float = 0.08,
    labels: bool = False,
) -> Tensor | LabeledSample:
    """Two concentric circles of the given radii with Gaussian noise; label = which circle."""
    check_positive_int(n, "n")
    check_generator(generator)
    y = torch.randint(0, len(radii), (n,), generator=generator)
    angle = 2 * math.pi * torch.rand(n, generator=generator)
    r = torch.tensor(radii, dtype=torch.float32)[y]
    x = r[:, None] * torch.stack([angle.cos(), angle.sin()], dim=1) + noise * torch.randn(
        n, 2, generator=generator
    )
    return LabeledSample(x, y) if labels else x


class StandardGaussian:
    """The source p_0 = N(0, I_d). Section 6.1.1."""

    def __init__(self, dim: int = 2):
        self.dim = check_positive_int(dim, "dim")

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """x_0: (n, d) draws from N(0, I)."""
        check_positive_int(n, "n")
        check_generator(generator)
        return torch.randn(n, self.dim, generator=generator)

    def log_prob(self, x: Tensor) -> Tensor:
        """log p_0(x): (B,) for x: (B, d)."""
        check_points(x, "x", dim=self.dim)
        return -0.5 * (x**2).sum(dim=1) - 0.5 * self.dim * math.log(2 * math.pi)

    def __repr__(self) -> str:
        return f"StandardGaussian(dim={self.dim})"


DATASETS = {
    "moons": two_moons,
    "8gaussians": eight_gaussians,
    "checkerboard": checkerboard,
    "circles": circles,
}


def sample_data(name: str, n: int, generator: torch.Generator | None = None) -> Tensor:
    """Points (n, 2) from one of ``DATASETS`` by name."""
    if name not in DATASETS:
        raise ValueError(f"dataset must be one of {sorted(DATASETS)}; got {name!r}")
    return DATASETS[name](n, generator)


def _arc_distance(p: Tensor, centre: tuple[float, float], lower: bool) -> Tensor:
    """Distance of raw points p: (B, 2) to a unit half-circle arc (upper or lower half)."""
    d = p - torch.tensor(centre, dtype=p.dtype)
    r = d.norm(dim=1)
    on_arc = d[:, 1] <= 0 if lower else d[:, 1] >= 0  # the nearest point lies inside the arc
    ends = torch.tensor([[1.0, 0.0], [-1.0, 0.0]], dtype=p.dtype)  # arc end points, centred
    to_end = torch.cdist(d, ends).min(dim=1).values
    return torch.where(on_arc, (r - 1).abs(), to_end)


def moons_distance(x: Tensor, noise: float = 0.05) -> Tensor:
    """Distance (in ``make_moons`` units) of standardised points x: (B, 2) to the nearer moon. Exercise 6.2.

    The moons are the noise-free arcs (cos s, sin s) and (1 - cos s, 1/2 - sin s), s in [0, pi];
    x is mapped back through the same exact moments ``two_moons`` standardises with.
    """
    check_points(x, "x", dim=2)
    mean, std = moons_moments(noise)
    p = x * std.to(x.dtype) + mean.to(x.dtype)
    return torch.minimum(_arc_distance(p, (0.0, 0.0), False), _arc_distance(p, (1.0, 0.5), True))


def moons_gap(x: Tensor, noise: float = 0.05, width: float = 3.0) -> Tensor:
    """Which standardised points x: (B, 2) lie in the low-density gap between the moons. Exercise 6.2.4.

    The gap is the region the two moons enclose (the half-discs whose rims they are) farther
    than ``width`` noise standard deviations from either moon, where the data density is below
    exp(-width^2 / 2) of its value on the moons (1 % for width 3). Returns a (B,) bool tensor.
    """
    if not (isinstance(width, (int, float)) and width >= 0):
        raise ValueError(f"width must be a non-negative number of noise widths; got {width!r}")
    far = moons_distance(x, noise) > width * noise
    mean, std = moons_moments(noise)
    p = x * std.to(x.dtype) + mean.to(x.dtype)
    in_outer = (p.pow(2).sum(1) < 1) & (p[:, 1] > 0)
    in_inner = ((p - torch.tensor([1.0, 0.5], dtype=p.dtype)).pow(2).sum(1) < 1) & (p[:, 1] < 0.5)
    return far & (in_outer | in_inner)


# the fixed split of scikit-learn's 1797 digits: 500 held out (about 50 of each class), 1297 to train on
DIGITS_HELD_OUT = 500
DIGITS_SPLIT_SEED = 0


class Digits(NamedTuple):
    """The 8 x 8 digits, split once: ``train`` and ``held_out`` (each a ``LabeledSample``).

    Points are the 64 pixels (row by row) standardised with the training split's moments: the
    training mean image subtracted and one scale for all pixels, ``scale``, the root mean
    per-pixel variance, so that the training points have mean 0 and variance 1 per pixel on
    average (a per-pixel scale would divide the always-blank border pixels by zero).
    ``to_pixels`` maps points back to scikit-learn's grey levels 0..16.
    """

    train: LabeledSample
    held_out: LabeledSample
    mean: Tensor  # (64,) the training mean image, in grey levels
    scale: float  # grey levels per unit

    def to_pixels(self, x: Tensor) -> Tensor:
        """Points (B, 64) back to images (B, 8, 8) in grey levels (not clipped to 0..16)."""
        check_points(x, "x", dim=64, finite=False)
        return (x * self.scale + self.mean.to(x.dtype)).reshape(-1, 8, 8)


def digits(held_out: int = DIGITS_HELD_OUT, seed: int = DIGITS_SPLIT_SEED) -> Digits:
    """scikit-learn's 1797 handwritten digits (no download), split and standardised. Section 6.6.

    ``held_out`` images (stratified: the same share of every class) are kept apart for measuring,
    with scikit-learn's ``train_test_split(random_state=seed)``; the rest are the training split.
    Both are float32 (n, 64) points with long labels 0..9, standardised by the training split
    alone (see ``Digits``). The defaults give 1297 training and 500 held-out images, 49 to 51 of
    each class.
    """
    from sklearn.model_selection import train_test_split

    check_positive_int(held_out, "held_out")
    if not 10 <= held_out <= 1797 - 10:
        raise ValueError(f"held_out must lie in [10, 1787] (of 1797 images); got {held_out}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int; got {type(seed).__name__}")
    bunch = load_digits()
    pixels = bunch.data.astype(np.float32)
    x_tr, x_ho, y_tr, y_ho = train_test_split(
        pixels, bunch.target, test_size=held_out, random_state=seed, stratify=bunch.target
    )
    mean = x_tr.mean(axis=0)
    scale = float(np.sqrt(x_tr.var(axis=0).mean()))

    def points(x: np.ndarray, y: np.ndarray) -> LabeledSample:
        return LabeledSample(torch.from_numpy((x - mean) / scale), torch.from_numpy(y).long())

    return Digits(points(x_tr, y_tr), points(x_ho, y_ho), torch.from_numpy(mean), scale)
