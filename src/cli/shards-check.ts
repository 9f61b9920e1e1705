/**
 * npm run shards:check -- [--model DIR|FILE] FILES...
 * Validates trajectory shards (docs/shard-format.md): one table line per file, or its error.
 * With --model (a diffusers UNet2DModel folder or a model bundle; --teacher FILE is the older
 * name), each shard must also come from that model. Exits 1 if any file fails. No weights are
 * decoded: the check needs the model's identity and config only.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { shardTeacher } from '../core/io/bundle';
import { FormatError } from '../core/io/errors';
import { validateShard, type ShardSummary, type ShardTeacher } from '../core/io/shards';
import { diffusersShardTeacher } from '../core/teacher-load';
import { readDiffusersFolder } from '../node/diffusers-folder';
import { isModelFolder } from '../node/teacher-file';

const USAGE = 'usage: npm run shards:check -- [--model DIR|model.safetensors] SHARD.safetensors...';

const COLUMNS = [
  'file',
  'status',
  'K',
  'N',
  'M',
  'delta',
  'CxHxW',
  'dtype',
  'deltaPos',
  'seeds',
  'cfg',
  'teacher',
  'MB',
];

function row(file: string, s: ShardSummary): string[] {
  const d = s.data;
  return [
    file,
    'ok',
    String(s.count),
    String(s.slots),
    String(s.fineStepsPerSlot),
    String(s.delta),
    `${d.channels}x${d.height}x${d.width}`,
    s.positionsDtype,
    s.hasDelta ? 'yes' : 'no',
    s.hasSeeds ? 'yes' : 'no',
    String(s.guidanceScale),
    `${s.teacher.name}@${s.teacher.sha256.slice(0, 12)}`,
    (s.byteLength / 1e6).toFixed(1),
  ];
}

/** What shards are checked against: a diffusers folder's or a bundle's identity and config (no weights decoded). */
async function modelShardTeacher(path: string): Promise<ShardTeacher> {
  if (!isModelFolder(path)) return shardTeacher(readFileSync(path));
  const folder = await readDiffusersFolder(path);
  return diffusersShardTeacher(folder.files, folder.name);
}

async function main(): Promise<number> {
  let values: { teacher?: string; model?: string };
  let files: string[];
  try {
    const parsed = parseArgs({
      options: { teacher: { type: 'string' }, model: { type: 'string' } },
      allowPositionals: true,
    });
    values = parsed.values;
    files = parsed.positionals;
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (files.length === 0) {
    console.error(USAGE);
    return 2;
  }
  let teacher: ShardTeacher | undefined;
  const model = values.model ?? values.teacher;
  if (model) {
    try {
      teacher = await modelShardTeacher(model);
    } catch (e) {
      console.error(`cannot use --model ${model}: ${(e as Error).message}`);
      return 2;
    }
    console.log(`teacher ${teacher.identity.name} sha256 ${teacher.identity.sha256}`);
  }

  const table: string[][] = [COLUMNS];
  const failures: string[] = [];
  for (const path of files) {
    const name = basename(path);
    try {
      table.push(row(name, validateShard(readFileSync(path), teacher)));
    } catch (e) {
      const code = e instanceof FormatError ? e.code : ((e as NodeJS.ErrnoException).code ?? 'error');
      failures.push(`${name}  FAILED [${code}] ${(e as Error).message}`);
    }
  }
  const widths = COLUMNS.map((_, i) => Math.max(...table.map((r) => r[i].length)));
  if (table.length > 1)
    for (const r of table)
      console.log(
        r
          .map((c, i) => c.padEnd(widths[i]))
          .join('  ')
          .trimEnd(),
      );
  for (const f of failures) console.log(f);
  console.log(`${table.length - 1} of ${files.length} shard(s) valid`);
  return failures.length > 0 ? 1 : 0;
}

process.exitCode = await main();
