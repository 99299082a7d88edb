"""The language of what fmlib prints and draws: English by default, Chinese on request.

``fm.configure(lang="zh")`` (the Chinese notebooks' opening cell) chooses Chinese. Every string a
student sees in code output (explorer labels and titles, table headers, the checks' verdicts and
hints, runtime messages) goes through :func:`t`, keyed by its English template::

    t("got {got}, expected {expected}", got=1.0, expected=2.0)

The English template is the key, so English needs no catalogue and a missing Chinese entry falls
back to English (a test lists every key used in fmlib and asserts that ``ZH`` has it).

Names that come from a notebook's code rather than from fmlib (a table's column names, a panel
title passed in) go through :func:`term`: translated when ``TERMS`` (or ``ZH``) has them, shown
as written otherwise.

Figures: with ``"zh"`` matplotlib draws with a CJK font found on the machine (``CJK_FONTS``, in
order of preference), DejaVu Sans after it for the symbols it lacks, and monospaced text (the
metrics boxes) with a monospaced CJK font (``CJK_MONO_FONTS``, else the same CJK font); ``"en"``
restores the fonts as they were. A machine without any of them draws Chinese as boxes (Debian: ``apt-get install
fonts-wqy-microhei``; conda: ``font-ttf-noto-cjk``).
"""

from __future__ import annotations

import sys

LANGUAGES = ("en", "zh")
_LANG = "en"

# CJK fonts for figures, in order of preference; the first one installed is used.
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "PingFang SC",
    "Microsoft YaHei",
    "SimHei",
)
# monospaced text (metrics boxes): a monospaced CJK font if there is one, else the CJK font
CJK_MONO_FONTS = ("Noto Sans Mono CJK SC", "WenQuanYi Micro Hei Mono", "Sarasa Mono SC")
# the browser-drawn explorers' controls (client.js): a CJK-capable stack, the generic family last
CSS_FONTS = {
    "en": "13px sans-serif",
    "zh": '13px "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", '
    '"WenQuanYi Micro Hei", sans-serif',
}
_SAVED_RC: dict | None = None  # matplotlib's font settings before "zh" changed them

