#!/usr/bin/env python3
"""The diffusers export checked with the real diffusers (0.25.0), never in CI.

For each folder e2e/fixtures/diffusers-export/<name>/ (scripts/diffusers-export-fixture.ts writes
student/, peft/, noise.safetensors and ours.safetensors):
  1. loads student/ with UNet2DModel.from_pretrained (the real loader: the safetensors stub here
     really reads files, with numpy) and DDIMScheduler.from_pretrained, and checks that nothing was
     missing or unexpected and that set_timesteps(N) gives the grid recorded as
     _rapm_student_timesteps;
  2. samples from noise.safetensors with DDIMScheduler.step (eta 0, use_clipped_model_output=True,
     as the studio's DDIM) on those timesteps, writes diffusers.safetensors (`sample`, the final
     samples, clamped to [-1, 1] where the scheduler clips, as ours are; `trajectory` [N + 1, ...])
     and prints max |ours - diffusers| / max |diffusers| against ours.safetensors;
  3. where peft/ exists: peft is not installable here (no Debian package, no registry), so the
     adapter is applied with peft's own merge (peft 0.7.1, tuners/lora/layer.py get_delta_weight:
     Linear B @ A, Conv2d conv2d(A.permute(1, 0, 2, 3), B).permute(1, 0, 2, 3) (1x1: B @ A), Embedding
     (B @ A)^T, times lora_alpha / r) to the teacher's weights (e2e/fixtures/diffusers/<name>/) and
     compared with student/'s merged weights; the key names are checked against the names peft's
     set_peft_model_state_dict maps onto the LoRA layers of the adapter_config's target_modules.
The unit test src/core/diffusers/export-diffusers.test.ts then checks ours against
diffusers.safetensors without Python.

To run (as scripts/diffusers-fixtures.py: diffusers v0.25.0's and huggingface_hub v0.19.4's src/
folders, Debian's python3-torch and the packages its header lists):
  /usr/bin/python3 scripts/diffusers-export-check.py --diffusers-src DIFFUSERS_SRC --hub-src HUB_SRC
"""
import argparse
import importlib.util
import json
import os
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location('diffusers_fixtures', os.path.join(HERE, 'diffusers-fixtures.py'))
fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fixtures)

# A safetensors package that really reads files (F32/F16/BF16, numpy), so from_pretrained runs its
# own loading path; a dist-info makes importlib.metadata (diffusers' is_safetensors_available) see it.
STUB_INIT = '''class SafetensorError(Exception):
    pass


def safe_open(*args, **kwargs):
    raise SafetensorError("stub safetensors: safe_open is not available")


from . import torch  # noqa: E402  diffusers calls safetensors.torch.load_file after `import safetensors`
'''
STUB_TORCH = '''import importlib.util
import os

import torch

_spec = importlib.util.spec_from_file_location('diffusers_fixtures', os.environ['RAPM_FIXTURES_PY'])
_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fixtures)


def load_file(filename, device="cpu"):
    return {k: torch.from_numpy(v.copy()) for k, v in _fixtures.read_safetensors(filename).items()}


def save_file(*args, **kwargs):
    raise NotImplementedError("stub safetensors: save_file")
'''


def setup_imports(diffusers_src, hub_src):
    stub = tempfile.mkdtemp(prefix='safetensors-reader-')
    os.makedirs(os.path.join(stub, 'safetensors'))
    with open(os.path.join(stub, 'safetensors', '__init__.py'), 'w') as f:
        f.write(STUB_INIT)
    with open(os.path.join(stub, 'safetensors', 'torch.py'), 'w') as f:
        f.write(STUB_TORCH)
    os.makedirs(os.path.join(stub, 'safetensors-0.4.0.dist-info'))
    with open(os.path.join(stub, 'safetensors-0.4.0.dist-info', 'METADATA'), 'w') as f:
        f.write('Metadata-Version: 2.1\nName: safetensors\nVersion: 0.4.0\n')
    os.environ['RAPM_FIXTURES_PY'] = os.path.join(HERE, 'diffusers-fixtures.py')
    sys.path[:0] = [stub, diffusers_src, hub_src]


def rel(ours, ref):
    return float(np.abs(ours - ref).max() / np.abs(ref).max())


