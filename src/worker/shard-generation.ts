/**
 * The teacher's trajectory precompute in the browser, shard by shard, each shard validated and
 * stored as soon as it is written (a failure keeps the shards stored before it). Seeds and
 * classes follow `npm run trajectories`: trajectory k uses seed * 1e6 + k and class k % classes,
 * so the same settings give the same trajectories in the CLI and here.
 */
import { validateShard, writeShard } from '../core/io/shards';
import { generateTrajectories, trajectoryMeta, TrajectoryRequestError } from '../core/rapm/trajectories';
import type { GenerateRequest, ShardInfo } from './protocol';
import { storeShard } from './shard-store';
import type { LoadedTeacher } from './teacher';

export const SEED_STRIDE = 1_000_000;
/** Teacher batch: each step runs 2x this through the UNet (guidance). */
const BATCH = 8;

function check(req: GenerateRequest): void {
  const int = (v: number, name: string, min: number) => {
    if (!Number.isInteger(v) || v < min)
      throw new TrajectoryRequestError(`${name} must be an integer >= ${min}, got ${v}`);
  };
  int(req.count, 'Trajectory count', 1);
  int(req.perShard, 'Trajectories per shard', 1);
  int(req.coarse, 'Coarse slots (N)', 1);
  int(req.seed, 'Seed', 0);
  if (req.seed * SEED_STRIDE + req.count - 1 > 0x7fffffff) {
    throw new TrajectoryRequestError(
      `Seed ${req.seed} with ${req.count} trajectories overflows int32 seeds; use a seed below 2000`,
    );
  }
}

export async function generateShards(
  teacher: LoadedTeacher,
  req: GenerateRequest,
  onProgress: (done: number, total: number, message: string) => void,
): Promise<ShardInfo[]> {
  check(req);
  const { config, params, identity } = teacher;
  trajectoryMeta(config, req.coarse, req.fine, req.guidance); // fails fast on a bad N, M
  const shards = Math.ceil(req.count / req.perShard);
  const stored: ShardInfo[] = [];
  const date = new Date().toISOString();
  for (let s = 0; s < shards; s++) {
    const first = s * req.perShard;
    const n = Math.min(req.perShard, req.count - first);
    const ks = Array.from({ length: n }, (_, i) => first + i);
    const traj = await generateTrajectories(config, params, {
      seeds: ks.map((k) => req.seed * SEED_STRIDE + k),
      // an unconditional teacher's trajectories are all label 0
      labels: ks.map((k) => (config.numClasses === 0 ? 0 : k % config.numClasses)),
      slots: req.coarse,
      stepsPerSlot: req.fine,
      guidanceScale: req.guidance,
      batchSize: BATCH,
      onProgress: (done) => onProgress(first + done, req.count, `shard ${s + 1} of ${shards}`),
    });
    const bytes = writeShard(
      {
        ...traj.meta,
        teacher: identity,
        provenance: { tool: 'RAPM studio (browser)', date, seed: String(req.seed), first: String(first) },
      },
      { positions: traj.positions, deltaPositions: traj.deltaPositions, labels: traj.labels, seeds: traj.seeds },
      { dtype: req.dtype },
    );
    const summary = validateShard(bytes, teacher);
    const fileName = `${config.name}-N${req.coarse}M${req.fine}-seed${req.seed}-${String(s).padStart(4, '0')}.safetensors`;
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    stored.push(await storeShard(fileName, buffer, summary, identity));
  }
  onProgress(req.count, req.count, 'done');
  return stored;
}