# English template -> Chinese template (same {placeholders}), in the chapter's terms
# (notebooks/glossary.md). Keys are split where the English is.
ZH: dict[str, str] = {
    # ---- checks: what every check says (fmlib/checks/_core.py)
    "✔ {name}: correct": "✔ {name}：正确",
    "✔ {name}: correct. {ok}": "✔ {name}：正确。{ok}",
    "✘ {name}: {message}": "✘ {name}：{message}",
    "{label}: {hint}": "{label}：{hint}",
    "the check itself failed ({kind}: {error}); please tell your teacher": (
        "检查程序本身出错了（{kind}: {error}）；请告诉你的老师"
    ),
    "not implemented yet: replace `raise NotImplementedError()` with your code": (
        "尚未实现：请把 `raise NotImplementedError()` 换成你自己的代码"
    ),
    "`{name}` is the library's answer to this task; write this one yourself "
    "(the library is there to compare with once your own passes)": (
        "`{name}` 是库里对这道题的现成答案；请自己动手写这一个（等你的实现通过检查之后，"
        "再用库函数来对照）"
    ),
    "your function": "你的函数",
    "{what} raised {kind}: {error}": "{what}抛出了 {kind}: {error}",
    "{what} called exit() or sys.exit() (SystemExit: {error}); return a value instead": (
        "{what}调用了 exit() 或 sys.exit()（SystemExit: {error}）；请改为返回一个值"
    ),
    "your function changed its input {argument} in place "
    "(x += ..., x[...] = ..., or a method ending in _): work on a copy or a new tensor, so "
    "that the caller's tensor stays as it was": (
        "你的函数原地修改了输入 {argument}（x += ...、x[...] = ...，或以 _ 结尾的方法）："
        "请在副本或新张量上计算，让调用者的张量保持原样"
    ),
    "number {k}": "第 {k} 个",
    "{what}: your function returned None. Did you forget `return`?": (
        "{what}：你的函数返回了 None。是不是忘了写 `return`？"
    ),
    "{what}: your result carries no gradient (got a {kind}): return the tensor itself, "
    "without .item(), float() or torch.no_grad(), so that loss.backward() can train the "
    "network": (
        "{what}：你的结果不带梯度（得到的是 {kind}）：请直接返回张量本身，不要用 .item()、"
        "float() 或 torch.no_grad()，这样 loss.backward() 才能训练网络"
    ),
    "{what}: your result carries no gradient (got a {kind} without grad_fn): return the "
    "tensor itself, without .item(), float() or torch.no_grad(), so that loss.backward() can "
    "train the network": (
        "{what}：你的结果不带梯度（得到的 {kind} 没有 grad_fn）：请直接返回张量本身，不要用 "
        ".item()、float() 或 torch.no_grad()，这样 loss.backward() 才能训练网络"
    ),
    "{what}: expected a torch.Tensor of shape {shape}; got a {kind}": (
        "{what}：应返回形状为 {shape} 的 torch.Tensor；实际得到的是 {kind}"
    ),
    "{what}: expected a torch.Tensor of shape {shape}; got a {kind} of shape {got}: convert "
    "it with torch.as_tensor(...)": (
        "{what}：应返回形状为 {shape} 的 torch.Tensor；实际得到的是形状为 {got} 的 {kind}："
        "请用 torch.as_tensor(...) 转换"
    ),
    "{what}: your result is on {device} but the inputs are on the CPU: keep it there (no "
    ".cuda() or .to(device) inside the function)": (
        "{what}：你的结果在 {device} 上，而输入在 CPU 上：请留在 CPU 上（函数内不要调用 "
        ".cuda() 或 .to(device)）"
    ),
    "{what}: expected one number; got a tensor of shape {got}": (
        "{what}：应返回一个数；实际得到的是形状为 {got} 的张量"
    ),
    "{what}: right numbers, but transposed: got shape {got}, expected {expected}": (
        "{what}：数值正确，但转置了：得到的形状是 {got}，应为 {expected}"
    ),
    "{what}: right numbers, wrong shape: got {got}, expected {expected}": (
        "{what}：数值正确，但形状不对：得到 {got}，应为 {expected}"
    ),
    "{what}: wrong shape: got {got}, expected {expected}": (
        "{what}：形状不对：得到 {got}，应为 {expected}"
    ),
    "{what}: your result contains NaN or inf (a division by zero, or log of a negative?)": (
        "{what}：你的结果中含有 NaN 或 inf（是不是除以了零，或对负数取了对数？）"
    ),
    "{what}: wrong sign: you return minus the expected value": (
        "{what}：符号反了：你返回的是期望值的相反数"
    ),
    "{what}: you return one of the inputs unchanged": "{what}：你原样返回了某个输入",
    "{what}: you return zeros": "{what}：你返回的全是零",
    "{what}: the value differs: got {got:.6g}, expected {expected:.6g}": (
        "{what}：数值不对：得到 {got:.6g}，应为 {expected:.6g}"
    ),
    "{what}: values differ from the reference (largest error {error:.3g}: got {got:.5g} "
    "where {expected:.5g} was expected)": (
        "{what}：数值与参考答案不符（最大误差 {error:.3g}：在应为 {expected:.5g} 处得到了 "
        "{got:.5g}）"
    ),
    "your function returns {value:.4g} whatever the input (a constant?)": (
        "无论输入是什么，你的函数都返回 {value:.4g}（是个常数吗？）"
    ),
    "off by a constant factor: yours is {k:.4g} x the expected value in every case": (
        "差了一个常数因子：在每个测试用例中，你的结果都是期望值的 {k:.4g} 倍"
    ),
    # ---- checks of Exercise 6.2 (fmlib/checks/exercise_6_2.py)
    "(using fmlib's {task} until yours passes its check)": (
        "（在你的 {task} 通过检查之前，先使用 fmlib 的版本）"
    ),
    "expected a torch.Tensor of shape {shape}; got {kind}": (
        "应返回形状为 {shape} 的 torch.Tensor；实际得到的是 {kind}"
    ),
    "transposed: got shape {got}, expected {expected}": (
        "转置了：得到的形状是 {got}，应为 {expected}"
    ),
    "wrong shape: got {got}, expected {expected}": "形状不对：得到 {got}，应为 {expected}",
    "your embedding contains NaN or inf": "你的嵌入中含有 NaN 或 inf",
    "your embedding does not change with t": "你的嵌入不随 t 变化",
    "off by a factor 2 pi in the frequencies: use sin(w_k t) with w_k from 1 to max_freq": (
        "频率差了一个 2 pi 因子：请使用 sin(w_k t)，其中 w_k 从 1 取到 max_freq"
    ),
    "{n} of the {dim} expected columns (sin(w_k t), cos(w_k t)) are missing; check the "
    "frequencies w_k": ("应有的 {dim} 列（sin(w_k t)、cos(w_k t)）中缺了 {n} 列；请检查频率 w_k"),
    "v(x, t) must be a torch.Tensor on the CPU; got {kind}": (
        "v(x, t) 必须是 CPU 上的 torch.Tensor；实际得到的是 {kind}"
    ),
    "building your network, `VectorField()`,": "构建你的网络 `VectorField()` 时",
    "expected a network (a torch.nn.Module); got {net!r}": (
        "应为一个网络（torch.nn.Module）；实际得到的是 {net!r}"
    ),
    "v(x, t) must be a torch.Tensor of shape {shape}; got a {kind}": (
        "v(x, t) 必须是形状为 {shape} 的 torch.Tensor；实际得到的是 {kind}"
    ),
    "v(x, t) must have the shape of x, {shape}; got {got}": (
        "v(x, t) 的形状必须与 x 相同，即 {shape}；实际得到 {got}"
    ),
    "v(x, t) contains NaN or inf": "v(x, t) 中含有 NaN 或 inf",
    "your network": "你的网络",
    "with a float t (t = {t:.3f}, one point): {error}": (
        "当 t 为浮点数时（t = {t:.3f}，单个点）：{error}"
    ),
    "with a float t, v(x, t) for one point must have shape (1, 2); got {got}": (
        "当 t 为浮点数时，单个点的 v(x, t) 形状必须是 (1, 2)；实际得到 {got}"
    ),
    "row {i} of v(x, t) with a (B,) tensor t differs from v(x[{i}:{j}], float(t[{i}])): "
    "does every row use its own t (t[:, None], not t[0])?": (
        "t 为 (B,) 张量时 v(x, t) 的第 {i} 行与 v(x[{i}:{j}], float(t[{i}])) 不同："
        "每一行都用了它自己的 t 吗（应写 t[:, None]，而不是 t[0]）？"
    ),
    "with a 0-d tensor t (as an adaptive solver passes it): {error}": (
        "当 t 为 0 维张量时（自适应求解器就是这样传入的）：{error}"
    ),
    "v(x, t) with a 0-d tensor t differs from v(x, t) with the same float t": (
        "t 为 0 维张量时的 v(x, t) 与 t 为同值浮点数时的 v(x, t) 不同"
    ),
    "v(x, t) does not depend on t: feed the time embedding to the network": (
        "v(x, t) 不依赖于 t：请把时间嵌入输入网络"
    ),
    "v(x, t) does not depend on x": "v(x, t) 不依赖于 x",
    "the model has no trainable parameters: make it a torch.nn.Module with layers": (
        "模型没有可训练的参数：请把它写成带有网络层的 torch.nn.Module"
    ),
    "VectorField(max_freq=1000.0) gives the same field as max_freq=30.0: pass max_freq on "
    "to time_embedding": (
        "VectorField(max_freq=1000.0) 给出的向量场与 max_freq=30.0 时相同：请把 max_freq "
        "传给 time_embedding"
    ),
    "Input (B, 2) and t, output (B, 2).": "输入 (B, 2) 和 t，输出 (B, 2)。",
    "B = {b}, another path": "B = {b}，另一条路径",
    "you ignore the `path` argument: take x_t, u_t = path(x_0, x_1, t)": (
        "你忽略了参数 `path`：请用 x_t, u_t = path(x_0, x_1, t)"
    ),
    "the model's parameters are NaN or inf after training: the loss diverged (is the "
    "learning rate too large? about 5e-3 suits Adam here)": (
        "训练后模型参数变成了 NaN 或 inf：损失发散了（学习率是不是太大？这里 Adam 用 5e-3 "
        "左右比较合适）"
    ),
    "the CFM loss went up ({before:.3f} before, {after:.3f} after): the training diverged "
    "(a learning rate too large?) or steps go uphill (loss.backward() on minus the loss, or "
    "the target reversed?)": (
        "CFM 损失反而上升了（训练前 {before:.3f}，训练后 {after:.3f}）：要么训练发散了"
        "（学习率太大？），要么每一步都在往上坡走（是不是对负的损失调用了 loss.backward()，"
        "或者目标方向反了？）"
    ),
    "the CFM loss did not drop ({before:.3f} before, {after:.3f} after): do you call "
    "optimizer.step() on the model's parameters, after loss.backward()?": (
        "CFM 损失没有下降（训练前 {before:.3f}，训练后 {after:.3f}）：你是否在 "
        "loss.backward() 之后，对模型参数调用了 optimizer.step()？"
    ),
    "the loss dropped ({before:.3f} -> {after:.3f}) but Euler samples are far from the moons "
    "(W2 = {w2:.3f}): check x_t and the target x_1 - x_0": (
        "损失下降了（{before:.3f} -> {after:.3f}），但 Euler 采样离双月数据还很远"
        "（W2 = {w2:.3f}）：请检查 x_t 和目标 x_1 - x_0"
    ),
    "your loop ignores its `path` argument: pass it on to cfm_loss(..., path)": (
        "你的训练循环忽略了参数 `path`：请把它传给 cfm_loss(..., path)"
    ),
    "{n} steps": "{n} 步",
    "3 steps along another path": "沿另一条路径训练 3 步",
    "The loss dropped and samples reach the moons.": "损失下降了，采样也到达了双月。",
    "v = A x, {n} steps": "v = A x，{n} 步",
    "v = t c, {n} steps": "v = t c，{n} 步",
    "you return x_0 unchanged: did the loop run?": "你原样返回了 x_0：循环执行了吗？",
    "you evaluate v at the end of each step (t + dt); Euler uses the start, t": (
        "你在每一步的终点（t + dt）计算 v；Euler 法用的是起点 t"
    ),
    "{what} must return two tensors, (x_t, u_t); got {kind}": (
        "{what}必须返回两个张量 (x_t, u_t)；实际得到的是 {kind}"
    ),
    "{what}: {name} must be a ({b}, 2) tensor; got {got}": (
        "{what}：{name} 必须是 ({b}, 2) 的张量；实际得到 {got}"
    ),
    "{what}: {name} contains NaN or inf (a division by |x_1 - x_0|?)": (
        "{what}：{name} 中含有 NaN 或 inf（是不是除以了 |x_1 - x_0|？）"
    ),
    "your path": "你的路径",
    "your path at t = {t:.0f}": "你的路径在 t = {t:.0f} 处",
    "x_t at t = {t:.0f} must be {name} (the boundary condition); it is not": (
        "t = {t:.0f} 时 x_t 必须等于 {name}（边界条件），但现在不是"
    ),
    "x_t does not depend on t through torch operations (float(t), .item() or NumPy?): write "
    "it with torch so that d x_t / d t can be checked": (
        "x_t 对 t 的依赖没有通过 torch 运算表达（用了 float(t)、.item() 或 NumPy？）："
        "请用 torch 来写，这样才能检查 d x_t / d t"
    ),
    "u_t is not d x_t / d t (autograd's derivative differs by up to {err:.3g}): "
    "differentiate x_t in t": (
        "u_t 不等于 d x_t / d t（与 autograd 求得的导数最多相差 {err:.3g}）：请对 x_t 关于 t 求导"
    ),
    "a valid path, but it spends {yours:.3f} of its time in the gap, the straight path "
    "{straight:.3f} (the same pairs): bend or time it so that it crosses the gap less": (
        "这是一条合法的路径，但它有 {yours:.3f} 的时间处在缝隙中，而直线路径是 {straight:.3f}"
        "（同样的配对）：请让路径弯曲，或调整它的时间进度，使它更少地穿过缝隙"
    ),
    "boundaries and u_t, B = {b}": "边界条件与 u_t，B = {b}",
    "time in the gap, {n} pairs": "处在缝隙中的时间，{n} 对",
    "A valid path that avoids the gap more than the straight one.": (
        "一条合法的路径，而且比直线路径更能避开缝隙。"
    ),
    # ---- checks of Section 6.1
    "linear field, D = {d}": "线性场，D = {d}",
    "tanh field, D = {d}": "tanh 场，D = {d}",
    "It costs D backward passes.": "它需要 D 次反向传播。",
    "One backward pass, whatever D.": "无论 D 多大，都只需一次反向传播。",
    "sign of the log-determinant: log p_1(x_1) = log p_0(x_0) - log|det M|": (
        "对数行列式的符号：log p_1(x_1) = log p_0(x_0) - log|det M|"
    ),
    "linear field, D = {d}, {n} steps": "线性场，D = {d}，{n} 步",
    "tanh field, D = {d}, {n} steps": "tanh 场，D = {d}，{n} 步",
    "wrong sign: d log p / dt = - div v (mass spreads where the divergence is positive)": (
        "符号反了：d log p / dt = - div v（散度为正的地方，质量向外扩散）"
    ),
    "log p did not change: subtract dt * div v at every step": (
        "log p 没有变化：每一步都要减去 dt * div v"
    ),
    "more than k = {k} vector-Jacobian products in one call": (
        "一次调用中用了超过 k = {k} 次向量-雅可比积"
    ),
    "vjp takes probes of shape {shape}; got {got}": "vjp 接受形状为 {shape} 的探针；实际得到 {got}",
    "your estimator": "你的估计量",
    "expected a ({b},) tensor of estimates; got {got}": "应返回 ({b},) 的估计值张量；实际得到 {got}",
    "the estimates contain NaN or inf": "估计值中含有 NaN 或 inf",
    "biased: the mean of {calls} calls is {z:.1f} standard errors from tr J": (
        "有偏：{calls} 次调用的均值距 tr J 有 {z:.1f} 个标准误"
    ),
    "unbiased, but the variance is {ratio:.2f} x that of {k} Gaussian probes; aim for at "
    "most 0.5 x": ("无偏，但方差是 {k} 个高斯探针的 {ratio:.2f} 倍；目标是不超过 0.5 倍"),
    "D = {d}, k = {k}": "D = {d}，k = {k}",
    # ---- checks of Section 6.2
    "straight lines": "直线",
    "zig-zag paths": "折线路径",
    "expected one number (a float); got a tensor of shape {shape}: average over particles "
    "and sum over steps": (
        "应返回一个数（浮点数）；实际得到形状为 {shape} 的张量：请对粒子取平均，对各步求和"
    ),
    "expected a permutation, a ({b},) tensor of indices; got {got}": (
        "应返回一个排列，即 ({b},) 的索引张量；实际得到 {got}"
    ),
    "expected integer indices (torch.long), got {dtype}: x_0[perm] needs integers": (
        "索引应为整数（torch.long），实际是 {dtype}：x_0[perm] 需要整数"
    ),
    "not a permutation: each index 0 .. B-1 must appear exactly once": (
        "这不是一个排列：0 .. B-1 中的每个索引都必须恰好出现一次"
    ),
    "transposed: you return the inverse permutation (it reorders x_1); try perm.argsort()": (
        "方向反了：你返回的是逆排列（它重排的是 x_1）；试试 perm.argsort()"
    ),
    "you return the identity: that is the independent pairing, not OT": (
        "你返回的是恒等排列：那是独立配对，而不是最优传输"
    ),
    "wrong sign: your pairing maximises the total squared distance": (
        "符号反了：你的配对使平方距离之和最大"
    ),
    "not optimal: mean cost {mine:.4f}, the optimal pairing costs {best:.4f} (use squared "
    "distances)": (
        "不是最优的：平均代价为 {mine:.4f}，而最优配对的代价是 {best:.4f}（请用平方距离）"
    ),
    "Minibatch OT in a few lines.": "寥寥数行，就实现了小批量最优传输。",
    "S_1^{1/2} S_0^{-1/2} carries N(m_0, S_0) to N(m_1, S_1) too, but it is not symmetric, "
    "so not the gradient of a convex function: not the OT map": (
        "S_1^{1/2} S_0^{-1/2} 同样把 N(m_0, S_0) 推到 N(m_1, S_1)，但它不对称，因而不是某个"
        "凸函数的梯度：它不是最优传输映射"
    ),
    "centre first: T(x) = m_1 + A (x - m_0)": "先中心化：T(x) = m_1 + A (x - m_0)",
    "that is the kernel exp(-C / eps) normalised once: alternate the row and column scalings": (
        "这只是把核 exp(-C / eps) 归一化了一次：请交替进行行缩放和列缩放"
    ),
    "the rows sum to 1; a plan between two uniform batches has rows and columns summing to 1 / B": (
        "各行之和为 1；两个均匀批次之间的传输计划，其行和与列和都应为 1 / B"
    ),
    "the columns do not sum to 1 / B: end the iterations with the column scaling, or "
    "iterate longer": ("各列之和不等于 1 / B：请以列缩放结束迭代，或者多迭代几次"),
    "that is W2 squared; return its square root": "这是 W2 的平方；请返回它的平方根",
    "that pairs the samples as given; sort both first (in 1-D the monotone pairing is optimal)": (
        "这是按给定顺序配对样本；请先把两组样本都排序（一维情形下单调配对是最优的）"
    ),
    # ---- checks of Section 6.3
    "{n} data points, D = {d}, t = {t:.2f}": "{n} 个数据点，D = {d}，t = {t:.2f}",
    "This is the field CFM learns from these points.": ("这正是条件流匹配从这些点中学到的向量场。"),
    "{n} points, sigma_min = {sigma_min:.2f}": "{n} 个点，sigma_min = {sigma_min:.2f}",
    "that is the sigma_min = 0 field; with sigma_min > 0 both the posterior and the "
    "conditional field change": (
        "这是 sigma_min = 0 时的向量场；当 sigma_min > 0 时，后验和条件向量场都会改变"
    ),
    "{n} points, D = {d}": "{n} 个点，D = {d}",
    "divide by the variance (1 - t)^2, not the standard deviation": (
        "要除以方差 (1 - t)^2，而不是标准差"
    ),
    "the conditional means are t x^(i), not x^(i)": "条件均值是 t x^(i)，而不是 x^(i)",
    "that is tr Cov[x_1 | x_t = x]; the velocities are (x^(i) - x) / (1 - t), so scale by "
    "1 / (1 - t)^2": (
        "这是 tr Cov[x_1 | x_t = x]；速度是 (x^(i) - x) / (1 - t)，所以还要乘以 1 / (1 - t)^2"
    ),
    "your make_field": "你的 make_field",
    "make_field must return a field v(x, t); got {kind}": (
        "make_field 必须返回一个向量场 v(x, t)；实际得到的是 {kind}"
    ),
    "your field": "你的向量场",
    "your field must return a tensor of shape {shape}": "你的向量场必须返回形状为 {shape} 的张量",
    "the samples contain NaN or inf": "样本中含有 NaN 或 inf",
    "your samples copy the training points (median distance to the nearest one {near:.3f}, "
    "at least 0.05 asked)": (
        "你的样本照搬了训练点（到最近训练点的距离中位数为 {near:.3f}，要求至少 0.05）"
    ),
    "W2 to fresh data {mine:.3f}, the replayed training set's {replay:.3f}: your samples "
    "must be at least as close to new data": (
        "到新数据的 W2 为 {mine:.3f}，而重放训练集的是 {replay:.3f}：你的样本离新数据至少要一样近"
    ),
    "50 training points": "50 个训练点",
    "that treats the weights q(i | x) as constants; they depend on x too": (
        "这把权重 q(i | x) 当成了常数；它们同样依赖于 x"
    ),
    # ---- checks of Section 6.4
    "linear path": "线性路径",
    "cosine path": "余弦路径",
    "VP path": "VP 路径",
    "{path}, t from {lo:.2f} to {hi:.2f}": "{path}，t 从 {lo:.2f} 到 {hi:.2f}",
    "{path}, t in [{lo:.2f}, {hi:.2f}]": "{path}，t ∈ [{lo:.2f}, {hi:.2f}]",
    "{path}, D = {d}, t in [{lo:.2f}, {hi:.2f}]": "{path}，D = {d}，t ∈ [{lo:.2f}, {hi:.2f}]",
    "you used eps as the score; the score is -eps / sigma_t": (
        "你把 eps 当成了分数函数；分数函数是 -eps / sigma_t"
    ),
    "wrong sign of the score: grad log p_t = -eps / sigma_t": (
        "分数函数的符号反了：grad log p_t = -eps / sigma_t"
    ),
    "you used only the diagonal of cov: the covariance is full, so C_t is a matrix to solve with": (
        "你只用了 cov 的对角线：协方差是满矩阵，所以 C_t 是一个需要求解的矩阵"
    ),
    "the mean of the target is missing": "缺少了目标分布的均值",
    "the noise's share d_sigma_t E[x_0 | x] is missing": "缺少了噪声那一项 d_sigma_t E[x_0 | x]",
    "that is the linear path; the cosine path has alpha_t = sin(pi t / 2), sigma_t = cos(pi "
    "t / 2)": ("这是线性路径；余弦路径的系数是 alpha_t = sin(pi t / 2)，sigma_t = cos(pi t / 2)"),
    "sin and cos are swapped: at t = 0 the path must be all noise": (
        "sin 和 cos 写反了：t = 0 时路径必须全是噪声"
    ),
    "x_0 and x_1 are swapped: x_0 is the noise (what eps_theta predicts), x_1 the data": (
        "x_0 和 x_1 写反了：x_0 是噪声（eps_theta 所预测的），x_1 是数据"
    ),
    "you averaged over the coordinates too: sum the squares over D, average over the batch": (
        "你对坐标也取了平均：应在 D 个坐标上对平方求和，再在批次上取平均"
    ),
    "expected a tensor of {n} times; got {kind}": "应返回包含 {n} 个时刻的张量；实际得到的是 {kind}",
    "expected n + 1 = {n} times (n steps); got {got}": "应有 n + 1 = {n} 个时刻（n 步）；实际是 {got} 个",
    "the grid contains NaN or inf": "时间网格中含有 NaN 或 inf",
    "the grid must start at 0 and end at t_end = {t_end}; got {first:.4g} ... {last:.6g}": (
        "时间网格必须从 0 开始、到 t_end = {t_end} 结束；实际是 {first:.4g} ... {last:.6g}"
    ),
    "the times must increase strictly": "时刻必须严格递增",
    "with {n} Euler steps your grid's RMS error is {mine:.4f}, the uniform grid's {base:.4f}: "
    "aim for at most 0.8 x uniform (where is the field hardest to follow?)": (
        "用 {n} 步 Euler 法时，你的网格的均方根误差为 {mine:.4f}，均匀网格为 {base:.4f}："
        "目标是不超过均匀网格的 0.8 倍（向量场在哪里最难跟上？）"
    ),
    # ---- checks of Section 6.5
    "time-dependent field, t = {t:.2f}": "随时间变化的向量场，t = {t:.2f}",
    "that is Euler's step: Heun also evaluates v at the Euler predictor and averages": (
        "这是 Euler 步：Heun 法还要在 Euler 预测点处计算 v，再取平均"
    ),
    "that is the midpoint step: Heun averages the slopes at both ends": (
        "这是中点法的一步：Heun 法取的是两端斜率的平均"
    ),
    "evaluate the second slope at time t + dt, not t": "第二个斜率应在时刻 t + dt 处计算，而不是 t",
    "Second order for 2 evaluations.": "两次求值，换来二阶精度。",
    "w = {w:.2f}: that is the (1 + w) convention; here w = 0 must give v_uncond and w = 1 v_cond": (
        "w = {w:.2f}：这是 (1 + w) 的约定；这里 w = 0 必须给出 v_uncond，w = 1 给出 v_cond"
    ),
    "w = {w:.2f}: v_uncond and v_cond are swapped": "w = {w:.2f}：v_uncond 和 v_cond 写反了",
    "time-dependent field, {n} steps": "随时间变化的向量场，{n} 步",
    "that is Euler's method with {n} steps; each Heun step also evaluates v at the Euler "
    "predictor": ("这是 {n} 步的 Euler 法；Heun 法的每一步还要在 Euler 预测点处计算 v"),
    "that is Euler's method with {n} steps (the same evaluations as Heun's)": (
        "这是 {n} 步的 Euler 法（求值次数与 Heun 法相同）"
    ),
    "one step short: {n} steps of size 1 / {n} end at t = 1": (
        "少了一步：{n} 步、每步长 1 / {n}，才会在 t = 1 结束"
    ),
    "c = {c:.2f}: equal weights 1/2, 1/2 are second order only for c = 1 (Heun); derive the "
    "weights from the Taylor expansion": (
        "c = {c:.2f}：等权重 1/2、1/2 只在 c = 1 时（Heun 法）是二阶的；请由 Taylor 展开推导权重"
    ),
    "c = {c:.2f}: weights 0, 1 are second order only for c = 1/2 (the midpoint)": (
        "c = {c:.2f}：权重 0、1 只在 c = 1/2 时（中点法）是二阶的"
    ),
    "the two weights are swapped": "两个权重写反了",
    "the second slope is taken at time t + c dt, not t": "第二个斜率应在时刻 t + c dt 处取，而不是 t",
    "gamma = {gamma:.2f}: that is the section's convention (w = 0 unconditional); here gamma "
    "= 0 must give v_cond": (
        "gamma = {gamma:.2f}：这是本节正文的约定（w = 0 为无条件）；这里 gamma = 0 必须给出 v_cond"
    ),
    "gamma = {gamma:.2f}: v_uncond and v_cond are swapped": (
        "gamma = {gamma:.2f}：v_uncond 和 v_cond 写反了"
    ),
    "{path}, K = {k} classes": "{path}，K = {k} 个类别",
    "you weighted the classes by their prior p(y) alone: at x_t the weight is the posterior "
    "p(y | x_t), which needs log p_t(x | y) too": (
        "你只用先验 p(y) 给各类别加权：在 x_t 处，权重应是后验 p(y | x_t)，这还需要 log p_t(x | y)"
    ),
    "a plain average of the classes: weight each by its posterior p(y | x_t)": (
        "这是各类别的简单平均：请用各自的后验 p(y | x_t) 加权"
    ),
    "the prior p(y) is missing from the posterior weights": "后验权重中缺少了先验 p(y)",
    "expected a pair (x_t, u_t); got {kind}": "应返回一对 (x_t, u_t)；实际得到的是 {kind}",
    "{what} must be a tensor of shape {shape}": "{what} 必须是形状为 {shape} 的张量",
    "{what} contains NaN or inf": "{what} 中含有 NaN 或 inf",
    "at t = 0 the path must be at x_0 (the noise)": "t = 0 时路径必须位于 x_0（噪声）",
    "at t = 1 the path must be at x_1 (the data)": "t = 1 时路径必须位于 x_1（数据）",
    "u_t is not the time derivative of x_t (compared with central differences)": (
        "u_t 不是 x_t 对时间的导数（与中心差分比较得出）"
    ),
    "your path spends {mine:.1%} of its time in the gap, the straight one {base:.1%}: aim "
    "for at most 0.8 x the straight path's share": (
        "你的路径有 {mine:.1%} 的时间处在缝隙中，直线路径是 {base:.1%}：目标是不超过直线路径"
        "的 0.8 倍"
    ),
    "less time in the gap ({mine:.1%} against {base:.1%}), but kinetic energy {energy:.2f} "
    "against the straight path's {base_energy:.2f}: at most 2 x": (
        "处在缝隙中的时间更少了（{mine:.1%}，对比 {base:.1%}），但动能为 {energy:.2f}，而直线"
        "路径是 {base_energy:.2f}：最多只能是它的 2 倍"
    ),
    "2000 noise-data pairs": "2000 对噪声-数据",
    # ---- checks of Section 6.6
    "samples of {n} and {m} points in {d}-D": "{d} 维中 {n} 个点与 {m} 个点的样本",
    "the mean term |mu_a - mu_b|^2 is missing": "缺少了均值项 |mu_a - mu_b|^2",
    "take the matrix square root of C_a C_b (scipy.linalg.sqrtm) inside the trace": (
        "在迹的里面要取 C_a C_b 的矩阵平方根（scipy.linalg.sqrtm）"
    ),
    "use the unbiased covariances (divide by n - 1, as np.cov does by default)": (
        "请用无偏协方差（除以 n - 1，np.cov 默认就是这样）"
    ),
    "that is the square root: the Fréchet distance of FID is the squared W2": (
        "这是平方根：FID 中的 Fréchet 距离是 W2 的平方"
    ),
    "The W2^2 of the Gaussian fits.": "即两个高斯拟合之间的 W2^2。",
    "Fréchet distance {fd:.3f} against the 32-evaluation reference's {fd_ref:.3f} (tolerance "
    "{fd_tol:.3f}); accuracy {acc:.3f} against {acc_ref:.3f}": (
        "Fréchet 距离 {fd:.3f}，32 次求值参考解为 {fd_ref:.3f}（容差 {fd_tol:.3f}）；"
        "准确率 {acc:.3f}，参考解为 {acc_ref:.3f}"
    ),
    "the digits are not yet as good: {said}.": "生成的数字还不够好：{said}。",
    "the digits are not yet as good: {said}. That is what {budget} Euler steps give: spend "
    "the evaluations on higher order.": (
        "生成的数字还不够好：{said}。这正是 {budget} 步 Euler 法的水平：请把求值次数花在"
        "更高阶的方法上。"
    ),
    "the judge recognises too few of the requested digits: {said}": (
        "判别器能认出的目标数字太少：{said}"
    ),
    "{said}.": "{said}。",
    "your function returned None. Did you forget `return`?": (
        "你的函数返回了 None。是不是忘了写 `return`？"
    ),
    "expected a torch.Tensor of shape {shape}; got a {kind}": (
        "应返回形状为 {shape} 的 torch.Tensor；实际得到的是 {kind}"
    ),
    "you called the field {calls} times; the budget is {budget} evaluations": (
        "你调用了向量场 {calls} 次；预算只有 {budget} 次求值"
    ),
    "your samples contain NaN or inf": "你的样本中含有 NaN 或 inf",
    "you return the noise x_0 unchanged: solve from t = 0 to t = 1": (
        "你原样返回了噪声 x_0：请从 t = 0 求解到 t = 1"
    ),
    # ---- runtime, training, cache (fmlib/runtime.py, training.py, cache.py)
    "device": "设备",
    "torch threads": "torch 线程数",
    "cpu cores": "CPU 核数",
    "seed": "随机种子",
    "this notebook was written for fmlib {requires}, but fmlib {version} is installed (from "
    "{where}). Fix: from the repository root run `make setup`, or `pip install -e .`, then "
    "restart the kernel.": (
        "本笔记本是为 fmlib {requires} 编写的，但当前安装的是 fmlib {version}（位于 {where}）。"
        "解决办法：在仓库根目录运行 `make setup` 或 `pip install -e .`，然后重启内核。"
    ),
    "call fmlib.runtime.configure() first (the notebook's opening cell)": (
        "请先调用 fmlib.runtime.configure()（笔记本的第一个单元格）"
    ),
    "notebook run time: {wall:.0f} s wall, {cpu:.0f} s CPU, {full:.0f} s at full speed (the "
    "machine ran {slowdown:.2f}x slower than when quiet; budget {budget:.0f} s); peak kernel "
    "memory {peak:.0f} MiB (budget {memory_budget:.0f} MiB)": (
        "笔记本运行时间：墙钟 {wall:.0f} 秒，CPU {cpu:.0f} 秒，折合全速 {full:.0f} 秒（机器比空闲时"
        "慢 {slowdown:.2f} 倍；预算 {budget:.0f} 秒）；内核内存峰值 {peak:.0f} MiB"
        "（预算 {memory_budget:.0f} MiB）"
    ),
    "over the time budget: {full:.0f} s CPU at full speed ({cpu:.0f} s measured, the machine "
    "{slowdown:.2f}x slower than when quiet)": (
        "超出时间预算：折合全速 CPU 时间 {full:.0f} 秒（实测 {cpu:.0f} 秒，机器比空闲时慢 "
        "{slowdown:.2f} 倍）"
    ),
    "over the memory budget: {peak:.0f} MiB": "超出内存预算：{peak:.0f} MiB",
    "CFM ({coupling})": "条件流匹配（{coupling}）",
    "CNF (max. likelihood)": "CNF（最大似然）",
    "{name}: loaded the trained weights from {file} (FMLIB_CACHE)": (
        "{name}：已从 {file} 载入训练好的权重（FMLIB_CACHE）"
    ),
    # ---- figures (fmlib/plotting.py, fmlib/i18n.py)
    "no Chinese font found for figures (looked for {fonts}); Chinese text will show as "
    "boxes: install one, e.g. `apt-get install fonts-wqy-microhei`": (
        "没有找到用于图形的中文字体（查找了 {fonts}）；图中的中文将显示为方框：请安装一种，"
        "例如 `apt-get install fonts-wqy-microhei`"
    ),
    "div v at t = {t:.2f}": "t = {t:.2f} 时的散度 div v",
    "curl v at t = {t:.2f}": "t = {t:.2f} 时的旋度 curl v",
    "{w2:.3f}  ({ratio:.2f} x noise floor {floor:.3f})": (
        "{w2:.3f}（噪声下限 {floor:.3f} 的 {ratio:.2f} 倍）"
    ),
    "RMS error at t = 1": "t = 1 处的均方根误差",
    "error vs cost": "误差与计算量",
    "|v_theta - u_t| at t = {t}": "t = {t} 时的 |v_theta - u_t|",
    "{name}\nE|x_1 - x_0|^2 = {cost:.2f}, {crossing:.0%} of pairs cross": (
        "{name}\nE|x_1 - x_0|^2 = {cost:.2f}，{crossing:.0%} 的配对相交"
    ),
    "x (source)": "x（源）",
    "y (target)": "y（目标）",
    "target j": "目标 j",
    "source i": "源 i",
    "{title}: {count} of {n} cross": "{title}：{n} 条中有 {count} 条相交",
    # ---- explorers (fmlib/widgets/)
    # 6.1 Task 3 (a rotating linear flow) and 6.4 Task 2 (the posterior covariance)
    "D = {d}": "D = {d}",
    "that is the flow of dx/dt = A x: the rotation R_t of the field is missing": (
        "这是 dx/dt = A x 的流：漏掉了向量场中的旋转 R_t"
    ),
    "right factors, wrong order: the rotation acts last, after the flow in the rotating frame": (
        "因子对了，顺序错了：旋转最后作用，在旋转坐标系中的流之后"
    ),
    "in the rotating frame y_t = R_t^T x_t the field is not A y: differentiate R_t^T too": (
        "在旋转坐标系 y_t = R_t^T x_t 中，向量场并不是 A y：R_t^T 也要求导"
    ),
    "that is the Jacobian of the denoiser E[x_1 | x_t = x]; the covariance is a multiple of it": (
        "这是去噪器 E[x_1 | x_t = x] 的雅可比矩阵；协方差是它的一个倍数"
    ),
    "off by sigma_t^2 in every row: check the factor in front of the Jacobian": (
        "每一行都差一个 sigma_t^2 因子：检查雅可比矩阵前面的系数"
    ),
    "that is Cov[alpha_t x_1 | x_t = x]; divide by alpha_t^2 for Cov[x_1 | x_t = x]": (
        "这是 Cov[alpha_t x_1 | x_t = x]；除以 alpha_t^2 才得到 Cov[x_1 | x_t = x]"
    ),
    "velocity takes points of shape {shape} (one row per t); got {got}": (
        "velocity 接受形状为 {shape} 的点（每个 t 一行）；实际得到 {got}"
    ),
    # 6.2 Task 6 (a plan that hedges) and the capstone (a one-step sampler)
    "expected a plan, a ({b}, {b}) tensor; got {got}": "应返回一个计划，即 ({b}, {b}) 的张量；实际得到 {got}",
    "expected floating-point masses; got {dtype}": "质量应为浮点数；实际得到 {dtype}",
    "the plan contains NaN or inf (exp(-C / eps) underflows for small eps: work in log "
    "space)": "计划中含有 NaN 或 inf（eps 很小时 exp(-C / eps) 会下溢：请在对数域中计算）",
    "the plan has negative entries; masses are at least 0": "计划中有负数元素；质量至少为 0",
    "your plan's entries sum to B (rows summing to 1?); a plan between two uniform "
    "batches has total mass 1, rows and columns summing to 1 / B": (
        "你的计划元素之和为 B（每行之和为 1？）；两个均匀批次之间的计划总质量为 1，"
        "每行、每列之和都是 1 / B"
    ),
    "the marginals are off by {err:.1e} (relative): rows and columns must sum to 1 / B "
    "within {tol:g} (iterate the scalings longer?)": (
        "边缘分布偏离了 {err:.1e}（相对误差）：每行、每列之和须在 {tol:g} 以内等于 1 / B"
        "（缩放迭代再多做几轮？）"
    ),
    "that is a permutation (one partner per point), exact OT itself: the task asks for "
    "a plan that spreads": "这是一个排列（每个点只有一个配对），也就是精确最优传输本身：题目要的是一个分散开的计划",
    "cost {cost:.3f} x exact OT, {partners:.1f} effective partners per point": (
        "代价为精确最优传输的 {cost:.3f} 倍，每个点有 {partners:.1f} 个有效配对"
    ),
    "{verdict}: too expensive (at most {limit} x exact OT)": (
        "{verdict}：代价太高（最多为精确最优传输的 {limit} 倍）"
    ),
    "{verdict}: spreads too little (at least {limit:g} partners)": (
        "{verdict}：分散得太少（至少要 {limit:g} 个配对）"
    ),
    "two moons, B = {b}": "双月，B = {b}",
    "eight Gaussians of radius 4, B = {b}": "半径为 4 的八个高斯，B = {b}",
    "Cheap to be near OT, and hedged: every point has at least {limit:g} partners.": (
        "代价接近最优传输，又留有余地：每个点至少有 {limit:g} 个配对。"
    ),
    "the model must return velocities of shape ({n}, 2) for x: ({n}, 2) and t: "
    "({n},); got {got}": "对于 x: ({n}, 2) 和 t: ({n},)，模型必须返回形状为 ({n}, 2) 的速度；实际得到 {got}",
    "one Euler step gives NaN or inf": "一步 Euler 法得到了 NaN 或 inf",
    "your function returned None: return the trained model": "你的函数返回了 None：请返回训练好的模型",
    "expected a model v(x, t) (callable); got a {kind}": "应返回一个模型 v(x, t)（可调用对象）；实际得到的是 {kind}",
    "one Euler step lands at W2 = {w2:.3f} (two fresh data samples: {floor:.3f}) with "
    "{dark:.0%} of the samples on dark squares": (
        "一步 Euler 法落在 W2 = {w2:.3f}（两份新数据样本之间：{floor:.3f}），"
        "{dark:.0%} 的样本落在深色方格上"
    ),
    "{measured}: aim for W2 at most {limit} (straighter paths need fewer steps)": (
        "{measured}：目标是 W2 不超过 {limit}（路径越直，需要的步数越少）"
    ),
    "{measured}: aim for at least {limit:.0%} on dark squares (half is what an even "
    "spread gets)": "{measured}：目标是至少 {limit:.0%} 落在深色方格上（均匀铺开只能得到一半）",
    "{steps} steps": "{steps} 步",
    "One evaluation of the field per sample, at W2 <= {limit} and on the squares.": (
        "每个样本只计算一次向量场，W2 <= {limit}，并且落在方格上。"
    ),
    # the posterior, solver and guidance explorers
    "{name}, w = {w:.2f}": "{name}，w = {w:.2f}",
    "class": "类别",
    "w": "w",
    "w = 0": "w = 0",
    "effective points 1/sum q^2 = {v:4.1f}": "有效点数 1/sum q^2 = {v:4.1f}",
    "largest weight = {v:4.2f}": "最大权重 = {v:4.2f}",
    "|u_t(x)| = {v:4.1f}": "|u_t(x)| = {v:4.1f}",
    "data point j (ordered by x)": "数据点 j（按 x 排序）",
    "q(j | x_t = x)": "q(j | x_t = x)",
    "x = ({x:.2f}, {y:.2f})": "x = ({x:.2f}, {y:.2f})",
    "t = {t:.2f}": "t = {t:.2f}",
    "x": "x",
    "y": "y",
    "adaptive": "自适应",
    "method": "方法",
    "steps": "步数",
    "reference": "参考",
    "{method}, steps = {steps}": "{method}，步数 = {steps}",
    "solver": "求解器",
    "play": "播放",
    "pause": "暂停",
    "trails": "轨迹",
    "Space: play or pause; arrow keys: step t": "空格键：播放或暂停；方向键：逐步调整 t",
    "{kind}: drawn by the kernel ({err})": "{kind}：改由内核绘制（{err}）",
    "v_t and particles, t = {t:.2f}": "向量场 v_t 与粒子，t = {t:.2f}",
    "p_t (exact), t = {t:.2f}": "p_t（精确），t = {t:.2f}",
    "particle histogram, t = {t:.2f}": "粒子直方图，t = {t:.2f}",
    "inside |x| < {radius:g}": "内部 |x| < {radius:g}",
    "outside": "外部",
    "mean p_t(x_t)": "p_t(x_t) 的均值",
    "density of the particles": "粒子处的概率密度",
    "div v and v at t = {t:.2f}": "t = {t:.2f} 时的散度 div v 与向量场 v",
    "colour = log p_t(x_t), t = {t:.2f}": "颜色 = log p_t(x_t)，t = {t:.2f}",
    "linear": "线性",
    "OT-coupled": "最优传输耦合",
    "VP diffusion": "VP 扩散",
    "curved": "弯曲",
    "{name}\nenergy {energy}, crossing {crossing:.0%}": "{name}\n动能 {energy}，相交 {crossing:.0%}",
    "conditional paths x_0 → x_1 and x_t at t = {t:.2f}": (
        "条件路径 x_0 → x_1，以及 t = {t:.2f} 时的 x_t"
    ),
    "probability-flow ODE": "概率流 ODE",
    "reverse SDE": "逆向 SDE",
    "diffusion": "扩散",
    "diffusion, probability-flow ODE\nt = {t:.2f}": "扩散，概率流 ODE\nt = {t:.2f}",
    "diffusion, reverse SDE\nt = {t:.2f}": "扩散，逆向 SDE\nt = {t:.2f}",
    "flow matching, ODE\nt = {t:.2f}": "流匹配，ODE\nt = {t:.2f}",
    "digit": "数字",
    "digit {y}, w = {w:.1f}, t = {t:.2f}": "数字 {y}，w = {w:.1f}，t = {t:.2f}",
    "probe": "探针",
    "gaussian": "高斯",
    "rademacher": "Rademacher",
    "{probe}, k = {k}": "{probe}探针，k = {k}",
    "exact div v": "精确散度 div v",
    "Hutchinson estimate": "Hutchinson 估计",
    "estimate − exact": "估计值 − 精确值",
    "errors over the points": "各点上的误差",
    "mean error (± SE)": "平均误差（± 标准误）",
    "RMS error": "均方根误差",
}


