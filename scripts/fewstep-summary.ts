/**
 * npx tsx scripts/fewstep-summary.ts [docs/results-fewstep.jsonl]
 *
 * Markdown tables from the rows of scripts/rapm-table.sh: the teacher's DDIM rows, each student's
 * learning curve on fresh seeds (FID / class accuracy to real digits and FID to the teacher's 32-step
 * samples, every export), mean +- sd over seeds where there are several, and the studio's held-out
 * validation curve of the same runs (64 trajectories: RMSE to the teacher's end point, FID, accuracy).
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

const file = process.argv[2] ?? 'docs/results-fewstep.jsonl';
const rows = readFileSync(file, 'utf8')
  .split('\n')
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l) as Row)
  .map((r) => ({ ...r, trainSeed: r.trainSeed ?? Number(/-s(\d+)(-|$)/.exec(r.key)?.[1] ?? NaN) }));

const f1 = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(1));
const f2 = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(2));
const pct = (v: number | undefined | null) => (v === undefined || v === null ? '-' : `${(100 * v).toFixed(1)}%`);
function stat(vs: number[], fmt: (v: number) => string): string {
  if (vs.length === 1) return fmt(vs[0]);
  const m = vs.reduce((a, b) => a + b, 0) / vs.length;
  const sd = Math.sqrt(vs.reduce((a, b) => a + (b - m) ** 2, 0) / (vs.length - 1));
  return `${fmt(m)} +- ${fmt(sd)}`;
}

const teacher = rows.filter((r) => r.kind === 'teacher').sort((a, b) => a.N - b.N);
console.log(`## Teacher, DDIM, CFG 1.5 (K = ${teacher[0]?.count ?? '?'})\n`);
console.log('| steps | FID | class acc. | FID to teacher 32 | pixel RMSE to teacher 32 |');
console.log('| ---: | ---: | ---: | ---: | ---: |');
for (const r of teacher) {
  const to = r.N === 32 ? '0' : f2(r.fidToAgainst);
  console.log(
    `| ${r.N} | ${f1(r.fid)} | ${pct(r.classAccuracy)} | ${to} | ${r.N === 32 ? '0' : f2(r.pixelRmseToAgainst)} |`,
  );
}

const students = rows.filter((r) => r.kind === 'student');
const groups = new Map<string, Row[]>();
for (const r of students) {
  const g = `${r.N}|${r.config}`;
  groups.set(g, [...(groups.get(g) ?? []), r]);
}
console.log('\n## Students: learning curves on fresh seeds (FID / class acc. / FID to teacher 32)\n');
for (const [g, rs] of [...groups].sort()) {
  const [n, config] = g.split('|');
  const seeds = [...new Set(rs.map((r) => r.trainSeed))];
  const sPerIt = [...new Set(rs.map((r) => r.sPerItMedian))].map((v) => v?.toFixed(2)).join(', ');
  console.log(`### N = ${n}, ${config} (seeds ${seeds.join(', ')}; median s/it ${sPerIt}; K = ${rs[0].count})\n`);
  console.log('| iteration | FID | class acc. | FID to teacher 32 | pixel RMSE to teacher 32 |');
  console.log('| ---: | ---: | ---: | ---: | ---: |');
  const its = [...new Set(rs.map((r) => r.iteration!))].sort((a, b) => a - b);
  for (const it of its) {
    const at = rs.filter((r) => r.iteration === it);
    const cells = [
      stat(
        at.map((r) => r.fid!),
        (v) => v.toFixed(1),
      ),
      stat(
        at.map((r) => 100 * r.classAccuracy!),
        (v) => `${v.toFixed(1)}%`,
      ),
      stat(
        at.map((r) => r.fidToAgainst!),
        (v) => v.toFixed(2),
      ),
      stat(
        at.map((r) => r.pixelRmseToAgainst!),
        (v) => v.toFixed(3),
      ),
    ];
    console.log(`| ${it} | ${cells.join(' | ')} |`);
  }
  console.log('');
}

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
