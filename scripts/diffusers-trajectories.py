#!/usr/bin/env python3
"""Teacher trajectory shards from a diffusers UNet2DModel, made where your GPU is (PyTorch + diffusers).

Writes the same shards as `npm run trajectories -- --model DIR` (docs/shard-format.md): for each seed the
teacher runs N*M DDIM steps (eta 0) on the trailing grid of N*M steps, with diffusers' DDIMScheduler built from
the folder's scheduler_config.json giving the noise schedule, the prediction type and the clipping; the points at
the N coarse boundaries, the final sample and the point one fine step after each coarse start are kept. The
initial noise of seed s is the studio's own (mulberry32 + Box-Muller, src/core/random.ts), so the studio and
this script write the same trajectories for the same seeds, to float rounding. The files are written by
scripts/shard_writer.py (standard library only; the writer printed in docs/shard-format.md).

    python3 scripts/diffusers-trajectories.py --model DIR --out shards/ --count 1000 --per-shard 256 \
        --coarse 4 --fine 8 [--guidance 1] [--seed 0] [--batch 16] [--device cuda]

DIR is a UNet folder (config.json, diffusion_pytorch_model.safetensors, scheduler_config.json here or in a sibling
scheduler/) or a saved pipeline's root (unet/ and scheduler/ inside), as the studio reads it. Then check the shards
against the model in the studio's own validator: `npm run shards:check -- --model DIR shards/*.safetensors`.

Details that must agree with the studio (src/core/diffusion/):
- Each step goes to the NEXT timestep of the grid (the DDIM paper's sub-sequence); diffusers' DDIMScheduler.step
  goes to t - T // n instead, which leaves the grid when n does not divide T, so the step is written out here from
  the scheduler's alphas_cumprod and final_alpha_cumprod. Where both rules give the same timestep the script checks
  its step against DDIMScheduler.step (use_clipped_model_output=True) and stops if they differ.
- With clip_sample the predicted x0 is clamped to [-1, 1] and eps re-derived from it, and the final samples are
  clamped too. Guidance w != 1 needs class labels: the unconditional branch uses a zero class embedding (the
  studio's null class), unconditional models take w = 1 only.
- Seeds are seed * 1,000,000 + index, labels index % num_class_embeds (0 for unconditional models).
Without the `safetensors` package (it is only imported by diffusers, never used here) pass --stub-safetensors.
"""
import argparse
import hashlib
import json
import math
import os
import struct
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SEED_STRIDE = 1_000_000


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--model', required=True, help='diffusers UNet2DModel folder or saved pipeline root')
    p.add_argument('--out', required=True, help='output folder for shard-NNNN.safetensors')
    p.add_argument('--count', type=int, default=1000, help='K, trajectories in all')
    p.add_argument('--per-shard', type=int, default=256, help='trajectories per shard file')
    p.add_argument('--coarse', type=int, default=4, help='N, coarse slots (the student steps)')
    p.add_argument('--fine', type=int, default=8, help='M, teacher DDIM steps per slot (>= 2)')
    p.add_argument('--guidance', type=float, default=1.0, help='classifier-free guidance scale w')
    p.add_argument('--seed', type=int, default=0, help='seed block: seeds are seed * 1e6 + index')
    p.add_argument('--batch', type=int, default=16, help='trajectories per network batch')
    p.add_argument('--device', default='cpu', help='torch device (cpu, cuda, ...)')
    p.add_argument('--diffusers-src', help='a diffusers source tree to put first on sys.path')
    p.add_argument('--hub-src', help='a huggingface_hub source tree to put first on sys.path')
    p.add_argument('--stub-safetensors', action='store_true', help='stand in for a missing safetensors package')
    return p.parse_args()