def set_language(lang: str) -> None:
    """Choose the language of fmlib's output: ``"en"`` (default) or ``"zh"``."""
    global _LANG
    if not isinstance(lang, str):
        raise TypeError(f"lang must be a string, one of {LANGUAGES}; got {lang!r}")
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {LANGUAGES}; got {lang!r}")
    _LANG = lang
    if "matplotlib" in sys.modules:  # the compute layers never import matplotlib themselves
        apply_fonts()


def language() -> str:
    """The language chosen by :func:`set_language` (``"en"`` unless told otherwise)."""
    return _LANG


def cjk_font(candidates: tuple[str, ...] | None = None) -> str | None:
    """The first of ``candidates`` (default ``CJK_FONTS``) that matplotlib finds here, or None."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    names = CJK_FONTS if candidates is None else candidates
    return next((name for name in names if name in installed), None)


def _has_minus(name: str) -> bool:
    """Whether the font ``name`` draws U+2212, the minus sign matplotlib uses for negative ticks."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    path = font_manager.findfont(
        font_manager.FontProperties(family=name), fallback_to_default=False
    )
    return FT2Font(path).get_char_index(0x2212) != 0


def apply_fonts() -> None:
    """matplotlib's fonts for the chosen language: for ``"zh"`` a CJK font (``cjk_font()``) with
    DejaVu Sans behind it; for ``"en"`` the settings from before. Called by :func:`set_language`
    and when ``fmlib.plotting`` is imported."""
    global _SAVED_RC
    import matplotlib as mpl

    keys = ("font.family", "font.sans-serif", "font.monospace", "axes.unicode_minus")
    if _LANG == "en":
        if _SAVED_RC is not None:
            mpl.rcParams.update(_SAVED_RC)
            _SAVED_RC = None
        return
    name = cjk_font()
    if name is None:
        import warnings

        warnings.warn(
            t(
                "no Chinese font found for figures (looked for {fonts}); Chinese text will show "
                "as boxes: install one, e.g. `apt-get install fonts-wqy-microhei`",
                fonts=", ".join(CJK_FONTS),
            ),
            stacklevel=2,
        )
        return
    if _SAVED_RC is None:
        _SAVED_RC = {k: mpl.rcParams[k] for k in keys}
    mono = cjk_font(CJK_MONO_FONTS) or name
    # matplotlib falls back glyph by glyph only along the family list itself (a generic name such
    # as "sans-serif" resolves to one font): the CJK font first, DejaVu Sans for what it lacks
    mpl.rcParams["font.family"] = [name, "DejaVu Sans"]
    mpl.rcParams["font.sans-serif"] = [
        name,
        *(f for f in _SAVED_RC["font.sans-serif"] if f != name),
    ]
    mpl.rcParams["font.monospace"] = [mono, *(f for f in _SAVED_RC["font.monospace"] if f != mono)]
    # negative tick labels use U+2212; a font without it would draw a box there
    mpl.rcParams["axes.unicode_minus"] = _has_minus(name)