def sample(folder, torch, UNet2DModel, DDIMScheduler):
    student = os.path.join(folder, 'student')
    model, info = UNet2DModel.from_pretrained(student, output_loading_info=True)
    for k in ('missing_keys', 'unexpected_keys', 'mismatched_keys', 'error_msgs'):
        assert not info[k], f'{student}: from_pretrained {k}: {info[k]}'
    model = model.eval()
    scheduler = DDIMScheduler.from_pretrained(student)
    with open(os.path.join(student, 'scheduler_config.json')) as f:
        grid = json.load(f)['_rapm_student_timesteps']
    scheduler.set_timesteps(len(grid))
    assert scheduler.timesteps.tolist() == grid, f'set_timesteps gives {scheduler.timesteps.tolist()}, not {grid}'
    noise = fixtures.read_safetensors(os.path.join(folder, 'noise.safetensors'))
    labels = torch.from_numpy(noise['class_labels'].copy()) if 'class_labels' in noise else None
    x = torch.from_numpy(noise['sample'].copy())
    points = [x.numpy()]
    with torch.no_grad():
        for t in scheduler.timesteps:
            out = model(x, t, class_labels=labels).sample
            x = scheduler.step(out, t, x, eta=0.0, use_clipped_model_output=True).prev_sample
            points.append(x.numpy())
    final = x.numpy()
    if scheduler.config.clip_sample:
        final = np.clip(final, -1, 1)
    fixtures.write_safetensors(
        os.path.join(folder, 'diffusers.safetensors'),
        [fixtures.f32('sample', final), fixtures.f32('trajectory', np.stack(points))],
        {'source': 'diffusers 0.25.0 UNet2DModel.from_pretrained + DDIMScheduler.from_pretrained, set_timesteps(N), '
                   'step(eta=0, use_clipped_model_output=True)', 'timesteps': json.dumps(grid)})
    ours = fixtures.read_safetensors(os.path.join(folder, 'ours.safetensors'))['sample']
    return grid, rel(ours, final)


def peft_delta(a, b, base_shape, kind):
    """peft 0.7.1's get_delta_weight, unscaled, in numpy."""
    import torch
    import torch.nn.functional as F
    if kind == 'embedding':
        return (b @ a).T
    if len(base_shape) == 2:
        return b @ a
    if tuple(base_shape[2:4]) == (1, 1):
        return (b[:, :, 0, 0] @ a[:, :, 0, 0])[:, :, None, None]
    ta, tb = torch.from_numpy(a.copy()), torch.from_numpy(b.copy())
    return F.conv2d(ta.permute(1, 0, 2, 3), tb).permute(1, 0, 2, 3).numpy()


def check_peft(folder, teacher_dir):
    peft = os.path.join(folder, 'peft')
    with open(os.path.join(peft, 'adapter_config.json')) as f:
        config = json.load(f)
    adapter = fixtures.read_safetensors(os.path.join(peft, 'adapter_model.safetensors'))
    teacher = fixtures.read_safetensors(os.path.join(teacher_dir, 'diffusion_pytorch_model.safetensors'))
    merged = fixtures.read_safetensors(os.path.join(folder, 'student', 'diffusion_pytorch_model.safetensors'))
    scale = config['lora_alpha'] / config['r']
    assert config['peft_type'] == 'LORA' and not config['fan_in_fan_out'] and config['bias'] == 'none'
    seen = set()
    worst = 0.0
    for module in config['target_modules']:
        prefix = f'base_model.model.{module}'
        kind = 'embedding' if f'{prefix}.lora_embedding_A' in adapter else 'lora'
        names = ([f'{prefix}.lora_embedding_A', f'{prefix}.lora_embedding_B'] if kind == 'embedding'
                 else [f'{prefix}.lora_A.weight', f'{prefix}.lora_B.weight'])
        a, b = adapter[names[0]], adapter[names[1]]
        assert a.shape[0] == config['r'] and b.shape[1] == config['r'], (module, a.shape, b.shape)
        seen.update(names)
        w = teacher[f'{module}.weight']
        want = merged[f'{module}.weight']
        got = w + scale * peft_delta(a, b, w.shape, kind)
        worst = max(worst, rel(got, want))
    assert seen == set(adapter), f'tensors no target module explains: {set(adapter) - seen}'
    return len(config['target_modules']), worst


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--diffusers-src', required=True, help="diffusers v0.25.0's src/ folder")
    parser.add_argument('--hub-src', required=True, help="huggingface_hub v0.19.4's src/ folder")
    root = os.path.join(HERE, '..', 'e2e', 'fixtures')
    parser.add_argument('--root', default=os.path.join(root, 'diffusers-export'))
    parser.add_argument('--teachers', default=os.path.join(root, 'diffusers'))
    args = parser.parse_args()
    setup_imports(os.path.abspath(args.diffusers_src), os.path.abspath(args.hub_src))
    import torch
    import diffusers
    from diffusers import DDIMScheduler
    from diffusers.models.unet_2d import UNet2DModel

    assert diffusers.__version__ == '0.25.0', diffusers.__version__
    torch.set_num_threads(1)
    for name in sorted(os.listdir(args.root)):
        folder = os.path.join(args.root, name)
        if not os.path.isdir(folder):
            continue
        grid, err = sample(folder, torch, UNet2DModel, DDIMScheduler)
        line = f'{name}: from_pretrained ok, DDIM {grid}: max |ours - diffusers| / max |diffusers| = {err:.2e}'
        if os.path.isdir(os.path.join(folder, 'peft')):
            n, worst = check_peft(folder, os.path.join(args.teachers, name))
            line += f'; peft merge of {n} modules vs merged export: {worst:.2e}'
        print(line)


if __name__ == '__main__':
    main()
