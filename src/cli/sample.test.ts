/**
 * npm run sample takes a diffusers folder as well as a bundle: an exported diffusers student draws
 * on the grid its scheduler_config records, an unconditional teacher one row at guidance 1; the PNG
 * written has the grid's size.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, '..', '..', 'e2e', 'fixtures');
const dir = mkdtempSync(join(tmpdir(), 'rapm-sample-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, 'sample.ts'), ...args], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

/** Width and height from a PNG's IHDR chunk. */
function pngSize(path: string): [number, number] {
  const b = readFileSync(path);
  expect(b.subarray(1, 4).toString('latin1')).toBe('PNG');
  return [b.readUInt32BE(16), b.readUInt32BE(20)];
}

describe('npm run sample on diffusers folders', () => {
  it('draws an exported diffusers student on its own grid, one row per class', () => {
    const out = join(dir, 'student.png');
    const run = cli(
      '--model',
      join(fixtures, 'diffusers-export', 'cond-28-attn', 'student'),
      '--per-class',
      '2',
      '--out',
      out,
    );
    expect(run.status, run.out).toBe(0);
    expect(run.out).toContain("grid: the student's own, [999,749,499,249], guidance 1");
    expect(run.out).toContain('10 classes, 10 x 2');
    expect(pngSize(out)).toEqual([57, 289]);
  });

  it('draws an unconditional teacher as one row at guidance 1', () => {
    const out = join(dir, 'uncond.png');
    const run = cli(
      '--model',
      join(fixtures, 'diffusers', 'uncond-32-plain'),
      '--per-class',
      '3',
      '--steps',
      '2',
      '--out',
      out,
    );
    expect(run.status, run.out).toBe(0);
    expect(run.out).toContain('guidance 1');
    expect(run.out).toContain('no classes, 1 x 3');
    expect(pngSize(out)).toEqual([98, 32]);
  });
});
