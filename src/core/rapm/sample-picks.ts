/**
 * The fixed trajectories a run's sample grids show (the studio's live grid, the CLI's samples.png):
 * the first `perClass` of every class present, class by class, with the teacher's noise and end point.
 */
import type { TrajectorySource } from './trajectory-source';

export interface SamplePicks {
  indices: number[];
  /** Samples per class: the grid's columns (the smallest count among the classes present). */
  columns: number;
  /** Initial noise z~_N of each pick, NHWC, and the teacher's end point z~_0 of each. */
  noise: Float32Array;
  teacherEnd: Float32Array;
  labels: Int32Array;
}

export function samplePicks(source: TrajectorySource, numClasses: number, perClass: number): SamplePicks {
  const { labels, count } = source.data;
  // an unconditional model's trajectories are all label 0: one class
  const byClass: number[][] = Array.from({ length: Math.max(1, numClasses) }, () => []);
  for (let k = 0; k < count; k++) {
    const list = byClass[labels[k]];
    if (list.length < perClass) list.push(k);
  }
  const present = byClass.filter((l) => l.length > 0);
  const columns = Math.min(...present.map((l) => l.length));
  const indices = present.flatMap((l) => l.slice(0, columns));
  const batch = source.gather(indices);
  const { slots: n, channels, height, width } = source.data;
  const px = channels * height * width;
  const noise = new Float32Array(indices.length * px);
  const teacherEnd = new Float32Array(indices.length * px);
  indices.forEach((_, i) => {
    const row = i * (n + 1) * px;
    noise.set(batch.positions.subarray(row, row + px), i * px);
    teacherEnd.set(batch.positions.subarray(row + n * px, row + (n + 1) * px), i * px);
  });
  return { indices, columns, noise, teacherEnd, labels: batch.labels };
}
