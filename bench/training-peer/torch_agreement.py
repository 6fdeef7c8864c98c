#!/usr/bin/python3
"""Holds FixedShapeAttention's training step to PyTorch on the same model, parameters and batches.

Reads what `dotnet run -c Release --project bench/FixedShapeAttention.Benchmarks -- training-peer DIR` wrote, builds the
same transformer in PyTorch (float32), and prints: the relative L2 difference of every parameter's gradient after one
forward/backward, the losses of ten AdamW steps side by side, and PyTorch's step time on one thread: the median of those
ten steps and, the figure to compare, the median of twenty more once both engines are warm (the export times ours so).

Peer: Debian's python3-torch 1.13.1 with OpenBLAS (apt-get install python3-torch libopenblas0-pthread); run it with
OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset for the command, e.g.
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/training-peer/torch_agreement.py DIR
(/usr/bin/python3: Debian's interpreter, which sees the apt packages; a pyenv python3 first on PATH does not)
"""
import json
import math
import os
import struct
import sys
import time

# One thread for the step time, like ours: torch.set_num_threads(1) bounds ATen's threads, but OpenBLAS keeps its own
# pool (measured: 206 ms per step with it, 311 ms on one thread).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402  (after the thread settings, which OpenBLAS reads when it loads)
import torch  # noqa: E402


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    metadata = header.pop("__metadata__", {})
    base = 8 + n
    tensors = {}
    for name, info in header.items():
        assert info["dtype"] == "F32", info
        begin, end = info["data_offsets"]
        tensors[name] = np.frombuffer(data[base + begin:base + end], dtype="<f4").reshape(info["shape"]).copy()
    return tensors, metadata


class Gpt(torch.nn.Module):
    """The model TransformerLanguageModel computes: pre-norm, causal, tied head, tanh GELU, learned positions."""

    def __init__(self, tensors, meta):
        super().__init__()
        self.layers = int(meta["model.layers"])
        self.heads = int(meta["model.heads"])
        self.eps = float(meta["model.layer_norm_epsilon"])
        assert meta["model.pre_norm"] == "true" and meta["model.causal"] == "true" and meta["model.tied_embeddings"] == "true"
        assert meta["model.activation"] == "GeluTanh"
        self.p = torch.nn.ParameterDict({k.replace(".", "__"): torch.nn.Parameter(torch.from_numpy(v)) for k, v in tensors.items()})

    def w(self, name):
        return self.p[name.replace(".", "__")]

    def forward(self, tokens, targets):
        b, t = tokens.shape
        x = self.w("embed.tokens")[tokens] + self.w("embed.positions")[:t]
        d = x.shape[-1]
        dh = d // self.heads
        mask = torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1)
        for l in range(self.layers):
            p = f"layers.{l}."
            n1 = torch.nn.functional.layer_norm(x, (d,), self.w(p + "ln1.gamma"), self.w(p + "ln1.beta"), self.eps)
            q = (n1 @ self.w(p + "attn.wq") + self.w(p + "attn.bq")).view(b, t, self.heads, dh).transpose(1, 2)
            k = (n1 @ self.w(p + "attn.wk") + self.w(p + "attn.bk")).view(b, t, self.heads, dh).transpose(1, 2)
            v = (n1 @ self.w(p + "attn.wv") + self.w(p + "attn.bv")).view(b, t, self.heads, dh).transpose(1, 2)
            s = (q @ k.transpose(-1, -2)) / math.sqrt(dh)
            s = s.masked_fill(mask, float("-inf"))
            o = (torch.softmax(s, dim=-1) @ v).transpose(1, 2).reshape(b, t, d)
            x = x + o @ self.w(p + "attn.wo") + self.w(p + "attn.bo")
            n2 = torch.nn.functional.layer_norm(x, (d,), self.w(p + "ln2.gamma"), self.w(p + "ln2.beta"), self.eps)
            h = torch.nn.functional.gelu(n2 @ self.w(p + "ffn.w1") + self.w(p + "ffn.b1"), approximate="tanh")
            x = x + h @ self.w(p + "ffn.w2") + self.w(p + "ffn.b2")
        y = torch.nn.functional.layer_norm(x, (d,), self.w("final_ln.gamma"), self.w("final_ln.beta"), self.eps)
        logits = y @ self.w("embed.tokens").t()
        return torch.nn.functional.cross_entropy(logits.reshape(b * t, -1), targets.reshape(-1))