def t(message: str, /, **fields) -> str:
    """``message`` in the chosen language, with ``fields`` filled in by ``str.format``."""
    template = ZH.get(message, message) if _LANG == "zh" else message
    return template.format(**fields) if fields else template


# A notebook's own names (table columns and row labels, panel titles, axis labels, legends) ->
# Chinese, for term(); every key is a string in a notebook's code (tests/test_i18n.py). Names that
# are notation only (W2, NFE, L_CFM) are shown as written and need no entry.
TERMS: dict[str, str] = {
    "(a) straight, independent": "(a) 直线，独立配对",
    "(b) straight, OT pairs": "(b) 直线，最优传输配对",
    "(c) curved (a = 1), OT pairs": "(c) 弯曲（a = 1），最优传输配对",
    "-div(p_t v_t), I-CFM's v_t": "-div(p_t v_t)，I-CFM 的 v_t",
    "1 / coeff.": "1 / 系数",
    "8 Gaussians": "8 个高斯",
    "CPU s": "CPU 秒",
    "DSM, probability-flow ODE": "DSM，概率流 ODE",
    "DSM, reverse SDE (Euler-Maruyama)": "DSM，逆向 SDE（Euler-Maruyama）",
    "E Var(u | x_t) (= L_CFM - L_FM)": "E Var(u | x_t)（= L_CFM - L_FM）",
    "Euler steps n": "Euler 步数 n",
    "E|s_theta| from t = 0.999 to 0.99999": "t 从 0.999 到 0.99999 时的 E|s_theta|",
    "E|v_theta - u_t|^2 / E|u_t|^2 over p_t": "在 p_t 上的 E|v_theta - u_t|^2 / E|u_t|^2",
    "E|x_1 - x_0|^2 (conditional paths)": "E|x_1 - x_0|^2（条件路径）",
    "FM straightness predicted from the VP run": "由 VP 运行预测的 FM 直线度",
    "FM, ODE": "FM，ODE",
    "FM, VP path": "FM，VP 路径",
    "FM, x_1 - x_0": "FM，x_1 - x_0",
    "Fréchet / floor": "Fréchet / 下限",
    "Fréchet / noise floor": "Fréchet / 噪声下限",
    "Gaussians: I-CFM energy / OT energy": "高斯：I-CFM 动能 / 最优传输动能",
    "I-CFM marginal": "I-CFM 边缘",
    "L_CFM - L_FM of the learned field": "学到的向量场的 L_CFM - L_FM",
    "OT (displacement)": "最优传输（位移插值）",
    "OT + blur": "最优传输 + 模糊",
    "OT field": "最优传输向量场",
    "OT field + rotation": "最优传输向量场 + 旋转",
    "P(x_t in gap)": "P(x_t 在缝隙中)",
    "RK4 steps": "RK4 步数",
    "RK4 steps n": "RK4 步数 n",
    "RK4, 20 steps": "RK4，20 步",
    "RK4, 4 steps": "RK4，4 步",
    "VP curves' KE in t": "VP 曲线的动能随 t 变化",
    "W2 / noise floor (500 points)": "W2 / 噪声下限（500 个点）",
    "W2 / noise floor (n = 500)": "W2 / 噪声下限（n = 500）",
    "W2 at 8 NFE (RK4), x floor: DSM / FM": "8 次求值（RK4）时的 W2，以下限为单位：DSM / FM",
    "W2 reference": "W2 参考值",
    "W2 to make_moons": "到 make_moons 的 W2",
    "a point mass to two points": "一个点质量到两个点",
    "accuracy": "准确率",
    "adjoint gap": "伴随法差距",
    "adjoint ms": "伴随法毫秒",
    "adjoint peak MiB": "伴随法峰值 MiB",
    "backprop gap": "反向传播差距",
    "backprop ms": "反向传播毫秒",
    "backprop peak MiB": "反向传播峰值 MiB",
    "backward passes": "反向传播次数",
    "bits / dim": "比特 / 维",
    "centre / R": "中心 / R",
    "closed form": "闭式解",
    "closed: from p_t": "闭式：由 p_t",
    "closed: to p_t": "闭式：到 p_t",
    "conditional lines": "条件直线",
    "conditional paths x_0 -> x_1 (independent pairs)": "条件路径 x_0 -> x_1（独立配对）",
    "conditional paths: time in gap": "条件路径：处在缝隙中的时间",
    "conditional straight lines\n(independent pairs)": "条件直线\n（独立配对）",
    "continuity residual (h = 0.05), I-CFM's field": "连续性方程残差（h = 0.05），I-CFM 的向量场",
    "continuity residual (h = 0.05), OT field": "连续性方程残差（h = 0.05），最优传输向量场",
    "control": "对照",
    "cosine": "余弦",
    "cost of one divergence evaluation": "一次散度计算的代价",
    "coupling": "耦合",
    "cross term": "交叉项",
    "curl": "旋度",
    "curl ratio, exact OT field + rotation (t = 0.5)": "旋度比，精确最优传输向量场 + 旋转（t = 0.5）",
    "curved (Ex. 6.2)": "弯曲（习题 6.2）",
    "d x_1 / d x_0 for v = c x": "v = c x 时的 d x_1 / d x_0",
    "data": "数据",
    "density": "密度",
    "digits: quality against cost": "数字：质量与代价",
    "dimension d": "维数 d",
    "div": "散度",
    "divergence": "散度",
    "diversity": "多样性",
    "dopri5 NFE, seed 0: PF-ODE / FM, VP path / FM": "dopri5 求值次数，种子 0：PF-ODE / FM，VP 路径 / FM",
    "draw": "抽样",
    "end": "终点",
    "ends in gap": "终点在缝隙中",
    "energy": "动能",
    "energy (trajectories)": "动能（轨迹）",
    "energy / W2^2": "动能 / W2^2",
    "eps-pred., x_0": "噪声预测，x_0",
    "exact": "精确",
    "exact / forward": "精确 / 前向",
    "exact I-CFM field": "精确 I-CFM 向量场",
    "exact OT (Section 6.2)": "精确最优传输（6.2 节）",
    "exact density p_t(x)": "精确密度 p_t(x)",
    "exact u_t(x)": "精确 u_t(x)",
    "exact, VP path": "精确，VP 路径",
    "exact, linear path": "精确，线性路径",
    "exact, linear path, matched": "精确，线性路径，匹配后",
    "expected order": "期望阶数",
    "field": "向量场",
    "field of": "向量场所属路径",
    "final loss": "最终损失",
    "first component of the velocity": "速度的第一个分量",
    "float32 conversion error at t = 1e-5 / 1 - 1e-5": "t = 1e-5 / 1 - 1e-5 处的 float32 转换误差",
    "floor": "下限",
    "flow": "流",
    "forward": "前向",
    "gap: samples ending there, the models (the data)": "缝隙：终点落在其中的样本，各模型（数据）",
    "gap: time of straight conditional lines / learned I-CFM": "缝隙：直线条件路径 / 学到的 I-CFM 所处时间",
    "generated": "生成",
    "generated digits, w = 1 (midpoint, 16 steps)": "生成的数字，w = 1（中点法，16 步）",
    "geodesic: W2(p_0, p_t) / W2 at t = 0.5, samples": "测地线：t = 0.5 时的 W2(p_0, p_t) / W2，样本",
    "gradient field (curl-free)": "梯度场（无旋）",
    "guidance scale w": "引导强度 w",
    "guidance: accuracy at w = 0 / 1 / 5": "引导：w = 0 / 1 / 5 时的准确率",
    "guidance: best w by Fréchet distance": "引导：按 Fréchet 距离最好的 w",
    "guidance: class accuracy at w = 0 / 1 / 4": "引导：w = 0 / 1 / 4 时的类别准确率",
    "guidance: spread of the inner moon at w = 1 / 6 (data)": "引导：w = 1 / 6 时内侧月牙的分散程度（数据）",
    "held-out NLL (nats)": "留出集负对数似然（nat）",
    "in r": "以 r 计时",
    "independent": "独立",
    "independent q = p_0 p_1": "独立 q = p_0 p_1",
    "its SE": "其标准误",
    "judge: accuracy on real held-out digits (ceiling)": "判别器：在真实留出数字上的准确率（上限）",
    "k x variance": "k × 方差",
    "kinetic energy": "动能",
    "kinetic energy, measured": "动能，实测",
    "learned I-CFM field's energy": "学到的 I-CFM 向量场的动能",
    "learned flow, I-CFM": "学到的流，I-CFM",
    "learned flow, OT-CFM": "学到的流，OT-CFM",
    "learned flow: ends in gap": "学到的流：终点在缝隙中",
    "learned flow: time in gap": "学到的流：处在缝隙中的时间",
    "learned, VP PF-ODE (DSM)": "学到的，VP PF-ODE（DSM）",
    "learned, linear (FM)": "学到的，线性（FM）",
    "likelihood: CPU ratio exact / Hutchinson": "似然：CPU 时间比 精确 / Hutchinson",
    "likelihood: bits / dim exact / Hutchinson": "似然：比特 / 维 精确 / Hutchinson",
    "linear (I-CFM)": "线性（I-CFM）",
    "linear + OT (OT-CFM)": "线性 + 最优传输（OT-CFM）",
    "linear run": "线性运行",
    "loose": "宽松",
    "marginal field's energy": "边缘向量场的动能",
    "marginal field's trajectories": "边缘向量场的轨迹",
    "marginal trajectories": "边缘轨迹",
    "mass on [-7, 7]^2": "[-7, 7]^2 上的质量",
    "mass on the square": "正方形上的质量",
    "max": "最大值",
    "max inside": "内部最大值",
    "mean distance |x_0 - round trip|": "平均距离 |x_0 - 往返结果|",
    "measure": "度量",
    "measured": "实测",
    "median CPU s": "CPU 秒中位数",
    "median steps": "步数中位数",
    "median steps to DSM's final W2: DSM / FM, VP path / FM": "达到 DSM 最终 W2 的步数中位数：DSM / FM，VP 路径 / FM",
    "memorisation: nearest training digit, samples / held-out": "记忆：最近的训练数字，样本 / 留出集",
    "method": "方法",
    "midpoint": "中点法",
    "minibatch of 64: cost / W2^2": "64 个的小批量：代价 / W2^2",
    "model": "模型",
    "moons: straight independent lines, energy / W2^2": "双月：独立直线，动能 / W2^2",
    "ms per batch of 16": "每批 16 个的毫秒数",
    "n x truncation": "n × 截断误差",
    "noise floor": "噪声下限",
    "one step": "一步",
    "p_t of": "p_t 所属路径",
    "pairing": "配对",
    "pairs near x": "x 附近的配对",
    "panel": "面板",
    "particles": "粒子",
    "path": "路径",
    "path: W2, worst of the five (x perfect)": "路径：W2，五个中最差的（以完美采样为单位）",
    "path: dopri5 NFE I-CFM / OT-CFM": "路径：dopri5 求值次数 I-CFM / OT-CFM",
    "path: energy I-CFM / OT-CFM": "路径：动能 I-CFM / OT-CFM",
    "path: straightness I-CFM / OT-CFM": "路径：直线度 I-CFM / OT-CFM",
    "peak density": "峰值密度",
    "perfect (the exact mixture)": "完美（精确混合分布）",
    "perfect sampler / noise floor (W2, n = 2000)": "完美采样器 / 噪声下限（W2，n = 2000）",
    "point x": "点 x",
    "predicted": "预测",
    "predicted ": "预测 ",
    "probes k": "探针数 k",
    "ratio": "比值",
    "reference": "参考",
    "reference is": "参考是",
    "relative difference": "相对差异",
    "relative error": "相对误差",
    "residual": "残差",
    "rotation (divergence-free)": "旋转（无散）",
    "rotation of N(0, I): energy (the gradient field: 0)": "N(0, I) 的旋转：动能（梯度场：0）",
    "rounding": "舍入误差",
    "sample quality against sampling cost": "采样质量与采样代价",
    "sample quality during training (RK4, 32 NFE)": "训练过程中的采样质量（RK4，32 次求值）",
    "sampler": "采样器",
    "samples of p_t": "p_t 的样本",
    "samples: from x_t": "样本：由 x_t",
    "samples: to x_t": "样本：到 x_t",
    "score -> u, float32 error": "分数 -> u，float32 误差",
    "score -> velocity = exact velocity = PF-ODE field": "分数 -> 速度 = 精确速度 = PF-ODE 向量场",
    "score coeff.": "分数系数",
    "score, -x_0/sigma": "分数，-x_0/sigma",
    "score-target variance at t = 0.999 vs FM target": "t = 0.999 处分数目标的方差对比 FM 目标",
    "section": "节",
    "share of particles in the gap": "缝隙中粒子的比例",
    "six points: Monge's cost = Kantorovich's": "六个点：Monge 代价 = Kantorovich 代价",
    "six points: a permutation": "六个点：一个排列",
    "solver: NFE for 1e-2, RK4 / dopri5 (I-CFM)": "求解器：达到 1e-2 的求值次数，RK4 / dopri5（I-CFM）",
    "solver: NFE for 1e-6, RK4 / dopri5 (I-CFM)": "求解器：达到 1e-6 的求值次数，RK4 / dopri5（I-CFM）",
    "solver: cheapest within 10 % of the reference W2, I-CFM / OT-CFM": "求解器：W2 在参考值 10 % 以内的最低代价，I-CFM / OT-CFM",
    "solver: orders Euler, Heun, midpoint, RK4 (I-CFM)": "求解器：Euler、Heun、中点法、RK4 的阶数（I-CFM）",
    "solvers: cheapest within 10 % of dopri5": "求解器：在 dopri5 10 % 以内的最低代价",
    "source": "源",
    "spread": "分散程度",
    "std. error": "标准误",
    "step": "步",
    "steps": "步数",
    "steps / tol": "步数 / 容差",
    "steps n": "步数 n",
    "straight conditional paths": "直线条件路径",
    "straight, sigma_min": "直线，sigma_min",
    "straightness": "直线度",
    "straightness DSM PF-ODE / FM, learned": "直线度 DSM PF-ODE / FM，学到的",
    "straightness, measured": "直线度，实测",
    "sum of the two": "两者之和",
    "target": "目标",
    "term": "项",
    "the chapter's f - g^2 s / 2 against u_t": "正文的 f - g^2 s / 2 与 u_t 对比",
    "their mean": "其均值",
    "this run": "本次运行",
    "three points to two": "三个点到两个点",
    "tight": "严格",
    "time in gap": "处在缝隙中的时间",
    "tol": "容差",
    "trained against exact field": "训练结果与精确向量场对比",
    "training digits": "训练数字",
    "training step": "训练步",
    "trajectories of the marginal field u_t": "边缘向量场 u_t 的轨迹",
    "trajectories, t = 0 to 1 (dots: x_0)": "轨迹，t 从 0 到 1（圆点：x_0）",
    "truncation": "截断误差",
    "u -> score, float32 error": "u -> 分数，float32 误差",
    "value": "值",
    "variance (Gaussian)": "方差（高斯）",
    "w = 1: Fréchet distance / noise floor": "w = 1：Fréchet 距离 / 噪声下限",
    "w = 1: class accuracy of samples (median of 5 seeds)": "w = 1：样本的类别准确率（5 个种子的中位数）",
    "x (on the line y = 0)": "x（在直线 y = 0 上）",
    "x floor": "× 下限",
    "x perfect": "× 完美采样",
    "x_1 = exp(A) x_0: a rotated, stretched Gaussian": "x_1 = exp(A) x_0：一个旋转、拉伸后的高斯",
    "(untrained: the noise itself)": "（未训练：即噪声本身）",
    "Fréchet distance": "Fréchet 距离",
    "Hutchinson, 1 probe": "Hutchinson，1 个探针",
    "L_CFM (what training sees)": "L_CFM（训练所见）",
    "L_FM (distance to the exact u_t)": "L_FM（到精确 u_t 的距离）",
    "W2^2 (closed form)": "W2^2（闭式解）",
    "a perfect i.i.d. sampler, n = 2000": "完美的独立同分布采样器，n = 2000",
    "class accuracy (dotted: ceiling)": "类别准确率（虚线：上限）",
    "class accuracy (judge)": "类别准确率（判别器）",
    "class accuracy of samples": "样本的类别准确率",
    "diversity (dotted: real digits)": "多样性（虚线：真实数字）",
    "exact (all 2000)": "精确（全部 2000 个）",
    "held-out real digits": "留出的真实数字",
    "max error < 1e-9 at 5 times, VP and linear": "5 个时刻上最大误差 < 1e-9，VP 与线性",
    "median distance to nearest training digit": "到最近训练数字的距离中位数",
    "noise floor, n = 2000": "噪声下限，n = 2000",
    "noise floor, n = 500": "噪声下限，n = 500",
    "noise floor: real vs held-out": "噪声下限：真实数据对留出集",
    "quantity": "量",
    "spread (dotted: the data's)": "分散程度（虚线：数据的）",
    "the judge on real held-out digits": "判别器在真实留出数字上",
}


def term(text: object) -> str:
    """A name written in a notebook's code, in the chosen language: ``TERMS`` (or ``ZH``) has
    its Chinese, else it is shown as written. Never formatted (braces stay as they are)."""
    text = str(text)
    if _LANG != "zh":
        return text
    return TERMS.get(text, ZH.get(text, text))
