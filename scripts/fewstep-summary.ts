/**
 * npx tsx scripts/fewstep-summary.ts [docs/results-fewstep.jsonl] [--table [--iteration I] [--seconds T]]
 *
 * Markdown tables from the rows of scripts/rapm-table.sh: the teacher's DDIM rows, each student's
 * learning curve on fresh seeds (FID / class accuracy to real digits and FID to the teacher's 32-step
 * samples, every export), mean +- sd over seeds where there are several (a point that fewer seeds reached
 * says how many), and the studio's held-out validation curve of the same runs (64 trajectories: RMSE to
 * the teacher's end point, FID, accuracy).
 *
 * --table: one table per N instead, a configuration a line, as docs/results.md quotes it: at equal
 * iterations (I, default 600), the best point of the mean curve over the iterations every seed reached,
 * and the same best within equal time (T seconds, default 120, at the configuration's seconds per
 * iteration: the least loaded of its runs' medians, since the machine was shared).
 *
 * --compare "N:CONFIG N:CONFIG ...": one curve table, the mean FID (+- sd over seeds, and how many seeds
 * where fewer than the run's) of each named run at every iteration any of them was scored.
 */
import { readFileSync } from 'node:fs';

interface Row {
  key: string;
  kind: 'teacher' | 'student' | 'validation';
  N: number;
  config?: string;
  /** The training seed (rows before it was named so: the key's -sN). */
  trainSeed?: number;
  iteration?: number;
  sPerItMedian?: number;
  fid?: number;
  classAccuracy?: number;
  fidToAgainst?: number;
  pixelRmseToAgainst?: number;
  count?: number;
  points?: { iteration: number; rmse: number; fid: number | null; accuracy: number | null }[];
  references?: { label: string; rmse: number; fid: number | null; accuracy: number | null }[];
  heldOut?: number;
}

