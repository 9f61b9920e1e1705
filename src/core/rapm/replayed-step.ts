/**
 * The RAPM iteration on webgpu as a replayed step (kernels/step-graph.ts): the first iteration
 * runs through tfjs while it is captured; every later one writes the batch's values into the
 * captured inputs and encodes the same dispatches again, with no tfjs op, tensor or tape. The
 * composed path (trainer.ts `update`) stays the reference: the capture runs it, and tests hold
 * the replays to it (replayed-step.test.ts, e2e/kernels.spec.ts).
 *
 * It applies on webgpu with the fused kernels on and no discriminator replay (whose kept
 * features change the iteration's shape as they fill). A capture that fails says why once
 * (console.warn) and the run continues on the composed path.
 */
import * as tf from '@tensorflow/tfjs';
import { useFused } from '../kernels/fused';
import { ADAM_PACKED } from '../kernels/adam-ema';
import { StepCaptureError, StepGraph, webGpuInternals } from '../kernels/step-graph';
import type { RapmMetrics } from './metrics';
import { disposeStepTensors, STEP_VALUE_KEYS, type StepTensors, type StepValues } from './step-inputs';
import type { RapmTrainer, TrajectoryBatch } from './trainer';

let enabled = true;

/** What decides a captured graph's shapes: one graph serves every iteration with the same key. */
function shapeKey(v: StepValues): string {
  return [...STEP_VALUE_KEYS.map((k) => v[k].length), v.deltaStored].join(',');
}

/** Turns replayed steps on (the default) or off, for every trainer; off runs the composed path. */
export function setStepReplay(on: boolean): void {
  enabled = on;
}

export function stepReplayEnabled(): boolean {
  return enabled;
}

interface Captured {
  graph: StepGraph;
  inputs: StepTensors;
  readout: tf.Tensor;
  decode: (v: ArrayLike<number>, iteration: number, start: number) => RapmMetrics;
  /** Optimiser steps per iteration of each group (student, rel, abs), as the capture counted them. */
  steps: number[];
}

export class ReplayedStep {
  private captured: Captured | null = null;
  private warm = false;
  private replays = 0;
  /** The shapes the graph was captured for. */
  private key = '';
  /** Why the capture failed: the trainer then stays on the composed path. */
  failure: string | null = null;

  constructor(private readonly trainer: RapmTrainer) {}

  /** Whether stepAsync should go through here. */
  applies(): boolean {
    return (
      enabled &&
      this.failure === null &&
      this.trainer.cfg.discReplay === 0 &&
      webGpuInternals() !== null &&
      useFused(ADAM_PACKED)
    );
  }

  /** Dispatches per replayed iteration (null before the capture). */
  get dispatches(): number | null {
    return this.captured?.graph.dispatches ?? null;
  }

  /** GPU bytes the captured graph holds beside tfjs's own buffers (null before the capture). */
  get bytes(): number | null {
    return this.captured?.graph.bytes ?? null;
  }

  /** Host milliseconds of the last replay's encoding and submission (null before the first replay). */
  get lastSubmitMs(): number | null {
    return this.captured && this.replays > 0 ? this.captured.graph.lastSubmitMs : null;
  }

  async step(batch: TrajectoryBatch): Promise<RapmMetrics> {
    const start = performance.now();
    const t = this.trainer;
    const values = t.stepValues(batch);
    const key = shapeKey(values);
    if (key !== this.key) {
      // new shapes (another batch size, shards without Delta points): warm up and capture again
      this.release();
      this.key = key;
      this.warm = false;
    }
    const c = this.captured;
    if (c && c.graph.holds(t.stateTensors())) {
      const readout = await c.graph.replay(STEP_VALUE_KEYS.map((k) => values[k]));
      this.replays++;
      [t.adamStudent, t.adamRel, t.adamAbs].forEach((adam, i) => adam.advance(c.steps[i]));
      return c.decode(readout, ++t.iteration, start);
    }
    // the first iteration runs through tfjs uncaptured: it uploads the teacher and fills lazy caches
    if (!this.warm) {
      this.warm = true;
      return t.composedStep(batch);
    }
    // the state was replaced (a checkpoint loaded), or nothing is captured yet: capture (again)
    this.release();
    this.replays = 0;
    const inputs = t.stepTensors(values);
    const groups = [t.adamStudent, t.adamRel, t.adamAbs];
    const stepsBefore = groups.map((g) => g.step);
    groups.forEach((g) => g.dropViews());
    let result: ReturnType<RapmTrainer['update']>;
    try {
      const capture = StepGraph.capture({
        inputs: STEP_VALUE_KEYS.map((k) => inputs[k]),
        state: () => t.stateTensors(),
        run: () => t.update(inputs),
        readout: (r) => r.readout,
      });
      result = capture.result;
      this.captured = {
        graph: capture.graph,
        inputs,
        readout: result.readout,
        decode: result.metrics,
        steps: groups.map((g, i) => g.step - stepsBefore[i]),
      };
    } catch (e) {
      if (!(e instanceof StepCaptureError)) {
        disposeStepTensors(inputs);
        throw e;
      }
      this.failure = e.message;
      console.warn(`RAPM: the replayed step is off for this run (${e.message}); tfjs runs every iteration`);
      result = (e as StepCaptureError & { result?: ReturnType<RapmTrainer['update']> }).result!;
      disposeStepTensors(inputs);
      if (!result) throw e;
      try {
        return result.metrics(await result.readout.data(), ++t.iteration, start);
      } finally {
        result.readout.dispose();
      }
    }
    return result.metrics(await result.readout.data(), ++t.iteration, start);
  }

  private release(): void {
    const c = this.captured;
    if (!c) return;
    c.graph.dispose();
    disposeStepTensors(c.inputs);
    c.readout.dispose();
    this.captured = null;
  }

  dispose(): void {
    this.release();
  }
}