def setup_imports(args):
    if args.stub_safetensors:
        stub = tempfile.mkdtemp(prefix='safetensors-stub-')
        os.makedirs(os.path.join(stub, 'safetensors'))
        with open(os.path.join(stub, 'safetensors', '__init__.py'), 'w') as f:
            f.write('class SafetensorError(Exception):\n    pass\n\n\ndef safe_open(*a, **k):\n    raise SafetensorError("stub")\n')
        with open(os.path.join(stub, 'safetensors', 'torch.py'), 'w') as f:
            f.write('def load_file(*a, **k):\n    raise NotImplementedError\n\n\ndef save_file(*a, **k):\n    raise NotImplementedError\n')
        sys.path.insert(0, stub)
    for src in (args.hub_src, args.diffusers_src):
        if src:
            sys.path.insert(0, src)
    sys.path.insert(0, HERE)


def find_files(model_dir):
    """(config, scheduler, weights) paths and the model's name, resolved as src/node/diffusers-folder.ts does."""
    root = os.path.abspath(model_dir)
    unet_dir = os.path.join(root, 'unet') if os.path.exists(os.path.join(root, 'unet', 'config.json')) else root
    candidates = [os.path.join(unet_dir, 'scheduler_config.json'),
                  os.path.join(os.path.dirname(unet_dir), 'scheduler', 'scheduler_config.json')]
    scheduler = next((c for c in candidates if os.path.exists(c)), candidates[0])
    paths = (os.path.join(unet_dir, 'config.json'), scheduler,
             os.path.join(unet_dir, 'diffusion_pytorch_model.safetensors'))
    for path in paths:
        if not os.path.exists(path):
            sys.exit(f'{path}: not found (a diffusers UNet2DModel folder needs config.json, '
                     'diffusion_pytorch_model.safetensors and scheduler_config.json)')
    name = os.path.basename(root if unet_dir == root else os.path.dirname(unet_dir))
    return paths, name


def teacher_identity(paths, name):
    """The shard's `teacher`: SHA-256 of config.json, 0x00, scheduler_config.json, 0x00, the weights file."""
    h = hashlib.sha256()
    for i, path in enumerate(paths):
        with open(path, 'rb') as f:
            h.update(f.read())
        if i < 2:
            h.update(b'\0')
    return {'name': name, 'sha256': h.hexdigest()}