def main(directory):
    torch.set_num_threads(1)
    init, meta = read_safetensors(f"{directory}/init.safetensors")
    batches, _ = read_safetensors(f"{directory}/batches.safetensors")
    ours_grads, _ = read_safetensors(f"{directory}/grads.safetensors")
    ours_losses = [float(line) for line in open(f"{directory}/losses.txt")]
    steps = len(ours_losses)
    tokens = [torch.from_numpy(batches[f"tokens.{s}"].astype(np.int64)) for s in range(steps)]
    targets = [torch.from_numpy(batches[f"targets.{s}"].astype(np.int64)) for s in range(steps)]

    model = Gpt(init, meta)
    loss = model(tokens[0], targets[0])
    loss.backward()
    # A tensor whose exact gradient is 0 (the key bias: softmax ignores a shift shared by a whole score row) holds
    # only rounding noise in both engines; it is listed with its norm against the whole gradient's, not compared.
    total = math.sqrt(sum(float(model.w(n).grad.double().norm()) ** 2 for n in init))
    worst = 0.0
    print("parameter                      relative L2 of the gradient difference")
    for name in init:
        theirs = model.w(name).grad.double()
        ours = torch.from_numpy(ours_grads[name]).double()
        if float(theirs.norm()) < 1e-5 * total:
            print(f"{name:30s} exact gradient 0: |torch| {float(theirs.norm()) / total:.1e}, |ours| {float(ours.norm()) / total:.1e} of the whole gradient's norm")
            continue
        rel = float((ours - theirs).norm() / theirs.norm())
        worst = max(worst, rel)
        print(f"{name:30s} {rel:.3e}")
    print(f"worst relative L2 difference: {worst:.3e}")

    model = Gpt(init, meta)
    decay = [p for n, p in model.p.items() if n.endswith(("__wq", "__wk", "__wv", "__wo", "__w1", "__w2", "__tokens", "__positions"))]
    other = [p for n, p in model.p.items() if not n.endswith(("__wq", "__wk", "__wv", "__wo", "__w1", "__w2", "__tokens", "__positions"))]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": other, "weight_decay": 0.0}], lr=1e-3, betas=(0.9, 0.95), eps=1e-8)
    peak, minimum, warmup = 1e-3, 1e-4, 2
    print("step  ours        torch       |difference|")
    worst_loss = 0.0
    times = []
    for s in range(steps):
        lr = peak * (s + 1) / warmup if s < warmup else minimum + 0.5 * (1 + math.cos(math.pi * (s - warmup) / (steps - warmup))) * (peak - minimum)
        for group in optimizer.param_groups:
            group["lr"] = lr
        start = time.perf_counter()
        optimizer.zero_grad()
        loss = model(tokens[s], targets[s])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        times.append(time.perf_counter() - start)
        worst_loss = max(worst_loss, abs(ours_losses[s] - float(loss)))
        print(f"{s:4d}  {ours_losses[s]:.6f}  {float(loss):.6f}  {abs(ours_losses[s] - float(loss)):.2e}")
    print(f"worst loss difference over {steps} steps: {worst_loss:.2e}")
    # Then the same number of further steps as ours (the batches again, in order, at the schedule's last rate), timed the
    # same way: the step time of a warm engine, which the comparison uses. The agreement steps' median is printed too.
    warm_steps = 20
    warm = []
    for s in range(warm_steps):
        start = time.perf_counter()
        optimizer.zero_grad()
        loss = model(tokens[s % steps], targets[s % steps])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        warm.append(time.perf_counter() - start)
    print(f"torch {torch.__version__}, 1 thread: {1000 * sorted(times)[len(times) // 2]:.1f} ms per step (median of the {steps}); "
          f"warm: {1000 * sorted(warm)[len(warm) // 2]:.1f} ms per step (median of {warm_steps} more)")


if __name__ == "__main__":
    main(sys.argv[1])
