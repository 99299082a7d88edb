"""saved_tensor_peak_bytes: the peak of what autograd holds, through forward and backward."""

import torch

import fmlib as fm


def test_peak_of_one_graph_equals_its_total():
    w = torch.randn(50, 50, requires_grad=True)
    x = torch.randn(20, 50)
    fn = lambda: torch.tanh(x @ w).sum()  # noqa: E731
    _, total = fm.runtime.saved_tensor_bytes(fn)
    _, peak = fm.runtime.saved_tensor_peak_bytes(lambda: fn().backward())
    assert total > 0 and peak == total


def test_peak_sees_graphs_freed_one_at_a_time():
    w = torch.randn(50, 50, requires_grad=True)
    x = torch.randn(20, 50)

    def one_at_a_time():
        for _ in range(10):  # each graph is freed by its backward pass before the next is built
            torch.tanh(x @ w).sum().backward()

    _, total = fm.runtime.saved_tensor_bytes(lambda: torch.tanh(x @ w).sum())
    _, peak = fm.runtime.saved_tensor_peak_bytes(one_at_a_time)
    assert peak == total  # one graph's worth, not ten


def test_adjoint_peak_is_constant_in_steps():
    torch.manual_seed(0)
    model = fm.VectorFieldMLP()
    x = torch.randn(32, 2, generator=torch.Generator().manual_seed(0))
    peaks = {}
    for steps in (2, 8):
        for adjoint in (False, True):
            run = lambda: (  # noqa: E731
                fm.solve(model, x, method="rk4", steps=steps, adjoint=adjoint).x.sum().backward()
            )
            peaks[steps, adjoint] = fm.runtime.saved_tensor_peak_bytes(run)[1]
    assert peaks[2, True] == peaks[8, True]
    assert 3.5 < peaks[8, False] / peaks[2, False] < 4.5
