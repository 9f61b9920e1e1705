#!/usr/bin/env python3
"""Write a RAPM Studio trajectory shard (docs/shard-format.md) with the standard library only."""
import array
import hashlib
import json
import random
import struct
import sys


def teacher_identity(model_path):
    """The shard's `teacher` field for a model bundle: its config name, and the SHA-256 of its
    stored config string (UTF-8), one zero byte and its tensor data (docs/model-format.md)."""
    with open(model_path, 'rb') as f:
        (n,) = struct.unpack('<Q', f.read(8))
        header = json.loads(f.read(n).decode('utf-8'))
        config = header['__metadata__']['config']
        sha256 = hashlib.sha256(config.encode('utf-8') + b'\0' + f.read()).hexdigest()
    return {'name': json.loads(config)['name'], 'sha256': sha256}


def _little_endian(typecode, values):
    a = array.array(typecode, values)  # 'f': float32, 'q': int64
    if sys.byteorder == 'big':
        a.byteswap()
    return a.tobytes()


def write_shard(path, meta, positions, labels, seeds=None, delta_positions=None):
    """positions: K*(N+1)*C*H*W floats; delta_positions: K*N*C*H*W floats (NCHW); labels, seeds: K ints."""
    k, n, d = len(labels), len(meta['coarseTimesteps']), meta['data']
    chw = [d['channels'], d['height'], d['width']]
    tensors = [('positions', 'F32', [k, n + 1] + chw, _little_endian('f', positions)),
               ('labels', 'I64', [k], _little_endian('q', labels))]
    if seeds is not None:
        tensors.append(('seeds', 'I64', [k], _little_endian('q', seeds)))
    if delta_positions is not None:
        tensors.append(('delta_positions', 'F32', [k, n] + chw, _little_endian('f', delta_positions)))
    shard = dict(meta, count=k)
    header = {'__metadata__': {'format': 'rapm-studio/shard', 'version': '1', 'shard': json.dumps(shard)}}
    offset = 0
    for name, dtype, shape, data in tensors:
        size = 1
        for s in shape:
            size *= s
        if len(data) != size * (4 if dtype == 'F32' else 8):
            raise ValueError(f'{name}: {len(data)} bytes, shape {shape} {dtype} needs {size}')
        header[name] = {'dtype': dtype, 'shape': shape, 'data_offsets': [offset, offset + len(data)]}
        offset += len(data)
    text = json.dumps(header, separators=(',', ':')).encode('utf-8')
    text += b' ' * (-len(text) % 8)  # pad so the data starts 8-byte aligned
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for _, _, _, data in tensors:
            f.write(data)


if __name__ == '__main__':
    out = sys.argv[1]
    teacher = teacher_identity(sys.argv[2]) if len(sys.argv) > 2 else {'name': 'example', 'sha256': '0' * 64}
    meta = {
        'teacher': teacher,
        'schedule': {'kind': 'linear', 'betaStart': 0.0001, 'betaEnd': 0.02, 'trainSteps': 1000},
        'coarseTimesteps': [999, 749, 499, 249],
        'fineStepsPerSlot': 8,
        'delta': 31,
        'deltaTimesteps': [968, 718, 468, 218],
        'guidanceScale': 2.0,
        'prediction': 'epsilon',
        'data': {'channels': 1, 'height': 28, 'width': 28, 'range': [-1, 1]},
        'numClasses': 10,
        'provenance': {'writer': 'docs/shard-format.md example'},
    }
    k, n, pixels = 3, len(meta['coarseTimesteps']), 28 * 28
    rng = random.Random(0)
    positions, delta_positions = [], []
    for _ in range(k):
        # Placeholder path from noise to a blank image; a real writer stores the teacher's points.
        noise = [rng.gauss(0.0, 1.0) for _ in range(pixels)]
        for i in range(n + 1):
            positions += [x * (1 - i / n) - i / n for x in noise]
        for i in range(n):
            delta_positions += [x * (1 - (i + 0.1) / n) - (i + 0.1) / n for x in noise]
    write_shard(out, meta, positions, [3, 1, 4], seeds=[0, 1, 2], delta_positions=delta_positions)