def read_weights(path):
    """name -> float32 numpy array (F32, F16 and BF16 weights)."""
    with open(path, 'rb') as f:
        (n,) = struct.unpack('<Q', f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, e in header.items():
        if name == '__metadata__':
            continue
        raw = data[e['data_offsets'][0]:e['data_offsets'][1]]
        if e['dtype'] == 'F32':
            a = np.frombuffer(raw, dtype='<f4')
        elif e['dtype'] == 'F16':
            a = np.frombuffer(raw, dtype='<f2').astype(np.float32)
        elif e['dtype'] == 'BF16':
            a = (np.frombuffer(raw, dtype='<u2').astype(np.uint32) << 16).view(np.float32)
        else:
            sys.exit(f'{path}: tensor {name} is {e["dtype"]}; the studio reads F32, F16 and BF16 weights')
        out[name] = a.reshape(e['shape'])
    return out


def trailing(train_steps, n):
    """diffusers' trailing spacing: round(arange(T, 0, -T/n)) - 1, its first n values (timesteps.ts)."""
    return [int(v) - 1 for v in np.round(np.arange(train_steps, 0, -train_steps / n))[:n]]


def studio_noise(seed, count):
    """The studio's gaussian(seed, n) (src/core/random.ts): mulberry32 uniforms, Box-Muller in float64."""
    a = seed & 0xFFFFFFFF

    def uniform():
        nonlocal a
        a = (a + 0x6D2B79F5) & 0xFFFFFFFF
        t = a

        def imul(x, y):
            return (x * y) & 0xFFFFFFFF

        t = imul(t ^ (t >> 15), t | 1)
        t ^= (t + imul(t ^ (t >> 7), t | 61)) & 0xFFFFFFFF
        return ((t ^ (t >> 14)) & 0xFFFFFFFF) / 4294967296

    out = np.empty(count, dtype=np.float64)
    for i in range(0, count, 2):
        r = math.sqrt(-2 * math.log(1 - uniform()))
        phi = 2 * math.pi * uniform()
        out[i] = r * math.cos(phi)
        if i + 1 < count:
            out[i + 1] = r * math.sin(phi)
    return out.astype(np.float32)


def main():
    args = parse_args()
    setup_imports(args)
    import torch
    from diffusers import DDIMScheduler
    from diffusers.models.unet_2d import UNet2DModel
    from shard_writer import write_shard

    (config_path, scheduler_path, weights_path), name = find_files(args.model)
    if args.fine < 2:
        sys.exit(f'--fine {args.fine}: M must be >= 2, so that one fine step out of a slot stays inside it')
    device = torch.device(args.device)
    model = UNet2DModel.from_config(UNet2DModel.load_config(os.path.dirname(config_path))).eval()
    state = {k: torch.from_numpy(v.copy()) for k, v in read_weights(weights_path).items()}
    model._convert_deprecated_attention_blocks(state)
    model.load_state_dict(state, strict=True)
    model.to(device)
    with open(scheduler_path) as f:
        scheduler = DDIMScheduler.from_config(json.load(f))
    cfg = scheduler.config
    if cfg.thresholding:
        sys.exit('scheduler_config.json: thresholding is true; dynamic thresholding is not supported')
    if cfg.clip_sample and cfg.clip_sample_range != 1.0:
        sys.exit(f'scheduler_config.json: clip_sample_range {cfg.clip_sample_range}; clipping is supported to [-1, 1] only')
    classes = model.config.num_class_embeds or 0
    if classes == 0 and args.guidance != 1:
        sys.exit(f'--guidance {args.guidance} for an unconditional model: classifier-free guidance needs class '
                 'labels; use --guidance 1')
    if classes and args.guidance != 1:
        # The null class (label == classes) is a zero class embedding, as in the studio.
        table = model.class_embedding

        class WithNull(torch.nn.Module):
            def forward(self, labels):
                emb = table(labels.clamp(max=classes - 1))
                return emb * (labels < classes).unsqueeze(1).to(emb.dtype)

        model.class_embedding = WithNull()

    T = cfg.num_train_timesteps
    n_slots, m = args.coarse, args.fine
    fine = trailing(T, n_slots * m)
    coarse = trailing(T, n_slots)
    if any(fine[k * m] != t for k, t in enumerate(coarse)):
        sys.exit(f'the {n_slots * m}-step fine grid misses coarse boundaries {coarse}; choose N and M so that '
                 f'{T} / (N*M) rounds consistently (e.g. N=4, M=8)')
    delta_ts = [fine[k * m + 1] for k in range(n_slots)]
    alphas = scheduler.alphas_cumprod.double()
    final_alpha = float(scheduler.final_alpha_cumprod)
    a = lambda t: final_alpha if t < 0 else float(alphas[t])  # noqa: E731
    c, h, w = model.config.in_channels, *((model.config.sample_size,) * 2 if isinstance(
        model.config.sample_size, int) else model.config.sample_size)
    meta = {
        'teacher': teacher_identity((config_path, scheduler_path, weights_path), name),
        'schedule': {'kind': cfg.beta_schedule, 'betaStart': cfg.beta_start, 'betaEnd': cfg.beta_end,
                     'trainSteps': T},
        'coarseTimesteps': coarse, 'fineStepsPerSlot': m, 'delta': fine[0] - fine[1], 'deltaTimesteps': delta_ts,
        'guidanceScale': args.guidance, 'prediction': cfg.prediction_type,
        'data': {'channels': c, 'height': h, 'width': w, 'range': [-1, 1]},
        'numClasses': classes,
    }
    checked_against_diffusers = False

    def output(z, t, labels):
        tt = torch.full((z.shape[0],), t, dtype=torch.long, device=device)
        if args.guidance == 1:
            return model(z, tt, class_labels=labels if classes else None).sample
        both = model(torch.cat([z, z]), torch.cat([tt, tt]),
                     class_labels=torch.cat([labels, torch.full_like(labels, classes)])).sample
        cond, uncond = both.chunk(2)
        return uncond + args.guidance * (cond - uncond)

    def step(out, z, t, s):
        """One DDIM step z_t -> z_s (ddim.ts): x0 and eps from the output, x0 clipped, eps re-derived."""
        at, as_ = a(t), a(s)
        if cfg.prediction_type == 'epsilon':
            eps, x0 = out, (z - math.sqrt(1 - at) * out) / math.sqrt(at)
        elif cfg.prediction_type == 'sample':
            x0, eps = out, (z - math.sqrt(at) * out) / math.sqrt(1 - at)
        elif cfg.prediction_type == 'v_prediction':
            x0, eps = math.sqrt(at) * z - math.sqrt(1 - at) * out, math.sqrt(at) * out + math.sqrt(1 - at) * z
        else:
            sys.exit(f'scheduler_config.json: prediction_type {cfg.prediction_type} is not supported')
        if cfg.clip_sample:
            x0 = x0.clamp(-1, 1)
            eps = (z - math.sqrt(at) * x0) / math.sqrt(1 - at)
        return math.sqrt(as_) * x0 + math.sqrt(1 - as_) * eps

    settings = (f'--count {args.count} --per-shard {args.per_shard} --coarse {n_slots} --fine {m} '
                f'--guidance {args.guidance:g} --seed {args.seed}')
    os.makedirs(args.out, exist_ok=True)
    shards = -(-args.count // args.per_shard)
    for i in range(shards):
        first = i * args.per_shard
        count = min(args.per_shard, args.count - first)
        seeds = [args.seed * SEED_STRIDE + first + j for j in range(count)]
        labels = [(first + j) % max(1, classes) for j in range(count)]
        positions = np.empty((count, n_slots + 1, c, h, w), dtype=np.float32)
        deltas = np.empty((count, n_slots, c, h, w), dtype=np.float32)
        for b in range(0, count, args.batch):
            batch = range(b, min(b + args.batch, count))
            # the studio draws NHWC noise per seed; the shard and the network are NCHW
            noise = np.stack([studio_noise(seeds[j], h * w * c).reshape(h, w, c).transpose(2, 0, 1) for j in batch])
            z = torch.from_numpy(noise).to(device)
            lab = torch.tensor([labels[j] for j in batch], dtype=torch.long, device=device)
            kept = {}
            with torch.no_grad():
                for k, t in enumerate(fine):
                    s = fine[k + 1] if k + 1 < len(fine) else -1
                    kept[t] = z
                    out = output(z, t, lab)
                    nxt = step(out, z, t, s)
                    nonlocal_check = not checked_against_diffusers and s == t - T // len(fine)
                    if nonlocal_check:
                        scheduler.set_timesteps(len(fine))
                        ref = scheduler.step(out, t, z, eta=0.0, use_clipped_model_output=True).prev_sample
                        err = float((ref - nxt).abs().max() / ref.abs().max())
                        if err > 1e-5:
                            sys.exit(f'step {t} -> {s} differs from DDIMScheduler.step by {err:.2e} (relative)')
                        checked_against_diffusers = True
                    z = nxt
                if cfg.clip_sample:
                    z = z.clamp(-1, 1)
            rows = np.stack([kept[t].cpu().numpy() for t in coarse] + [z.cpu().numpy()], axis=1)
            positions[batch.start:batch.stop] = rows
            deltas[batch.start:batch.stop] = np.stack([kept[t].cpu().numpy() for t in delta_ts], axis=1)
        if not np.isfinite(positions).all() or not np.isfinite(deltas).all():
            sys.exit(f'shard {i}: the teacher produced NaN or Inf; check the model and its scheduler config')
        # the settings that made it, not the command line: its paths are this machine's
        meta_i = dict(meta, provenance={'writer': 'scripts/diffusers-trajectories.py', 'model': name,
                                        'settings': settings, 'seeds': f'{seeds[0]}..{seeds[-1]}'})
        path = os.path.join(args.out, f'shard-{i:05d}.safetensors')
        write_shard(path, meta_i, positions.ravel().tolist(), labels, seeds=seeds,
                    delta_positions=deltas.ravel().tolist())
        print(f'wrote {path}: {count} trajectories', file=sys.stderr)
    if not checked_against_diffusers:
        print('note: no step of this grid lands where DDIMScheduler.step does, so none was compared', file=sys.stderr)


if __name__ == '__main__':
    main()
