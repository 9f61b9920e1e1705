#!/usr/bin/env python3
"""Golden fixtures made with the real diffusers, for the diffusers import (src/core/diffusers/).

Builds small random UNet2DModels of different configs with diffusers itself, and writes for each,
into e2e/fixtures/diffusers/<name>/:
  config.json                         diffusers' own save_config of the model
  diffusion_pytorch_model.safetensors the weights (F32, F16 or BF16, written here with numpy)
  scheduler_config.json               diffusers' own save_config of the scheduler
  inputs.safetensors                  `sample` [B, C, H, W] F32, `timestep` [B] I64, optional
                                      `class_labels` [B] I64 (the inputs file of npm run model:check)
  outputs.safetensors                 diffusers' output `sample` [B, C, H, W] F32 (as model:check
                                      writes it) and its sinusoidal `time_proj` [B, C0] (a debugging aid)
  ddim.safetensors                    `noise` [B, C, H, W], optional `class_labels`, `timesteps` [n] I64
                                      and `trajectory` [n + 1, B, C, H, W]: the noise, then each
                                      prev_sample of DDIMScheduler.from_config(scheduler_config).step
                                      (eta 0; use_clipped_model_output=True, as the studio's DDIM)
The reference outputs are computed from the weights as stored (rounded to F16 / BF16 first).
It also writes shapes.json: for configs of realistic size (no weights), diffusers' parameter count and every
state-dict tensor's name and shape, which the weight-name table must reproduce.

diffusers is not installable here from a registry, and is never needed by the tests or CI; to rerun:
  fetch github:huggingface/diffusers (tag v0.25.0) and github:huggingface/huggingface_hub (v0.19.4),
  git archive each tag's src/ into DIFFUSERS_SRC and HUB_SRC, install Debian's python3-torch,
  python3-packaging, -filelock, -regex, -importlib-metadata, -tqdm, -typing-extensions, -fsspec,
  -httpx, then
    /usr/bin/python3 scripts/diffusers-fixtures.py --diffusers-src DIFFUSERS_SRC --hub-src HUB_SRC
(../shared/docs/environment.md). The safetensors package is replaced by a stub this script writes:
diffusers imports it, but nothing here reads or writes a file through it.
"""
import argparse
import json
import os
import struct
import sys
import tempfile

import numpy as np

STUB_INIT = '''class SafetensorError(Exception):
    pass


def safe_open(*args, **kwargs):
    raise SafetensorError("stub safetensors: not available")
'''
STUB_TORCH = '''def load_file(*args, **kwargs):
    raise NotImplementedError("stub safetensors")


def save_file(*args, **kwargs):
    raise NotImplementedError("stub safetensors")
'''

# Three small models that between them cover: class-conditional and unconditional, 1 and 3 channels,
# 28 and 32 px, attention in a level and the mid block (multi-head and single-head, with and without
# the mid attention's group norm) and none at all, both time-scale-shift modes, both sinusoid
# conventions, both downsample paddings, mid_block_scale_factor, center_input_sample, F32/F16/BF16
# weights, the deprecated attention names (query/key/value/proj_attn), and four schedulers' settings.
MODELS = [
    {
        'name': 'cond-28-attn',
        'dtype': 'F32',
        'deprecated_attention_names': False,
        'unet': dict(
            sample_size=28,
            in_channels=1,
            out_channels=1,
            block_out_channels=(8, 16),
            layers_per_block=1,
            down_block_types=('DownBlock2D', 'AttnDownBlock2D'),
            up_block_types=('AttnUpBlock2D', 'UpBlock2D'),
            norm_num_groups=4,
            attention_head_dim=4,
            num_class_embeds=10,
            flip_sin_to_cos=True,
            freq_shift=0,
            norm_eps=1e-5,
        ),
        'scheduler': ('DDIMScheduler', dict(
            num_train_timesteps=1000,
            beta_schedule='linear',
            beta_start=0.0001,
            beta_end=0.02,
            clip_sample=True,
            set_alpha_to_one=False,
            prediction_type='epsilon',
            timestep_spacing='trailing',
        )),
        'ddim_steps': 10,
        'batch': 2,
        'timesteps': [999, 37],
        'labels': [3, 7],
    },
    {
        'name': 'uncond-32-rgb',
        'dtype': 'F16',
        'deprecated_attention_names': True,
        'unet': dict(
            sample_size=32,
            in_channels=3,
            out_channels=3,
            block_out_channels=(8, 16, 16),
            layers_per_block=2,
            down_block_types=('DownBlock2D', 'DownBlock2D', 'AttnDownBlock2D'),
            up_block_types=('AttnUpBlock2D', 'UpBlock2D', 'UpBlock2D'),
            norm_num_groups=4,
            attention_head_dim=None,
            resnet_time_scale_shift='scale_shift',
            flip_sin_to_cos=False,
            freq_shift=1,
            norm_eps=1e-6,
            downsample_padding=0,
            mid_block_scale_factor=1.414,
        ),
        # A DDPM training config: DDIMScheduler.from_config gives it set_alpha_to_one=True.
        'scheduler': ('DDPMScheduler', dict(
            num_train_timesteps=1000,
            beta_schedule='squaredcos_cap_v2',
            clip_sample=False,
            prediction_type='v_prediction',
            timestep_spacing='leading',
            steps_offset=1,
            variance_type='fixed_small',
        )),
        'ddim_steps': 8,
        'ddim_batch': 1,
        'batch': 2,
        'timesteps': [500, 1],
        'labels': None,
    },
    {
        'name': 'uncond-32-plain',
        'dtype': 'BF16',
        'deprecated_attention_names': False,
        'unet': dict(
            sample_size=32,
            in_channels=1,
            out_channels=1,
            block_out_channels=(8, 16),
            layers_per_block=1,
            down_block_types=('DownBlock2D', 'DownBlock2D'),
            up_block_types=('UpBlock2D', 'UpBlock2D'),
            norm_num_groups=4,
            add_attention=False,
            center_input_sample=True,
        ),
        'scheduler': ('DDIMScheduler', dict(
            num_train_timesteps=500,
            beta_schedule='scaled_linear',
            beta_start=0.00085,
            beta_end=0.012,
            clip_sample=False,
            prediction_type='sample',
            timestep_spacing='trailing',
        )),
        'ddim_steps': 5,
        'batch': 3,
        'timesteps': [499, 250, 0],
        'labels': None,
    },
]


