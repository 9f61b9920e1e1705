/**
 * npm run eval -- --validation-split on the built-in teacher and one built-in shard: the CLI holds
 * out the same trajectories a run on that shard holds out (the TrainingDriver the studio's worker
 * and npm run distill use), and scores a student on them as the run's own validation does. At
 * iteration 0 the run's EMA student is the teacher (LoRA B starts at zero), so the teacher given
 * as --model must score what the run's first validation scores, and --teacher the run's reference
 * lines. Bad combinations end with the typed error's message and exit code 1.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelBundle, shardTeacher } from '../core/io/bundle';
import { readShard } from '../core/io/shards';
import { DEFAULT_CHECKPOINT_SCHEDULE, DEFAULT_RAPM } from '../core/rapm/config';
import { TrainingDriver } from '../core/rapm/training-driver';
import { decodeEvaluation } from '../core/rapm/validation';

const here = dirname(fileURLToPath(import.meta.url));
const pub = join(here, '..', '..', 'public');
const teacherPath = join(pub, 'teacher.safetensors');
const shardPath = join(pub, 'shards', 'shard-00000.safetensors');
const HELD_OUT = 8;
const SEED = 3;

function evalCli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, 'eval.ts'), ...args], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

interface Row {
  label: string;
  rmse: number;
  fid: number | null;
  accuracy: number | null;
  split?: { seed: number; trajectories: number; indices: number[] };
}

describe('npm run eval -- --validation-split', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'rapm-eval-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("scores a student on a run's held-out trajectories as the run's validation does", async () => {
    const json = join(dir, 'rows.jsonl');
    const run = evalCli(
      '--model',
      teacherPath,
      '--shards',
      shardPath,
      '--validation-split',
      String(HELD_OUT),
      '--split-seed',
      String(SEED),
      '--teacher',
      teacherPath,
      '--json',
      json,
    );
    expect(run.out).toContain(`${HELD_OUT} of 64 trajectories held out by seed ${SEED}`);
    expect(run.status).toBe(0);
    const rows = readFileSync(json, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Row);
    expect(rows.map((r) => r.label.replace(/^mnist-teacher, .*/, 'student'))).toEqual([
      'student',
      'teacher, 4 steps',
      'teacher, 32 steps',
    ]);

    // The same split and scores from a run on the same shard, in process.
    const before = tf.memory().numTensors;
    const bytes = new Uint8Array(readFileSync(teacherPath));
    const { config, params } = loadModelBundle(bytes);
    const teacher = { ...(await shardTeacher(bytes)), params };
    const evaluation = await decodeEvaluation(
      new Uint8Array(readFileSync(join(pub, 'evaluator.safetensors'))),
      new Uint8Array(readFileSync(join(pub, 'evaluator-real.safetensors'))),
    );
    const driver = TrainingDriver.start(
      teacher,
      [{ name: shardPath, shard: readShard(readFileSync(shardPath), teacher) }],
      { ...DEFAULT_RAPM, seed: SEED },
      { checkpoints: DEFAULT_CHECKPOINT_SCHEDULE, validation: { count: HELD_OUT, every: 1 }, evaluation },
    );
    try {
      expect(config.name).toBe('mnist-teacher');
      expect(rows[0].split).toEqual(driver.validator!.record.split);
      const result = await driver.validate();
      const references = await driver.validator!.references();
      const expected = [result!.point, ...references];
      rows.forEach((row, i) => {
        expect(row.rmse).toBeCloseTo(expected[i].rmse, 5);
        expect(row.fid).toBeCloseTo(expected[i].fid!, 2);
        expect(row.accuracy).toBe(expected[i].accuracy);
      });
      // The student's few steps are off the teacher's end points; the teacher's own end points are not.
      expect(rows[0].rmse).toBeGreaterThan(0.01);
      expect(rows[2].rmse).toBe(0);
    } finally {
      driver.dispose();
      tf.dispose(Object.values(params));
      tf.dispose(Object.values(evaluation.evaluator.params));
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('needs the shards, and a split that holds something out', () => {
    const noShards = evalCli('--model', teacherPath, '--validation-split', '8');
    expect(noShards.out).toContain("--validation-split needs --model (the student) and --shards (the run's shards)");
    expect(noShards.status).toBe(1);
    const none = evalCli('--model', teacherPath, '--shards', shardPath, '--validation-split', '0');
    expect(none.out).toContain('--validation-split 0 holds out nothing of 64 trajectories');
    expect(none.status).toBe(1);
  });
});
