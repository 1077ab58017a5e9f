"""GPT training-step benchmark: nanoGPT's CPU Shakespeare configuration.

Run:  python benchmarks/bench_gpt.py [--rounds N]

GPT(65, 64, 4, 4, 128): vocabulary 65, context 64, 4 pre-norm blocks of 4 heads, width 128, no
dropout (0.82M parameters); batch 12 of 64 random tokens (fixed seed). One step is the step of
``LanguageTask.make_step`` (what ``zerograd train --dataset shakespeare`` runs): forward, softmax
cross entropy over (B*T, V), cleargrads, backward, AdamW (lr 1e-3, betas (0.9, 0.99), weight decay
0.1) with gradients clipped to global norm 1.0 (the ClipGrad hook). Learning-rate schedule aside.

Contenders: zerograd eager, the same step under ``zerograd.compile`` (traced on two different
batches, then checked to replay), and PyTorch eager when installed: the same architecture in
torch.nn (token + learned position embeddings, pre-norm blocks whose causal attention is
``torch.nn.functional.scaled_dot_product_attention(is_causal=True)``, tanh-GELU MLP 4x as zerograd's
gelu, final LayerNorm, linear head with bias), torch.optim.AdamW with the same settings (its default
CPU implementation) and ``clip_grad_norm_(1.0)``, one thread.

The share spent in matmul: a few eager zerograd steps run under cProfile. NumPy's ``@`` is an
operator, not a call cProfile sees, so its time counts as the *self time* (tottime) of the Python
function that evaluates it: MatMul.forward/backward and Linear.forward/backward in
functions/linalg.py, whose only heavy work is their ``@`` expressions (their helpers, _check_matmul,
_mT, _sum_to, add_into and Function.input, are calls of their own and are not counted). The share
printed is those self times over the profiled steps' whole time (one window, so that a busy machine
scales both alike; cProfile adds a few percent to the step here: ~10k Python calls a step). The
compiled step replays the same products: its share is the same milliseconds over its median.
"""
from __future__ import annotations

import argparse
import cProfile
import pstats

import harness

import numpy as np

import zerograd
import zerograd.functions as F
from zerograd import optimizers
from zerograd.models.gpt import GPT

from bench_cnn_rnn import time_traces

V, T, LAYERS, HEADS, C, BATCH = 65, 64, 4, 4, 128, 12


def zerograd_step():
    """A fresh seeded GPT with its AdamW, and LanguageTask's training step for them."""
    np.random.seed(0)
    model = GPT(V, T, LAYERS, HEADS, C)
    opt = optimizers.AdamW(lr=1e-3, beta1=0.9, beta2=0.99, weight_decay=0.1).setup(model)
    opt.add_hook(optimizers.ClipGrad(1.0))

    def step(x, t):
        loss = F.softmax_cross_entropy(F.reshape(model(x), (-1, V)), t.reshape(-1))
        model.cleargrads()
        loss.backward()
        opt.update()
        return loss
    return model, step


def torch_step(torch, x, t):
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(C), nn.LayerNorm(C)
            self.c_attn, self.c_proj = nn.Linear(C, 3 * C), nn.Linear(C, C)
            self.mlp = nn.Sequential(nn.Linear(C, 4 * C), nn.GELU(approximate="tanh"), nn.Linear(4 * C, C))

        def forward(self, x):
            B, T_, _ = x.shape
            q, k, v = (p.view(B, T_, HEADS, C // HEADS).transpose(1, 2) for p in self.c_attn(self.ln1(x)).split(C, 2))
            y = nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.c_proj(y.transpose(1, 2).reshape(B, T_, C))
            return x + self.mlp(self.ln2(x))

    class TorchGPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte, self.wpe = nn.Embedding(V, C), nn.Embedding(T, C)
            self.blocks = nn.Sequential(*[Block() for _ in range(LAYERS)])
            self.ln_f, self.lm_head = nn.LayerNorm(C), nn.Linear(C, V)

        def forward(self, idx):
            h = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
            return self.lm_head(self.ln_f(self.blocks(h)))

    torch.manual_seed(0)
    model = TorchGPT()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.99), weight_decay=0.1)
    tx, tt = torch.from_numpy(x), torch.from_numpy(t)

    def step():
        loss = nn.functional.cross_entropy(model(tx).view(-1, V), tt.view(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    return model, step


def matmul_seconds(step, x, t, steps=5):
    """(matmul seconds, whole seconds) per profiled eager step: linalg.py's MatMul/Linear forward and
    backward self time, and the profile's total."""
    prof = cProfile.Profile()
    prof.runcall(lambda: [step(x, t) for _ in range(steps)])
    stats = pstats.Stats(prof)  # .stats: {(file, line, name): (calls, primitive calls, tottime, cumtime, callers)}
    mm = sum(s[2] for (file, _, name), s in stats.stats.items()
             if file.replace("\\", "/").endswith("zerograd/functions/linalg.py") and name in ("forward", "backward"))
    return mm / steps, stats.total_tt / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--system-malloc", action="store_true",
                        help="leave the C allocator as it is (by default the benchmark keeps freed memory, as "
                             "zerograd train does: zerograd.backend.keep_freed_memory)")
    args = parser.parse_args()
    kept = False if args.system_malloc else zerograd.backend.keep_freed_memory()
    torch = harness.load_torch()
    print(f"zerograd GPT benchmark: numpy {np.__version__}"
          + (", freed memory kept for reuse" if kept else ", the C allocator as it is")
          + (f", torch {torch.__version__}" if torch else ", torch not installed") + ", one BLAS thread")

    rng = np.random.default_rng(0)
    x, t, x2, t2 = (rng.integers(0, V, (BATCH, T)) for _ in range(4))
    model, eager = zerograd_step()
    _, compiled = zerograd_step()
    compiled = zerograd.compile(compiled)
    traced = time_traces(compiled, (x, t), (x2, t2))
    contenders = {"zerograd": lambda: eager(x, t), "zerograd.compile": lambda: compiled(x, t)}
    if torch:
        tmodel, contenders["pytorch"] = torch_step(torch, x, t)
        n_torch = sum(p.numel() for p in tmodel.parameters())
    eager(x, t)
    n_zg = sum(p.data.size for p in model.params())
    print(f"GPT({V}, {T}, {LAYERS}, {HEADS}, {C}): {n_zg / 1e6:.3f}M parameters"
          + (f" (pytorch's: {n_torch / 1e6:.3f}M)" if torch else "") + f"; batch {BATCH} x {T} tokens")

    times = harness.run_alternating(contenders, args.rounds, warmup=3)
    medians = harness.report("GPT training step (forward, softmax CE, backward, clip 1.0, AdamW)", times, "ms", 1e3,
                             "zerograd", target="zerograd <= 1.2x pytorch" if torch else None)
    print(f"  (compile: the two traces took {traced[0] * 1e3:.1f} and {traced[1] * 1e3:.1f} ms; "
          f"{compiled.replays} replays since)")
    if not torch:
        print("  (pytorch skipped: torch is not installed)")

    mm, whole = (s * 1e3 for s in matmul_seconds(eager, x, t))
    print(f"\nshare spent in matmul (NumPy @ in MatMul/Linear, cProfile self time over 5 eager steps): "
          f"{mm:.1f} of {whole:.1f} ms = {mm / whole:.0%} of the zerograd step"
          f" ({mm / medians['zerograd.compile']:.0%} of the compiled step's median)")

if __name__ == "__main__":
    main()
