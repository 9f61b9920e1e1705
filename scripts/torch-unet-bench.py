#!/usr/bin/python3
"""PyTorch peer of `npm run bench`'s and `npm run bench:host`'s UNet rows: the same MNIST UNet
(src/core/nn/unet.ts, MNIST_UNET, 475,489 parameters) ported op for op, timed forward and
forward+backward, on one CPU thread or on CUDA (eager, and with --cuda-graphs also captured once
and replayed with torch.cuda.graph, the replay our webgpu step graph imitates). Optional: CI does
not run it. Needs PyTorch (Debian: `apt-get install python3-torch`, then run with /usr/bin/python3,
which sees Debian's packages); scripts/gpu-run.sh runs it on a GPU machine where torch exists.

    /usr/bin/python3 scripts/torch-unet-bench.py [--batches 1,8,32] [--runs 5] [--adam]
        [--device cpu|cuda] [--cuda-graphs]

Prints one markdown row per batch: median wall ms and median CPU ms of the process (the CPU
time is what to compare on a shared machine), forward and forward+backward. The loss is
mean(output^2), the same as src/node/bench-unet.ts; with --adam the forward+backward row
includes an Adam step.
"""
import argparse
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

BASE, MULTS, GROUPS, CLASSES, SIZE = 16, (1, 2, 4), 8, 10, 28
ATTN_LEVELS = (2,)
EMB = 4 * BASE
SINUSOID = max(32, BASE)


def group_norm(c):
    return nn.GroupNorm(min(GROUPS, c), c, eps=1e-5)


class ResBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.norm1, self.conv1 = group_norm(cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.temb = nn.Linear(EMB, cout)
        self.norm2, self.conv2 = group_norm(cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, emb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.temb(F.silu(emb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (x if self.skip is None else self.skip(x)) + h


class Attention(nn.Module):
    """Single-head self-attention over the H*W positions, residual (as unet.ts)."""

    def __init__(self, c):
        super().__init__()
        self.norm, self.qkv, self.proj = group_norm(c), nn.Linear(c, 3 * c), nn.Linear(c, c)

    def forward(self, x):
        b, c, hh, ww = x.shape
        h = self.norm(x).flatten(2).transpose(1, 2)  # [B, HW, C]
        q, k, v = self.qkv(h).chunk(3, dim=2)
        w = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(c), dim=2)
        out = self.proj(w @ v)
        return x + out.transpose(1, 2).reshape(b, c, hh, ww)


class UNet(nn.Module):
    def __init__(self):
        super().__init__()
        chs = [m * BASE for m in MULTS]
        self.lin1, self.lin2 = nn.Linear(SINUSOID, EMB), nn.Linear(EMB, EMB)
        self.cls = nn.Parameter(torch.randn(CLASSES + 1, EMB))
        self.conv_in = nn.Conv2d(1, BASE, 3, padding=1)
        self.down = nn.ModuleList()
        ch = BASE
        for i, c in enumerate(chs):
            blocks = [ResBlock(ch, c)] + ([Attention(c)] if i in ATTN_LEVELS else [])
            self.down.append(nn.ModuleList(blocks))
            ch = c
        last = len(chs) - 1
        self.mid = nn.ModuleList(
            [ResBlock(ch, ch)] + ([Attention(ch)] if last in ATTN_LEVELS else []) + [ResBlock(ch, ch)]
        )
        self.up = nn.ModuleList()
        for i in range(last, -1, -1):
            blocks = [ResBlock(ch + chs[i], chs[i])] + ([Attention(chs[i])] if i in ATTN_LEVELS else [])
            self.up.append(nn.ModuleList(blocks))
            ch = chs[i]
        self.out_norm, self.out_conv = group_norm(BASE), nn.Conv2d(BASE, 1, 3, padding=1)

    @staticmethod
    def run(blocks, h, emb):
        for blk in blocks:
            h = blk(h, emb) if isinstance(blk, ResBlock) else blk(h)
        return h

    def forward(self, x, t, labels):
        half = SINUSOID // 2
        freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / half)
        args = t[:, None] * freqs[None]
        temb = self.lin2(F.silu(self.lin1(torch.cat([torch.cos(args), torch.sin(args)], 1))))
        emb = temb + F.one_hot(labels, CLASSES + 1).float() @ self.cls
        h = self.conv_in(x)
        skips = []
        for i, blocks in enumerate(self.down):
            h = self.run(blocks, h, emb)
            skips.append(h)
            if i < len(self.down) - 1:
                h = F.avg_pool2d(h, 2)
        h = self.run(self.mid, h, emb)
        for k, blocks in enumerate(self.up):
            level = len(self.up) - 1 - k
            h = self.run(blocks, torch.cat([h, skips[level]], 1), emb)
            if level > 0:
                h = F.interpolate(h, scale_factor=2, mode="nearest")
        return self.out_conv(F.silu(self.out_norm(h)))


def sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def median_ms(runs, once):
    for _ in range(2):
        once()
    sync()
    wall, cpu = [], []
    for _ in range(runs):
        w0, c0 = time.perf_counter(), time.process_time()
        once()
        sync()
        wall.append((time.perf_counter() - w0) * 1e3)
        cpu.append((time.process_time() - c0) * 1e3)
    return sorted(wall)[runs // 2], sorted(cpu)[runs // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", default="1,8,32")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--adam", action="store_true", help="include an Adam step in forward+backward")
    ap.add_argument("--device", default="cpu", help="cpu (one thread) or cuda")
    ap.add_argument("--cuda-graphs", action="store_true", help="also time both passes as CUDA graph replays")
    a = ap.parse_args()
    dev = torch.device(a.device)
    if dev.type == "cpu":
        torch.set_num_threads(1)
    torch.manual_seed(0)
    model = UNet().to(dev)
    n = sum(p.numel() for p in model.parameters())
    where = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"{torch.get_num_threads()} CPU thread"
    print(f"# torch {torch.__version__} on {where}, UNet {n:,} parameters")
    opt = torch.optim.Adam(model.parameters(), lr=1e-4, capturable=a.cuda_graphs) if a.adam else None
    graphs = a.cuda_graphs and dev.type == "cuda"
    extra = " graph fwd ms | graph fwd+bwd ms |" if graphs else ""
    print(f"| batch | fwd ms | fwd cpu ms | fwd+bwd ms | fwd+bwd cpu ms |{extra}")
    print("|---:|---:|---:|---:|---:|" + ("---:|---:|" if graphs else ""))
    for b in [int(s) for s in a.batches.split(",")]:
        g = torch.Generator().manual_seed(b)
        x = torch.randn(b, 1, SIZE, SIZE, generator=g).to(dev)
        t = (torch.rand(b, generator=g) * 1000).to(dev)
        labels = torch.randint(0, CLASSES, (b,), generator=g).to(dev)

        def fwd():
            with torch.no_grad():
                model(x, t, labels)

        def fwd_bwd(zero=True):
            if zero:
                model.zero_grad(set_to_none=True)
            torch.mean(model(x, t, labels) ** 2).backward()
            if opt:
                opt.step()

        f, fc = median_ms(a.runs, fwd)
        fb, fbc = median_ms(a.runs, fwd_bwd)
        row = f"| {b} | {f:.2f} | {fc:.2f} | {fb:.2f} | {fbc:.2f} |"
        if graphs:
            gf, gfb = graph_times(a.runs, fwd, fwd_bwd, model)
            row += f" {gf:.2f} | {gfb:.2f} |"
        print(row)


def graph_times(runs, fwd, fwd_bwd, model):
    """Both passes captured once with torch.cuda.graph (static inputs) and timed as replays
    (the recipe of PyTorch's CUDA graphs notes: warm up on a side stream, grads set to None
    before the capture and not inside it)."""
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(3):
            fwd()
            fwd_bwd()
    torch.cuda.current_stream().wait_stream(stream)
    gf = torch.cuda.CUDAGraph()
    with torch.cuda.graph(gf):
        fwd()
    model.zero_grad(set_to_none=True)
    gfb = torch.cuda.CUDAGraph()
    with torch.cuda.graph(gfb):
        fwd_bwd(zero=False)
    return median_ms(runs, gf.replay)[0], median_ms(runs, gfb.replay)[0]


if __name__ == "__main__":
    main()
