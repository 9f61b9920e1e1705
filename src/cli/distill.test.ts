/**
 * npm run distill and npm run sample end to end on the e2e fixtures (a tiny teacher, N = 2 shards):
 * the exports record the 2-step grid and `sample` uses it by default; --resume continues from the
 * checkpoint, and refuses one whose trajectory grid is not the shards' (an N = 4 shard of the same
 * teacher) with the typed error's message and exit code 1.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rapmGrids } from '../core/diffusion/timesteps';
import { loadModelBundle, shardTeacher } from '../core/io/bundle';
import { writeShard } from '../core/io/shards';
import { gaussian } from '../core/random';

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, '..', '..', 'e2e', 'fixtures');
const teacherPath = join(fixtures, 'teacher.safetensors');
const shardPath = join(fixtures, 'shard-0000.safetensors');

function cli(script: string, ...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, script), ...args], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe('npm run distill', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'rapm-distill-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exports a student that records its grid, and sample draws on it by default', () => {
    const run = cli('distill.ts', '--teacher', teacherPath, '--shards', shardPath, '--iterations', '2', '--out', dir);
    expect(run.out).toContain('student, 2 steps');
    expect(run.status).toBe(0);
    const merged = loadModelBundle(readFileSync(join(dir, 'student-merged.safetensors')));
    expect(merged.config.studentTimesteps).toEqual([999, 499]);
    tf.dispose(Object.values(merged.params));

    const sample = cli(
      'sample.ts',
      '--model',
      join(dir, 'student-merged.safetensors'),
      '--per-class',
      '1',
      '--out',
      join(dir, 's.png'),
    );
    expect(sample.out).toContain("grid: the student's own, [999,499], guidance 1");
    expect(sample.status).toBe(0);
  });

  it('resumes on the same shards and refuses shards of another grid', async () => {
    const resumed = cli(
      'distill.ts',
      '--teacher',
      teacherPath,
      '--shards',
      shardPath,
      '--iterations',
      '3',
      '--out',
      dir,
      '--resume',
    );
    expect(resumed.out).toContain('resumed from');
    expect(resumed.out).toContain('at iteration 2');
    expect(resumed.status).toBe(0);

    const teacherBytes = readFileSync(teacherPath);
    const teacher = await shardTeacher(teacherBytes);
    const { schedule, prediction, data, numClasses } = teacher.config;
    const { coarse, fine, coarseIndex } = rapmGrids(schedule.trainSteps, 4, 2);
    const px = data.channels * data.height * data.width;
    const n4 = join(dir, 'n4.safetensors');
    writeFileSync(
      n4,
      writeShard(
        {
          teacher: teacher.identity,
          schedule,
          coarseTimesteps: coarse,
          fineStepsPerSlot: 2,
          delta: fine[0] - fine[1],
          deltaTimesteps: coarseIndex.map((k) => fine[k + 1]),
          guidanceScale: 2,
          prediction,
          data,
          numClasses,
        },
        { positions: gaussian(1, 3 * 5 * px), labels: Int32Array.from([0, 1, 2]) },
      ),
    );
    const refused = cli(
      'distill.ts',
      '--teacher',
      teacherPath,
      '--shards',
      n4,
      '--iterations',
      '4',
      '--out',
      dir,
      '--resume',
    );
    expect(refused.out).toMatch(/checkpoint was trained on trajectories with grid .* but the shards have/);
    expect(refused.out).not.toContain('    at '); // a typed error: its message alone, no stack
    expect(refused.status).toBe(1);
  });
});
