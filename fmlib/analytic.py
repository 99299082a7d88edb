"""Closed-form ground truths for a Gaussian source p_0 = N(0, I) and an affine path. Section 6.3.

For a Gaussian-mixture target p_1 = sum_j w_j N(m_j, S_j) and x_t = alpha_t x_1 + sigma_t x_0,
the marginal p_t is again a mixture, with components N(alpha_t m_j, C_j), C_j = alpha_t^2 S_j
+ sigma_t^2 I, so everything of Section 6.3 has a closed form:
- the marginal density log p_t(x) and the score grad log p_t(x);
- the marginal velocity u_t(x) = E[u_t(x | x_0, x_1) | x_t = x] (Section 6.3.2): the
  posterior-weighted average of d_alpha_t E[x_1 | x, j] + d_sigma_t E[x_0 | x, j].
An empirical target (a finite point set) is the mixture with S_j = 0, so the same code gives the
exact field that a perfect CFM model would learn from those points. Gaussian to Gaussian is the
one-component case.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ._validate import as_time, check_generator, check_points, check_positive_int
from .paths import AffinePath, linear_path

__all__ = [
    "GaussianMixture",
    "empirical_target",
    "gaussian_target",
    "gaussian_w2",
    "GaussianDisplacement",
    "EmpiricalTarget",
    "conditional_velocity_variance",
]


class GaussianMixture:
    """p_1 = sum_j w_j N(m_j, S_j) carried from N(0, I) along an affine path. Section 6.3.

    means: (K, D); covs: (K, D, D), (K,) isotropic variances, or None (point masses);
    weights: (K,) or None (uniform). Methods take x: (B, D) and t: float or (B,) and return the
    exact ``log_prob`` (B,), ``score`` (B, D) and ``velocity`` (B, D) of the marginal path; the
    object itself is a vector field ``v(x, t)``.
    """

    def __init__(
        self,
        means: Tensor,
        covs: Tensor | None = None,
        weights: Tensor | None = None,
        path: AffinePath | None = None,
    ):
        check_points(means, "means")
        k, d = means.shape
        self.means = means.double()
        if covs is None:
            covs = torch.zeros(k, d, d, dtype=torch.float64)
        elif not isinstance(covs, Tensor):
            raise TypeError(
                f"covs must be a tensor of shape (K, D, D) or (K,); got {type(covs).__name__}"
            )
        elif covs.shape == (k,):
            covs = covs.double()[:, None, None] * torch.eye(d, dtype=torch.float64)
        elif covs.shape != (k, d, d):
            raise ValueError(
                f"covs must have shape (K, D, D) = ({k}, {d}, {d}) or (K,); got {tuple(covs.shape)}"
            )
        self.covs = covs.double()
        if not torch.allclose(self.covs, self.covs.transpose(-1, -2)) or bool(
            (torch.linalg.eigvalsh(self.covs) < -1e-9 * (1 + self.covs.abs().amax())).any()
        ):
            raise ValueError("covs must be symmetric positive semi-definite covariance matrices")
        if weights is None:
            weights = torch.full((k,), 1.0 / k, dtype=torch.float64)
        elif not isinstance(weights, Tensor) or weights.shape != (k,) or bool((weights < 0).any()):
            raise ValueError(
                f"weights must be a non-negative (K,) = ({k},) tensor; got {getattr(weights, 'shape', weights)}"
            )
        self.log_w = (weights.double() / weights.sum()).log()
        self.path = path if path is not None else linear_path()
        self.dim = d

    def _components(self, x: Tensor, t: object):
        """Per-component quantities at (x, t): log N_j(x), C_j^{-1}(x - alpha m_j), coefficients."""
        check_points(x, "x", dim=self.dim)
        xd = x.double()
        alpha_t, sigma_t, d_alpha_t, d_sigma_t = self.path.coefficients(
            as_time(t, x.shape[0], x).double(), xd
        )  # each (B, 1)
        eye = torch.eye(self.dim, dtype=torch.float64)
        if bool((sigma_t == 0).any()) and bool((torch.linalg.det(self.covs) == 0).any()):
            raise ValueError(
                "the marginal of a point-mass target is singular at t = 1 (sigma_t = 0); use t < 1"
            )
        diff = xd[:, None, :] - alpha_t[..., None] * self.means[None]  # (B, K, D)
        if bool((alpha_t == alpha_t[:1]).all()) and bool((sigma_t == sigma_t[:1]).all()):
            # One t for the whole batch (a solver step, a plot): the K covariances
            # C_j = alpha^2 S_j + sigma^2 I are shared by every point, so factor them once
            # instead of B * K times (20x faster for 400 points and 100 components).
            chol = torch.linalg.cholesky(
                alpha_t[0, 0] ** 2 * self.covs + sigma_t[0, 0] ** 2 * eye
            )  # (K, D, D)
            sol = torch.einsum("kde,bke->bkd", torch.cholesky_inverse(chol), diff)
            logdet = 2 * torch.log(torch.diagonal(chol, dim1=-2, dim2=-1)).sum(-1)[None]  # (1, K)
        else:
            cov = (
                alpha_t[..., None, None] ** 2 * self.covs[None]
                + sigma_t[..., None, None] ** 2 * eye
            )
            chol = torch.linalg.cholesky(cov)  # (B, K, D, D)
            sol = torch.cholesky_solve(diff[..., None], chol)[
                ..., 0
            ]  # C^{-1} (x - alpha_t m), (B, K, D)
            logdet = 2 * torch.log(torch.diagonal(chol, dim1=-2, dim2=-1)).sum(-1)
        log_n = -0.5 * ((diff * sol).sum(-1) + logdet + self.dim * math.log(2 * math.pi))  # (B, K)
        return log_n, sol, (alpha_t, sigma_t, d_alpha_t, d_sigma_t)

    def posterior(self, x: Tensor, t: object) -> Tensor:
        """Responsibilities q(j | x_t = x): (B, K)."""
        log_n, _, _ = self._components(x, t)
        return torch.softmax(self.log_w[None] + log_n, dim=1).to(x.dtype)

    def log_prob(self, x: Tensor, t: object = 1.0) -> Tensor:
        """log p_t(x): (B,). Section 6.3.1, the marginal probability path."""
        log_n, _, _ = self._components(x, t)
        return torch.logsumexp(self.log_w[None] + log_n, dim=1).to(x.dtype)

    def score(self, x: Tensor, t: object) -> Tensor:
        """grad_x log p_t(x): (B, D). Section 6.4.2."""
        log_n, sol, _ = self._components(x, t)
        r = torch.softmax(self.log_w[None] + log_n, dim=1)
        return -(r[..., None] * sol).sum(1).to(x.dtype)

    def velocity(self, x: Tensor, t: object) -> Tensor:
        """u_t(x) = E[u_t(x | x_0, x_1) | x_t = x]: (B, D). Section 6.3.2."""
        log_n, sol, (alpha_t, sigma_t, d_alpha_t, d_sigma_t) = self._components(x, t)
        r = torch.softmax(self.log_w[None] + log_n, dim=1)  # (B, K)
        # E[x_1 | x, j] = m_j + alpha S_j C_j^{-1}(x - alpha m_j); E[x_0 | x, j] = sigma C_j^{-1}(x - alpha m_j)
        e_x1 = self.means[None] + alpha_t[..., None] * torch.einsum("kde,bke->bkd", self.covs, sol)
        e_x0 = sigma_t[..., None] * sol
        u = d_alpha_t[..., None] * e_x1 + d_sigma_t[..., None] * e_x0
        return (r[..., None] * u).sum(1).to(x.dtype)

    def __call__(self, x: Tensor, t: object) -> Tensor:
        return self.velocity(x, t)

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """x_1 ~ p_1: (n, D), float32."""
        check_positive_int(n, "n")
        check_generator(generator)
        j = torch.multinomial(self.log_w.exp(), n, replacement=True, generator=generator)
        z = torch.randn(n, self.dim, generator=generator, dtype=torch.float64)
        # A point mass has a zero (non-invertible) covariance: use an eigen-square-root instead of Cholesky.
        evals, evecs = torch.linalg.eigh(self.covs)
        root = evecs @ torch.diag_embed(evals.clamp_min(0).sqrt()) @ evecs.transpose(-1, -2)
        return (self.means[j] + torch.einsum("nde,ne->nd", root[j], z)).float()


def empirical_target(points: Tensor, path: AffinePath | None = None) -> GaussianMixture:
    """The exact marginal path towards a finite point set (what CFM learns from those points)."""
    return EmpiricalTarget(points, path)  # defined below: point masses without covariance solves


def gaussian_target(mean: Tensor, cov: Tensor, path: AffinePath | None = None) -> GaussianMixture:
    """N(mean, cov) as a one-component mixture: Gaussian to Gaussian in closed form."""
    if not isinstance(mean, Tensor) or mean.ndim != 1:
        raise ValueError(f"mean must be a (D,) tensor; got {getattr(mean, 'shape', mean)}")
    return GaussianMixture(mean[None], cov[None], None, path)


def gaussian_w2(m_1: Tensor, s_1: Tensor, m_2: Tensor, s_2: Tensor) -> float:
    """W2 between N(m_1, S_1) and N(m_2, S_2): |m_1 - m_2|^2 + tr(S_1 + S_2 - 2 (S_2^1/2 S_1 S_2^1/2)^1/2)."""

    def sqrtm(a: Tensor) -> Tensor:
        evals, evecs = torch.linalg.eigh(a.double())
        return evecs @ torch.diag(evals.clamp_min(0).sqrt()) @ evecs.T

    r2 = sqrtm(s_2)
    cross = sqrtm(r2 @ s_1.double() @ r2)
    value = (m_1 - m_2).double().pow(2).sum() + torch.trace(s_1.double() + s_2.double() - 2 * cross)
    return float(value.clamp_min(0).sqrt())


def _sym_sqrt(a: Tensor, inverse: bool = False) -> Tensor:
    """Symmetric square root (or its inverse) of a symmetric positive semi-definite matrix."""
    evals, evecs = torch.linalg.eigh(a)
    roots = evals.clamp_min(0).sqrt()
    return evecs @ torch.diag(1 / roots if inverse else roots) @ evecs.T


class GaussianDisplacement:
    """Optimal transport between N(m_0, S_0) and N(m_1, S_1): Brenier's map and McCann's path. Section 6.2.2.

    The OT map is linear, T(x) = m_1 + A (x - m_0) with A = S_0^-1/2 (S_0^1/2 S_1 S_0^1/2)^1/2 S_0^-1/2
    (symmetric positive definite: the gradient of a convex potential). Displacement interpolation
    moves every point on a straight line, x_t = (1 - t) x + t T(x) = m_t + M_t (x - m_0) with
    M_t = (1 - t) I + t A, so p_t = N(m_t, M_t S_0 M_t) and the velocity field is
    v_t(x) = m_1 - m_0 + (A - I) M_t^-1 (x - m_t). It solves the continuity equation, and its
    kinetic energy int_0^1 E||v_t||^2 dt equals W2^2(p_0, p_1) (Benamou-Brenier). S_0 must be
    positive definite. The object itself is a vector field ``v(x, t)``.
    """

    def __init__(self, m_0: Tensor, S_0: Tensor, m_1: Tensor, S_1: Tensor):
        for name, m in (("m_0", m_0), ("m_1", m_1)):
            if not isinstance(m, Tensor):
                raise TypeError(f"{name} must be a (D,) mean tensor; got {type(m).__name__}")
            if m.ndim != 1 or m.shape != m_0.shape:
                raise ValueError(
                    f"{name} must be a (D,) mean tensor like m_0 {tuple(m_0.shape)}; got {tuple(m.shape)}"
                )
        d = m_0.shape[0]
        for name, s in (("S_0", S_0), ("S_1", S_1)):
            if not isinstance(s, Tensor):
                raise TypeError(
                    f"{name} must be a (D, D) covariance tensor; got {type(s).__name__}"
                )
            if s.shape != (d, d):
                raise ValueError(
                    f"{name} must be a (D, D) = ({d}, {d}) covariance; got {tuple(s.shape)}"
                )
            if not bool(torch.isfinite(s).all()) or not torch.allclose(s, s.T):
                raise ValueError(f"{name} must be a finite symmetric covariance matrix")
        self.m_0, self.m_1 = m_0.double(), m_1.double()
        self.S_0, self.S_1 = S_0.double(), S_1.double()
        if float(torch.linalg.eigvalsh(self.S_0).min()) <= 0:
            raise ValueError("S_0 must be positive definite (the source of a Monge map)")
        if float(torch.linalg.eigvalsh(self.S_1).min()) < -1e-9 * float(self.S_1.abs().max()):
            raise ValueError("S_1 must be positive semi-definite")
        root, inv_root = _sym_sqrt(self.S_0), _sym_sqrt(self.S_0, inverse=True)
        a = inv_root @ _sym_sqrt(root @ self.S_1 @ root) @ inv_root
        self.A = (a + a.T) / 2  # symmetric up to rounding
        self.dim = d

    def transport(self, x_0: Tensor) -> Tensor:
        """T(x_0) = m_1 + A (x_0 - m_0): where OT sends each point, (B, D). Section 6.2.1."""
        check_points(x_0, "x_0", dim=self.dim)
        return (self.m_1 + (x_0.double() - self.m_0) @ self.A).to(x_0.dtype)

    def _m_t(self, t: Tensor) -> tuple[Tensor, Tensor]:
        """m_t: (B, D) and M_t = (1 - t) I + t A: (B, D, D) for t: (B,) float64."""
        eye = torch.eye(self.dim, dtype=torch.float64)
        m_t = (1 - t)[:, None] * self.m_0 + t[:, None] * self.m_1
        return m_t, (1 - t)[:, None, None] * eye + t[:, None, None] * self.A

    def velocity(self, x: Tensor, t: object) -> Tensor:
        """v_t(x) = m_1 - m_0 + (A - I) M_t^-1 (x - m_t): (B, D). Section 6.2.2."""
        check_points(x, "x", dim=self.dim)
        m_t, big_m = self._m_t(as_time(t, x.shape[0], x).double())
        z = torch.linalg.solve(big_m, (x.double() - m_t)[..., None])[..., 0]  # M_t^-1 (x - m_t)
        eye = torch.eye(self.dim, dtype=torch.float64)
        return (self.m_1 - self.m_0 + z @ (self.A - eye)).to(x.dtype)

    def __call__(self, x: Tensor, t: object) -> Tensor:
        return self.velocity(x, t)

    def covariance(self, t: float) -> Tensor:
        """Cov of p_t: M_t S_0 M_t, (D, D)."""
        _, big_m = self._m_t(torch.tensor([float(t)], dtype=torch.float64))
        return big_m[0] @ self.S_0 @ big_m[0]

    def log_prob(self, x: Tensor, t: object) -> Tensor:
        """log p_t(x) of the displacement interpolation p_t = N(m_t, M_t S_0 M_t): (B,)."""
        check_points(x, "x", dim=self.dim)
        m_t, big_m = self._m_t(as_time(t, x.shape[0], x).double())
        cov = big_m @ self.S_0 @ big_m  # (B, D, D)
        return (
            torch.distributions.MultivariateNormal(m_t, covariance_matrix=cov)
            .log_prob(x.double())
            .to(x.dtype)
        )

    def w2(self) -> float:
        """W2(p_0, p_1) as the cost of the map: sqrt(|m_1 - m_0|^2 + tr((A - I) S_0 (A - I)))."""
        d = self.A - torch.eye(self.dim, dtype=torch.float64)
        return float(((self.m_1 - self.m_0).pow(2).sum() + torch.trace(d @ self.S_0 @ d)).sqrt())


class EmpiricalTarget(GaussianMixture):
    """The exact marginal path from N(0, I) to a finite point set {x_1^j}: what CFM learns from it. Section 6.3.2.

    The same quantities as a ``GaussianMixture`` of point masses, in the form of the chapter's
    posterior: given x_t = x, the data point j has weight
    q(j | x) = softmax_j(-|x - alpha_t x_1^j|^2 / (2 sigma_t^2)) and the marginal velocity is the
    posterior average of the conditional ones, u_t(x) = d_alpha_t E[x_1 | x] + d_sigma_t E[x_0 | x]
    with E[x_0 | x] = (x - alpha_t E[x_1 | x]) / sigma_t. Computed with one (B, N) matrix of
    distances rather than N covariance solves, so N = 1000s of points and B = 1000s of queries
    are cheap. Defined for sigma_t > 0 (t < 1 on the straight path without ``sigma_min``).
    """

    def __init__(self, points: Tensor, path: AffinePath | None = None):
        super().__init__(points, None, None, path)

    def _logits(self, x: Tensor, t: object):
        """log w_j - |x - alpha_t x_1^j|^2 / (2 sigma_t^2): (B, N), with the coefficients (B, 1)."""
        check_points(x, "x", dim=self.dim)
        xd = x.double()
        alpha_t, sigma_t, d_alpha_t, d_sigma_t = self.path.coefficients(
            as_time(t, x.shape[0], x).double(), xd
        )
        if bool((sigma_t <= 0).any()):
            raise ValueError(
                "the marginal of a point-mass target is singular where sigma_t = 0 (t = 1 on the "
                "straight path); use t < 1 or a path with sigma_min > 0"
            )
        # |x - alpha_t m_j|^2 expanded into one matrix product (float64 keeps the cancellation harmless)
        sq = (
            xd.pow(2).sum(1, keepdim=True)
            - 2 * alpha_t * (xd @ self.means.T)
            + alpha_t**2 * self.means.pow(2).sum(1)[None]
        ).clamp_min(0)  # (B, N)
        return (
            self.log_w[None] - sq / (2 * sigma_t**2),
            xd,
            (alpha_t, sigma_t, d_alpha_t, d_sigma_t),
        )

    def posterior(self, x: Tensor, t: object) -> Tensor:
        """q(j | x_t = x): (B, N), the weight of each data point. Section 6.3.2."""
        logits, _, _ = self._logits(x, t)
        return torch.softmax(logits, dim=1).to(x.dtype)

    def log_prob(self, x: Tensor, t: object = 1.0) -> Tensor:
        """log p_t(x): (B,). Section 6.3.1."""
        logits, _, (_, sigma_t, _, _) = self._logits(x, t)
        norm = self.dim * (sigma_t[:, 0].log() + 0.5 * math.log(2 * math.pi))
        return (torch.logsumexp(logits, dim=1) - norm).to(x.dtype)

    def _posterior_means(self, x: Tensor, t: object):
        logits, xd, coeffs = self._logits(x, t)
        r = torch.softmax(logits, dim=1)  # (B, N)
        return r, r @ self.means, xd, coeffs  # E[x_1 | x]: (B, D)

    def score(self, x: Tensor, t: object) -> Tensor:
        """grad log p_t(x) = -(x - alpha_t E[x_1 | x]) / sigma_t^2: (B, D). Section 6.4.2."""
        _, e_x1, xd, (alpha_t, sigma_t, _, _) = self._posterior_means(x, t)
        return (-(xd - alpha_t * e_x1) / sigma_t**2).to(x.dtype)

    def velocity(self, x: Tensor, t: object) -> Tensor:
        """u_t(x) = E[u_t(x | x_0, x_1) | x_t = x]: (B, D). Section 6.3.2."""
        _, e_x1, xd, (alpha_t, sigma_t, d_alpha_t, d_sigma_t) = self._posterior_means(x, t)
        return (d_alpha_t * e_x1 + d_sigma_t * (xd - alpha_t * e_x1) / sigma_t).to(x.dtype)


def conditional_velocity_variance(target: GaussianMixture, x: Tensor, t: object) -> Tensor:
    """E[|u_t(x | x_0, x_1) - u_t(x)|^2 | x_t = x]: (B,). Section 6.3.3, L_CFM - L_FM.

    The spread of the conditional velocities about their posterior mean, the marginal velocity.
    For any model v, E|v - u(.|x_0, x_1)|^2 = E|v - u_t|^2 + this at every (x, t), so its mean over
    t ~ U[0, 1] and x ~ p_t is the constant L_CFM(theta) - L_FM(theta), whatever theta. Writing
    x_0 = (x - alpha_t x_1) / sigma_t, u_t(x | x_0, x_1) = c_t x_1 + (d_sigma_t / sigma_t) x with
    c_t = d_alpha_t - d_sigma_t alpha_t / sigma_t, so the spread is c_t^2 tr Cov[x_1 | x_t = x]:
    component j contributes its posterior covariance S_j - alpha_t^2 S_j C_j^-1 S_j, and the
    components' means E[x_1 | x, j] spread about E[x_1 | x]. Needs sigma_t > 0.
    """
    if not isinstance(target, GaussianMixture):
        raise TypeError(
            f"target must be a fmlib.analytic.GaussianMixture (or EmpiricalTarget); got {type(target).__name__}"
        )
    if isinstance(target, EmpiricalTarget):
        r, e_x1, _, (alpha_t, sigma_t, d_alpha_t, d_sigma_t) = target._posterior_means(x, t)
        second = r @ target.means.pow(2).sum(-1)  # E[|x_1|^2 | x]: (B,)
        trace = (second - e_x1.pow(2).sum(-1)).clamp_min(0)
    else:
        log_n, sol, (alpha_t, sigma_t, d_alpha_t, d_sigma_t) = target._components(x, t)
        if bool((sigma_t <= 0).any()):
            raise ValueError("the conditional velocity is undefined where sigma_t = 0; use t < 1")
        r = torch.softmax(target.log_w[None] + log_n, dim=1)  # (B, K)
        covs = target.covs[None].expand(len(x), -1, -1, -1)  # (B, K, D, D)
        eye = torch.eye(target.dim, dtype=torch.float64)
        cov = alpha_t[..., None, None] ** 2 * covs + sigma_t[..., None, None] ** 2 * eye
        c_inv_s = torch.cholesky_solve(covs, torch.linalg.cholesky(cov))  # C_j^-1 S_j
        within = torch.diagonal(
            covs - alpha_t[..., None, None] ** 2 * covs @ c_inv_s, dim1=-2, dim2=-1
        ).sum(-1)  # tr Cov[x_1 | x, j]: (B, K)
        m_j = target.means[None] + alpha_t[..., None] * torch.einsum("bkde,bke->bkd", covs, sol)
        e_x1 = (r[..., None] * m_j).sum(1)
        between = (m_j - e_x1[:, None]).pow(2).sum(-1)
        trace = (r * (within + between)).sum(1)
    c_t = (d_alpha_t - d_sigma_t * alpha_t / sigma_t)[:, 0]
    return (c_t**2 * trace).to(x.dtype)


class CoupledTarget:
    """The straight path for a coupling given by K pairs, each noise point blurred. Section 6.3.2.

    q(x_0, x_1) = (1/K) sum_k N(x_0; c_k, blur^2 I) delta(x_1 - x_1^k): pair k ties a cloud of noise
    around c_k to the data point x_1^k, so x_0 and x_1 are *not* independent (``c`` from an OT
    pairing gives a smoothed OT coupling; c_k = 0 with blur = 1 is the independent coupling).
    On x_t = t x_1 + (1 - t) x_0 the pair k gives x_t ~ N(t x_1^k + (1 - t) c_k, ((1 - t) blur)^2 I),
    so p_t is a mixture, the posterior q(k | x_t = x) is a softmax, and since x_0 is fixed by
    (x, x_1^k), u_t(x | x_0, x_1^k) = (x_1^k - x) / (1 - t) and u_t(x) = (E[x_1 | x_t = x] - x) / (1 - t).
    c, x_1: (K, D); methods take x: (B, D), t: float or (B,) in [0, 1); the object is a field v(x, t).
    """

    def __init__(self, c: Tensor, x_1: Tensor, blur: float):
        check_points(c, "c")
        check_points(x_1, "x_1", dim=c.shape[1])
        if c.shape != x_1.shape:
            raise ValueError(
                f"c and x_1 must both be (K, D); got {tuple(c.shape)} and {tuple(x_1.shape)}"
            )
        if not blur > 0:
            raise ValueError(f"blur must be a positive standard deviation; got {blur!r}")
        self.c, self.x_1, self.blur, self.dim = c.double(), x_1.double(), float(blur), c.shape[1]

    def _logits(self, x: Tensor, t: object):
        """log N(x; t x_1^k + (1 - t) c_k, s_t^2 I) - log K: (B, K), with t and s_t: (B, 1)."""
        check_points(x, "x", dim=self.dim)
        td = as_time(t, x.shape[0], x).double()[:, None]  # (B, 1)
        if bool((td >= 1).any()):
            raise ValueError("a coupling of point masses x_1^k is singular at t = 1; use t < 1")
        s = (1 - td) * self.blur
        means = td[..., None] * self.x_1[None] + (1 - td)[..., None] * self.c[None]  # (B, K, D)
        sq = (x.double()[:, None] - means).pow(2).sum(-1)
        norm = self.dim * (s.log() + 0.5 * math.log(2 * math.pi)) + math.log(len(self.c))
        return -sq / (2 * s**2) - norm, td

    def posterior(self, x: Tensor, t: object) -> Tensor:
        """q(k | x_t = x): (B, K), the weight of each pair. Section 6.3.2."""
        return torch.softmax(self._logits(x, t)[0], dim=1).to(x.dtype)

    def log_prob(self, x: Tensor, t: object) -> Tensor:
        """log p_t(x): (B,). Section 6.3.1."""
        return torch.logsumexp(self._logits(x, t)[0], dim=1).to(x.dtype)

    def velocity(self, x: Tensor, t: object) -> Tensor:
        """u_t(x) = E[x_1 - x_0 | x_t = x] = (E[x_1 | x_t = x] - x) / (1 - t): (B, D). Section 6.3.2."""
        logits, td = self._logits(x, t)
        e_x1 = torch.softmax(logits, dim=1) @ self.x_1
        return ((e_x1 - x.double()) / (1 - td)).to(x.dtype)

    def __call__(self, x: Tensor, t: object) -> Tensor:
        return self.velocity(x, t)

    def sample(self, n: int, t: float, generator: torch.Generator | None = None) -> Tensor:
        """x_t ~ p_t: draw a pair k, its x_0 ~ N(c_k, blur^2 I), move it along the line: (n, D)."""
        check_positive_int(n, "n")
        check_generator(generator)
        k = torch.randint(len(self.c), (n,), generator=generator)
        x_0 = self.c[k] + self.blur * torch.randn(
            n, self.dim, generator=generator, dtype=torch.float64
        )
        return (float(t) * self.x_1[k] + (1 - float(t)) * x_0).float()


def coupled_target(c: Tensor, x_1: Tensor, blur: float = 0.3) -> CoupledTarget:
    """The straight path for the coupling (1/K) sum_k N(c_k, blur^2 I) x delta(x_1^k). Section 6.3.2."""
    return CoupledTarget(c, x_1, blur)


def continuity_residual(p, v, t: float, lims: float = 3.0, n: int = 121, dt: float = 1e-3) -> float:
    """max |d p_t / dt + div(p_t v_t)| / max |d p_t / dt| on the n x n grid over [-lims, lims]^2. Section 6.3.2.

    ``p`` has ``log_prob(x, t)``, ``v`` is a field v(x, t); both are evaluated in float64, the time
    derivative by a central difference of step ``dt``, the divergence by central differences on
    the grid (second order: halving the spacing divides the residual by about 4 where the
    discretisation dominates). Near 0 when v generates p_t; of order 1 when it does not.
    """
    h = 2 * lims / (n - 1)
    axis = torch.linspace(-lims, lims, n, dtype=torch.float64)
    gy, gx = torch.meshgrid(axis, axis, indexing="ij")
    pts = torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)
    with torch.no_grad():
        dp_dt = (p.log_prob(pts, t + dt).exp() - p.log_prob(pts, t - dt).exp()) / (2 * dt)
        flux = (p.log_prob(pts, t).exp()[:, None] * v(pts, t)).reshape(n, n, 2)  # p_t v_t
    div = (
        torch.gradient(flux[..., 0], spacing=h, dim=1)[0]
        + torch.gradient(flux[..., 1], spacing=h, dim=0)[0]
    )
    inner = (slice(1, -1), slice(1, -1))  # one-sided differences on the border are first order
    res = (dp_dt.reshape(n, n) + div)[inner]
    return float(res.abs().max() / dp_dt.reshape(n, n)[inner].abs().max())


__all__ += ["CoupledTarget", "coupled_target", "continuity_residual"]