const args = process.argv.slice(2);
function option(name: string, fallback: number): number {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(args[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} takes a positive number, got '${args[i + 1]}'`);
  args.splice(i, 2);
  return v;
}
const atIteration = option('--iteration', 600);
const atSeconds = option('--seconds', 120);
const compareAt = args.indexOf('--compare');
const compare = compareAt < 0 ? null : (args.splice(compareAt, 2)[1] ?? '').split(/\s+/).filter(Boolean);
const tableMode = args.includes('--table');
const file = args.find((a) => !a.startsWith('--')) ?? 'docs/results-fewstep.jsonl';
const rows = readFileSync(file, 'utf8')
  .split('\n')
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l) as Row)
  .map((r) => ({ ...r, trainSeed: r.trainSeed ?? Number(/-s(\d+)(-|$)/.exec(r.key)?.[1] ?? NaN) }));

const f1 = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(1));
const f2 = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(2));
const pct = (v: number | undefined | null) => (v === undefined || v === null ? '-' : `${(100 * v).toFixed(1)}%`);
const mean = (vs: number[]) => vs.reduce((a, b) => a + b, 0) / vs.length;
function stat(vs: number[], fmt: (v: number) => string): string {
  if (vs.length === 1) return fmt(vs[0]);
  const m = mean(vs);
  const sd = Math.sqrt(vs.reduce((a, b) => a + (b - m) ** 2, 0) / (vs.length - 1));
  return `${fmt(m)} +- ${fmt(sd)}`;
}
/** One cell: mean +- sd of a row field over the rows, '-' where there are none. */
const cell = (at: Row[], value: (r: Row) => number, fmt: (v: number) => string) =>
  at.length === 0 ? '-' : stat(at.map(value), fmt);
const fidCell = (at: Row[]) =>
  cell(
    at,
    (r) => r.fid!,
    (v) => v.toFixed(1),
  );
const accCell = (at: Row[]) =>
  cell(
    at,
    (r) => 100 * r.classAccuracy!,
    (v) => `${v.toFixed(1)}%`,
  );
const meanAcc = (at: Row[]) => `${(100 * mean(at.map((r) => r.classAccuracy!))).toFixed(1)}%`;
const toTeacherCell = (at: Row[]) =>
  cell(
    at,
    (r) => r.fidToAgainst!,
    (v) => v.toFixed(2),
  );

const teacher = rows.filter((r) => r.kind === 'teacher').sort((a, b) => a.N - b.N);
const students = rows.filter((r) => r.kind === 'student');
const groups = new Map<string, Row[]>();
for (const r of students) {
  const g = `${r.N}|${r.config}`;
  groups.set(g, [...(groups.get(g) ?? []), r]);
}
const seedsOf = (rs: Row[]) => [...new Set(rs.map((r) => r.trainSeed!))];

function printTeacher(): void {
  console.log(`## Teacher, DDIM, CFG 1.5 (K = ${teacher[0]?.count ?? '?'})\n`);
  console.log('| steps | FID | class acc. | FID to teacher 32 | pixel RMSE to teacher 32 |');
  console.log('| ---: | ---: | ---: | ---: | ---: |');
  for (const r of teacher) {
    const to = r.N === 32 ? '0' : f2(r.fidToAgainst);
    console.log(
      `| ${r.N} | ${f1(r.fid)} | ${pct(r.classAccuracy)} | ${to} | ${r.N === 32 ? '0' : f2(r.pixelRmseToAgainst)} |`,
    );
  }
}

function printCurves(): void {
  console.log('\n## Students: learning curves on fresh seeds (FID / class acc. / FID to teacher 32)\n');
  for (const [g, rs] of [...groups].sort()) {
    const [n, config] = g.split('|');
    const seeds = seedsOf(rs);
    const sPerIt = [...new Set(rs.map((r) => r.sPerItMedian))].map((v) => v?.toFixed(2)).join(', ');
    console.log(`### N = ${n}, ${config} (seeds ${seeds.join(', ')}; median s/it ${sPerIt}; K = ${rs[0].count})\n`);
    console.log('| iteration | FID | class acc. | FID to teacher 32 | pixel RMSE to teacher 32 |');
    console.log('| ---: | ---: | ---: | ---: | ---: |');
    const its = [...new Set(rs.map((r) => r.iteration!))].sort((a, b) => a - b);
    for (const it of its) {
      const at = rs.filter((r) => r.iteration === it);
      const rmse = stat(
        at.map((r) => r.pixelRmseToAgainst!),
        (v) => v.toFixed(3),
      );
      const fewer = seeds.length > 1 && at.length < seeds.length ? ` (${at.length} of ${seeds.length} seeds)` : '';
      console.log(`| ${it}${fewer} | ${fidCell(at)} | ${accCell(at)} | ${toTeacherCell(at)} | ${rmse} |`);
    }
    console.log('');
  }
}

/** One line per configuration and N: equal iterations, the mean curve's best point, equal time. */
function printTable(): void {
  const ns = [...new Set(students.map((r) => r.N))].sort((a, b) => b - a);
  for (const n of ns) {
    const t = teacher.find((r) => r.N === n);
    console.log(`### N = ${n} (teacher DDIM ${n}: ${t ? `${f1(t.fid)} / ${pct(t.classAccuracy)}` : 'not scored'})\n`);
    console.log(
      `| configuration | seeds | s/it | FID at ${atIteration} it | class acc. | FID to teacher 32 | best mean FID / acc. (it) | best within ${atSeconds} s (it) |`,
    );
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    const configs = [...groups].filter(([g]) => g.startsWith(`${n}|`)).sort(([a], [b]) => a.localeCompare(b));
    for (const [g, rs] of configs) {
      const config = g.split('|')[1];
      const seeds = seedsOf(rs);
      // seconds per iteration: the least loaded of the runs' medians (the machine was shared; the idle cost)
      const rate = Math.min(...rs.map((r) => r.sPerItMedian!).filter((v) => v !== undefined));
      const at = rs.filter((r) => r.iteration === atIteration);
      // the best point of the mean curve over the iterations every seed reached (within a time budget)
      const common = [...new Set(rs.map((r) => r.iteration!))].filter(
        (it) => rs.filter((r) => r.iteration === it).length === seeds.length,
      );
      const bestOf = (its: number[]) => {
        let best: { it: number; rows: Row[] } | null = null;
        for (const it of its) {
          const here = rs.filter((r) => r.iteration === it);
          if (!best || mean(here.map((r) => r.fid!)) < mean(best.rows.map((r) => r.fid!))) best = { it, rows: here };
        }
        return best;
      };
      const best = bestOf(common);
      const timed = bestOf(common.filter((it) => it * rate <= atSeconds));
      const cells = [
        config,
        `${seeds.length}`,
        rate.toFixed(2),
        `${fidCell(at)}${at.length < seeds.length && at.length > 0 ? ` (${at.length} seeds)` : ''}`,
        accCell(at),
        toTeacherCell(at),
        best ? `${fidCell(best.rows)} / ${meanAcc(best.rows)} (${best.it})` : '-',
        timed ? `${fidCell(timed.rows)} / ${meanAcc(timed.rows)} (${timed.it})` : '-',
      ];
      console.log(`| ${cells.join(' | ')} |`);
    }
    console.log('');
  }
}

/** The named runs' mean FID curves side by side. */
function printCompare(names: string[]): void {
  const runs = names.map((name) => {
    const [n, config] = name.split(':');
    const rs = groups.get(`${n}|${config}`);
    if (!rs) throw new Error(`--compare: no student rows for N = ${n}, configuration '${config}'`);
    return { name: `N = ${n}, ${config}`, rs, seeds: seedsOf(rs).length };
  });
  const its = [...new Set(runs.flatMap((r) => r.rs.map((x) => x.iteration!)))].sort((a, b) => a - b);
  console.log(`| iteration | ${runs.map((r) => `${r.name} (${r.seeds} seeds)`).join(' | ')} |`);
  console.log(`| ---: | ${runs.map(() => '---:').join(' | ')} |`);
  for (const it of its) {
    const cells = runs.map((r) => {
      const at = r.rs.filter((x) => x.iteration === it);
      return at.length > 0 && at.length < r.seeds ? `${fidCell(at)} (${at.length})` : fidCell(at);
    });
    console.log(`| ${it} | ${cells.join(' | ')} |`);
  }
}

if (compare) {
  printCompare(compare);
  process.exit(0);
}
if (tableMode) {
  printTable();
  process.exit(0);
}
printTeacher();
printCurves();

const validation = rows.filter((r) => r.kind === 'validation');
if (validation.length > 0) {
  console.log("## The studio's held-out validation of the same runs (RMSE to z~_0 / FID / accuracy)\n");
  for (const v of validation) {
    console.log(`### N = ${v.N}, ${v.config}, seed ${v.trainSeed} (${v.heldOut} held-out trajectories)\n`);
    console.log('| iteration | RMSE to z~_0 | FID | accuracy |');
    console.log('| ---: | ---: | ---: | ---: |');
    for (const p of v.points ?? []) {
      console.log(`| ${p.iteration} | ${p.rmse.toFixed(4)} | ${f1(p.fid ?? undefined)} | ${pct(p.accuracy)} |`);
    }
    for (const r of v.references ?? []) {
      console.log(`| ${r.label} | ${r.rmse.toFixed(4)} | ${f1(r.fid ?? undefined)} | ${pct(r.accuracy)} |`);
    }
    console.log('');
  }
}