# Configs of realistic size, checked by shape only (no weights are written): the DDPM CIFAR-10 architecture
# (google/ddpm-cifar10-32's config, 35.7M parameters) and a class-conditional scale_shift variant with 4-head attention.
SHAPE_CONFIGS = {
    'ddpm-cifar10-32': dict(
        sample_size=32, in_channels=3, out_channels=3, block_out_channels=(128, 256, 256, 256), layers_per_block=2,
        down_block_types=('DownBlock2D', 'AttnDownBlock2D', 'DownBlock2D', 'DownBlock2D'),
        up_block_types=('UpBlock2D', 'UpBlock2D', 'AttnUpBlock2D', 'UpBlock2D'), attention_head_dim=None,
        norm_eps=1e-6, downsample_padding=0, flip_sin_to_cos=False, freq_shift=1,
    ),
    'cond-64-scale-shift': dict(
        sample_size=64, in_channels=3, out_channels=3, block_out_channels=(64, 128, 128), layers_per_block=1,
        down_block_types=('DownBlock2D', 'AttnDownBlock2D', 'AttnDownBlock2D'),
        up_block_types=('AttnUpBlock2D', 'AttnUpBlock2D', 'UpBlock2D'), attention_head_dim=32,
        resnet_time_scale_shift='scale_shift', num_class_embeds=100,
    ),
}


def write_shapes(out_root, UNet2DModel):
    shapes = {}
    for name, cfg in SHAPE_CONFIGS.items():
        model = UNet2DModel(**cfg)
        shapes[name] = {
            'config': {k: v for k, v in model.config.items() if not k.startswith('_')},
            'parameters': sum(p.numel() for p in model.parameters()),
            'tensors': {k: list(v.shape) for k, v in model.state_dict().items()},
        }
        print(f"{name}: {shapes[name]['parameters']} parameters, {len(shapes[name]['tensors'])} tensors")
    with open(os.path.join(out_root, 'shapes.json'), 'w') as f:
        json.dump(shapes, f, indent=1, sort_keys=True)
        f.write('\n')


def setup_imports(diffusers_src, hub_src):
    stub = tempfile.mkdtemp(prefix='safetensors-stub-')
    os.makedirs(os.path.join(stub, 'safetensors'))
    with open(os.path.join(stub, 'safetensors', '__init__.py'), 'w') as f:
        f.write(STUB_INIT)
    with open(os.path.join(stub, 'safetensors', 'torch.py'), 'w') as f:
        f.write(STUB_TORCH)
    sys.path[:0] = [stub, diffusers_src, hub_src]


def to_bf16_bits(a):
    """float32 -> bfloat16 bit patterns (round to nearest even), as uint16."""
    u = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return rounded.astype(np.uint16)


def stored(a, dtype):
    """(bytes as stored, the float32 values a reader gets back)."""
    a = np.ascontiguousarray(a, dtype=np.float32)
    if dtype == 'F32':
        return a.tobytes(), a
    if dtype == 'F16':
        h = a.astype(np.float16)
        return h.tobytes(), h.astype(np.float32)
    if dtype == 'BF16':
        bits = to_bf16_bits(a)
        return bits.tobytes(), (bits.astype(np.uint32) << 16).view(np.float32)
    raise ValueError(dtype)


def write_safetensors(path, tensors, metadata=None):
    """tensors: list of (name, dtype, shape, raw bytes). Header padded with spaces to 8 bytes."""
    header = {}
    offset = 0
    for name, dtype, shape, raw in tensors:
        header[name] = {'dtype': dtype, 'shape': list(shape), 'data_offsets': [offset, offset + len(raw)]}
        offset += len(raw)
    if metadata:
        header['__metadata__'] = metadata
    text = json.dumps(header, separators=(',', ':')).encode('utf-8')
    text += b' ' * ((8 - len(text) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for _, _, _, raw in tensors:
            f.write(raw)


def read_safetensors(path):
    """name -> numpy array: F32, F16, BF16 as float32, I64 as int64 (weights, inputs and noise files)."""
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, e in header.items():
        if name == '__metadata__':
            continue
        raw = data[e['data_offsets'][0]:e['data_offsets'][1]]
        if e['dtype'] == 'F32':
            a = np.frombuffer(raw, dtype=np.float32)
        elif e['dtype'] == 'F16':
            a = np.frombuffer(raw, dtype=np.float16).astype(np.float32)
        elif e['dtype'] == 'BF16':
            a = (np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)
        elif e['dtype'] == 'I64':
            a = np.frombuffer(raw, dtype=np.int64)
        else:
            raise ValueError(f'{path}: {name} is {e["dtype"]}, not F32, F16, BF16 or I64')
        out[name] = a.reshape(e['shape'])
    return out


def check_round_trip(out, UNet2DModel, torch, sample, timestep, labels, expected):
    """The folder as written, loaded the way from_pretrained loads it, gives the recorded output."""
    model = UNet2DModel.from_config(UNet2DModel.load_config(out)).eval()
    state = {k: torch.from_numpy(v.copy()) for k, v in read_safetensors(
        os.path.join(out, 'diffusion_pytorch_model.safetensors')).items()}
    model._convert_deprecated_attention_blocks(state)
    model.load_state_dict(state, strict=True)
    with torch.no_grad():
        again = model(sample, timestep, class_labels=labels).sample
    assert torch.equal(again, expected), f'{out}: the written folder does not reproduce the output'


def f32(name, a):
    a = np.ascontiguousarray(a, dtype=np.float32)
    return (name, 'F32', a.shape, a.tobytes())


def i64(name, a):
    a = np.ascontiguousarray(a, dtype=np.int64)
    return (name, 'I64', a.shape, a.tobytes())


def randomise(model, torch, seed):
    """Every parameter random, norms' gains near 1: a wrong mapping of any tensor shows in the output."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if 'norm' in name and name.endswith('.weight'):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            elif name.endswith('.bias'):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:
                fan_in = int(np.prod(p.shape[1:])) if p.dim() > 1 else 1
                p.copy_(torch.randn(p.shape, generator=g) / np.sqrt(fan_in))


DEPRECATED = {'to_q': 'query', 'to_k': 'key', 'to_v': 'value', 'to_out.0': 'proj_attn'}


def stored_name(name, deprecated):
    if not deprecated or '.attentions.' not in name:
        return name
    for new, old in DEPRECATED.items():
        marker = f'.{new}.'
        if marker in name:
            return name.replace(marker, f'.{old}.')
    return name


def make(spec, out_root, torch, UNet2DModel, schedulers):
    out = os.path.join(out_root, spec['name'])
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    model = UNet2DModel(**spec['unet']).eval()
    randomise(model, torch, seed=len(spec['name']))

    # Weights as stored; the model then computes with exactly the values a reader gets back.
    tensors = []
    with torch.no_grad():
        for name, p in model.state_dict().items():
            raw, back = stored(p.numpy(), spec['dtype'])
            tensors.append((stored_name(name, spec['deprecated_attention_names']), spec['dtype'], p.shape, raw))
            p.copy_(torch.from_numpy(back.reshape(p.shape)))
    write_safetensors(os.path.join(out, 'diffusion_pytorch_model.safetensors'), tensors, {'format': 'pt'})
    model.save_config(out)

    cls_name, sched_kwargs = spec['scheduler']
    scheduler = schedulers[cls_name](**sched_kwargs)
    scheduler.save_config(out)

    cfg = spec['unet']
    c, size, b = cfg['in_channels'], cfg['sample_size'], spec['batch']
    g = torch.Generator().manual_seed(1)
    sample = torch.randn((b, c, size, size), generator=g)
    timestep = torch.tensor(spec['timesteps'], dtype=torch.long)
    labels = torch.tensor(spec['labels'], dtype=torch.long) if spec['labels'] is not None else None
    with torch.no_grad():
        expected = model(sample, timestep, class_labels=labels).sample
        time_proj = model.time_proj(timestep)
    check_round_trip(out, UNet2DModel, torch, sample, timestep, labels, expected)
    inputs = [f32('sample', sample.numpy()), i64('timestep', timestep.numpy())]
    if labels is not None:
        inputs.append(i64('class_labels', labels.numpy()))
    write_safetensors(os.path.join(out, 'inputs.safetensors'), inputs)
    outputs = [f32('sample', expected.numpy()), f32('time_proj', time_proj.numpy())]
    write_safetensors(os.path.join(out, 'outputs.safetensors'), outputs, {'source': 'diffusers 0.25.0 UNet2DModel'})

    ddim = schedulers['DDIMScheduler'].from_config(scheduler.config)
    ddim.set_timesteps(spec['ddim_steps'])
    noise = torch.randn((spec.get('ddim_batch', b), c, size, size), generator=g)
    if labels is not None:
        labels = labels[: noise.shape[0]]
    x = noise
    points = [x.numpy()]
    with torch.no_grad():
        for t in ddim.timesteps:
            eps = model(x, t, class_labels=labels).sample
            x = ddim.step(eps, t, x, eta=0.0, use_clipped_model_output=True).prev_sample
            points.append(x.numpy())
    trajectory = [f32('noise', noise.numpy())]
    if labels is not None:
        trajectory.append(i64('class_labels', labels.numpy()))
    trajectory += [i64('timesteps', ddim.timesteps.numpy()), f32('trajectory', np.stack(points))]
    meta = {'source': 'diffusers 0.25.0 DDIMScheduler.from_config(scheduler_config)', 'eta': '0',
            'use_clipped_model_output': 'true'}
    write_safetensors(os.path.join(out, 'ddim.safetensors'), trajectory, meta)
    params = sum(p.numel() for p in model.parameters())
    sizes = {f: os.path.getsize(os.path.join(out, f)) for f in sorted(os.listdir(out))}
    print(f"{spec['name']}: {params} parameters, files {sizes}, ddim timesteps {ddim.timesteps.tolist()}")


def write_full_size(name, out, torch, UNet2DModel, DDPMScheduler):
    """A realistic-size model folder with random weights (the benchmarks' 36M model; nothing is compared)."""
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    model = UNet2DModel(**SHAPE_CONFIGS[name]).eval()
    randomise(model, torch, seed=1)
    model.save_config(out)
    DDPMScheduler(num_train_timesteps=1000, beta_schedule='linear', clip_sample=True).save_config(out)
    with torch.no_grad():
        tensors = [f32(k, v.numpy()) for k, v in model.state_dict().items()]
    write_safetensors(os.path.join(out, 'diffusion_pytorch_model.safetensors'), tensors, {'format': 'pt'})
    print(f'{out}: {name}, {sum(p.numel() for p in model.parameters())} parameters')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--diffusers-src', required=True, help="diffusers v0.25.0's src/ folder")
    parser.add_argument('--hub-src', required=True, help="huggingface_hub v0.19.4's src/ folder")
    parser.add_argument('--out', default=os.path.join(os.path.dirname(__file__), '..', 'e2e', 'fixtures', 'diffusers'))
    parser.add_argument('--full-size', choices=sorted(SHAPE_CONFIGS),
                        help='instead of the fixtures, write this realistic config with random F32 weights and a '
                             'DDPMScheduler config into --out (a model folder for benchmarks; not committed)')
    args = parser.parse_args()
    setup_imports(os.path.abspath(args.diffusers_src), os.path.abspath(args.hub_src))
    import torch
    import diffusers
    from diffusers import DDIMScheduler, DDPMScheduler
    from diffusers.models.unet_2d import UNet2DModel

    assert diffusers.__version__ == '0.25.0', diffusers.__version__
    torch.set_num_threads(1)
    schedulers = {'DDIMScheduler': DDIMScheduler, 'DDPMScheduler': DDPMScheduler}
    if args.full_size:
        write_full_size(args.full_size, os.path.abspath(args.out), torch, UNet2DModel, DDPMScheduler)
        return
    for spec in MODELS:
        make(spec, os.path.abspath(args.out), torch, UNet2DModel, schedulers)
    write_shapes(os.path.abspath(args.out), UNet2DModel)


if __name__ == '__main__':
    main()
