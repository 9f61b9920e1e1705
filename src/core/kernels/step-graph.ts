/**
 * A training step captured once on tfjs's webgpu backend and replayed by encoding dispatches
 * only, as a CUDA graph is (torch.cuda.graph: capture one iteration, then copy new inputs into
 * its static buffers and launch it again).
 *
 * Why: tfjs spends 50-80 us of host JavaScript per dispatch (kernel lookup, tensor bookkeeping,
 * the tape, a uniform buffer and a bind group made per dispatch), while WebGPU itself encodes a
 * dispatch whose pipeline and bind group exist in 3-4 us (docs/benchmarks.md). A RAPM iteration is
 * about a thousand dispatches of fixed shapes, so everything but its inputs can be built once.
 *
 * Capture runs the step through tfjs as usual (its result is that iteration's) while recording,
 * in order, every program tfjs records (pipeline, buffers bound, uniform bytes, workgroups) and
 * every upload of CPU values to a buffer. Buffers are then given versions (each write starts one)
 * and each version a buffer the graph owns, except:
 *   - buffers read before the step wrote them: the step's inputs, fixed tensors (the teacher), and
 *     the state it replaces (the packed optimiser groups: each replay first copies the state's
 *     current value into the graph's copy of the old buffer);
 *   - the last version of a buffer whose tensor is alive after the step: the new state and the
 *     readout. Replays write into those tensors' own buffers, so tfjs sees the new state.
 * Uploads made inside the step are constants: each gets a buffer written once. Anything the
 * graph cannot replay exactly (a read-back inside the step, a tensor kept that is neither state
 * nor readout, a tensor from before the step disposed in it) fails the capture with a
 * StepCaptureError, and the caller keeps the composed path. Equality with that path is tested
 * (src/core/rapm/replayed-step.test.ts and e2e/kernels.spec.ts).
 */
import * as tf from '@tensorflow/tfjs';

/** The capture met something a replay would not reproduce; the message says what. */
export class StepCaptureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StepCaptureError';
  }
}

interface TensorData {
  resource: GPUBuffer | null;
  values: ArrayLike<number> | null;
  dtype: tf.DataType;
}

interface ProgramLike {
  pipeline: GPUComputePipeline | Promise<GPUComputePipeline>;
  dispatch: [number, number, number];
}

/** The parts of tfjs-backend-webgpu 4.22's WebGPUBackend that capture and replay use. */
interface WebGpuBackendInternals {
  device: GPUDevice;
  queue: GPUQueue;
  commandEncoder: GPUCommandEncoder | null;
  tensorMap: { get(dataId: object): TensorData };
  bufferManager: { usedBuffers: Map<string, GPUBuffer[]> };
  uploadToGPU(dataId: object): void;
  recordAndSubmit(program: ProgramLike, output: tf.TensorInfo, inputs: tf.TensorInfo[], uniforms?: unknown): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  read(dataId: object): Promise<unknown>;
  readSync(dataId: object): unknown;
}

type Recorded =
  | { kind: 'upload'; buffer: GPUBuffer; bytes: Uint8Array }
  | {
      kind: 'dispatch';
      pipeline: GPUComputePipeline;
      /** The output first, then the inputs, as tfjs binds them. */
      buffers: GPUBuffer[];
      uniform: Uint8Array;
      workgroups: [number, number, number];
    };

/** The webgpu backend's internals, or null on any other backend. */
export function webGpuInternals(): WebGpuBackendInternals | null {
  if (tf.getBackend() !== 'webgpu') return null;
  const b = tf.backend() as unknown as Partial<WebGpuBackendInternals>;
  return b.device && b.tensorMap && b.bufferManager && b.recordAndSubmit ? (b as WebGpuBackendInternals) : null;
}

/** The GPU buffer behind a tensor, uploading its values first if they are still on the CPU. */
export function bufferOf(backend: WebGpuBackendInternals, t: tf.Tensor): GPUBuffer {
  backend.uploadToGPU(t.dataId);
  const buffer = backend.tensorMap.get(t.dataId).resource;
  if (!buffer) throw new StepCaptureError('a tensor has no GPU buffer after its upload');
  return buffer;
}

function flushTfjs(backend: WebGpuBackendInternals): void {
  if (backend.commandEncoder) {
    backend.endComputePassEncoder();
    backend.submitQueue();
  }
}

function liveBuffers(backend: WebGpuBackendInternals): Set<GPUBuffer> {
  return new Set([...backend.bufferManager.usedBuffers.values()].flat());
}

function bytesOf(values: ArrayLike<number>, dtype: tf.DataType): Uint8Array {
  const typed = dtype === 'int32' || dtype === 'bool' ? Int32Array.from(values) : Float32Array.from(values);
  return new Uint8Array(typed.buffer);
}

/** Runs `run` with tfjs's webgpu backend recording what it sends to the GPU. */
function record<T>(backend: WebGpuBackendInternals, run: () => T): { result: T; events: Recorded[] } {
  const events: Recorded[] = [];
  const original = {
    uploadToGPU: backend.uploadToGPU,
    recordAndSubmit: backend.recordAndSubmit,
    read: backend.read,
    readSync: backend.readSync,
    queue: backend.queue,
  };
  let uniform: Uint8Array | null = null;
  const realQueue = backend.queue;
  const queue = new Proxy(realQueue, {
    get(target, key) {
      if (key === 'writeBuffer') {
        return (buffer: GPUBuffer, offset: number, data: BufferSource, dataOffset = 0, size?: number) => {
          const view = ArrayBuffer.isView(data)
            ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
            : new Uint8Array(data);
          uniform = view.slice(dataOffset, size === undefined ? undefined : dataOffset + size);
          target.writeBuffer(buffer, offset, data, dataOffset, size);
        };
      }
      const value = Reflect.get(target, key) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  const refuse = (what: string) => () => {
    throw new StepCaptureError(`the step reads a tensor back (${what}) while it is captured`);
  };
  backend.queue = queue;
  backend.read = refuse('data()');
  backend.readSync = refuse('dataSync()');
  backend.uploadToGPU = (dataId: object) => {
    const data = backend.tensorMap.get(dataId);
    const pending = data.resource == null && data.values != null ? bytesOf(data.values, data.dtype) : null;
    original.uploadToGPU.call(backend, dataId);
    if (pending && data.resource) events.push({ kind: 'upload', buffer: data.resource, bytes: pending });
  };
  backend.recordAndSubmit = (program, output, inputs, uniforms) => {
    const buffers = [output, ...inputs].map((t) => {
      const b = backend.tensorMap.get(t.dataId).resource;
      if (!b) throw new StepCaptureError('a program input has no GPU buffer');
      return b;
    });
    uniform = null;
    original.recordAndSubmit.call(backend, program, output, inputs, uniforms);
    if (program.pipeline instanceof Promise) throw new StepCaptureError('parallel shader compilation is on');
    if (!uniform) throw new StepCaptureError('a program wrote no uniforms');
    events.push({
      kind: 'dispatch',
      pipeline: program.pipeline,
      buffers,
      uniform,
      workgroups: [...program.dispatch] as [number, number, number],
    });
  };
  try {
    const result = run();
    flushTfjs(backend);
    return { result, events };
  } finally {
    Object.assign(backend, original);
  }
}

/** Where a version of a buffer lives in the replay. */
type Home =
  | { kind: 'same' } // the tfjs buffer itself
  | { kind: 'twin' } // the graph's buffer standing in for this tfjs buffer (one per tfjs buffer)
  | { kind: 'stateCopy' } // the graph's copy of replaced state, refreshed at each replay's start
  | { kind: 'constant'; bytes: Uint8Array; inStream: boolean };

interface Version {
  buffer: GPUBuffer;
  home: Home | null;
  last: boolean;
  /** First version, read before the step wrote it. */
  preexisting: boolean;
}

type Op =
  | { kind: 'dispatch'; pipeline: GPUComputePipeline; bindGroup: GPUBindGroup; workgroups: [number, number, number] }
  | { kind: 'copy'; from: GPUBuffer; to: GPUBuffer; size: number };

export interface StepCapture<T> {
  /** Tensors whose values change every iteration; replays write new values into their buffers. */
  inputs: tf.Tensor[];
  /** The state the step replaces (packed optimiser groups), read before and after `run`. */
  state: () => tf.Tensor[];
  run: () => T;
  /** The one tensor replays read back (metrics); alive after `run`, owned by the caller. */
  readout: (result: T) => tf.Tensor;
  /** Other tensors the step leaves alive for the caller (replays write them too), e.g. gradients. */
  keep?: (result: T) => tf.Tensor[];
}

export class StepGraph {
  private readonly ops: Op[] = [];
  private readonly owned: GPUBuffer[] = [];
  private readonly stateCopies: { from: GPUBuffer; to: GPUBuffer; size: number }[] = [];
  private readonly inputBuffers: GPUBuffer[];
  private readonly readoutBuffer: GPUBuffer;
  private readonly staging: GPUBuffer;
  private stateIds: object[];
  /** Dispatches per replay. */
  readonly dispatches: number;
  /** Bytes of GPU memory the graph holds beside tfjs's. */
  readonly bytes: number;

  /** Runs `spec.run` once through tfjs (its result is returned) and builds the graph that replays it. */
  static capture<T>(spec: StepCapture<T>): { graph: StepGraph; result: T } {
    const backend = webGpuInternals();
    if (!backend) throw new StepCaptureError('step capture needs the webgpu backend');
    const inputBuffers = spec.inputs.map((t) => bufferOf(backend, t));
    const before = spec.state();
    const beforeBuffers = before.map((t) => bufferOf(backend, t));
    flushTfjs(backend);
    const { result, events } = record(backend, spec.run);
    let graph: StepGraph;
    try {
      const after = spec.state();
      const readout = spec.readout(result);
      const kept = (spec.keep?.(result) ?? []).map((t) => bufferOf(backend, t));
      graph = new StepGraph(backend, events, {
        kept,
        inputBuffers,
        state: before.map((t, i) => ({
          before: beforeBuffers[i],
          after: bufferOf(backend, after[i]),
          replaced: t.dataId !== after[i].dataId,
        })),
        stateIds: after.map((t) => t.dataId),
        readout: bufferOf(backend, readout),
        readoutBytes: readout.size * 4,
      });
    } catch (e) {
      // the step's result stands (it is that iteration's); the caller disposes it
      if (e instanceof StepCaptureError) (e as StepCaptureError & { result?: unknown }).result = result;
      throw e;
    }
    return { graph, result };
  }

  private constructor(
    private readonly backend: WebGpuBackendInternals,
    events: Recorded[],
    io: {
      kept: GPUBuffer[];
      inputBuffers: GPUBuffer[];
      state: { before: GPUBuffer; after: GPUBuffer; replaced: boolean }[];
      stateIds: object[];
      readout: GPUBuffer;
      readoutBytes: number;
    },
  ) {
    const { device } = backend;
    this.inputBuffers = io.inputBuffers;
    this.readoutBuffer = io.readout;
    this.stateIds = io.stateIds;
    const live = liveBuffers(backend);
    const stateBefore = new Map(io.state.filter((s) => s.replaced).map((s) => [s.before, s.after]));
    const declared = new Set([...io.state.map((s) => s.after), io.readout, ...io.kept]);

    // versions: every write (upload or program output) starts one; reads see the latest
    const latest = new Map<GPUBuffer, Version>();
    const versions: Version[] = [];
    const define = (buffer: GPUBuffer, home: Home | null): Version => {
      const v: Version = { buffer, home, last: true, preexisting: false };
      const prev = latest.get(buffer);
      if (prev) prev.last = false;
      latest.set(buffer, v);
      versions.push(v);
      return v;
    };
    const use = (buffer: GPUBuffer): Version => {
      const v = latest.get(buffer);
      if (v) return v;
      const first = define(buffer, null);
      first.preexisting = true;
      return first;
    };
    const plan = events.map((e) => {
      if (e.kind === 'upload')
        return { e, out: define(e.buffer, { kind: 'constant', bytes: e.bytes, inStream: false }) };
      const inputs = e.buffers.slice(1).map(use);
      return { e, out: define(e.buffers[0], null), inputs };
    });

    const undeclared = versions.filter(
      (v) => !v.preexisting && v.last && live.has(v.buffer) && !declared.has(v.buffer),
    );
    if (undeclared.length) {
      const sizes = undeclared.map((v) => v.buffer.size).join(', ');
      throw new StepCaptureError(
        `the step leaves ${undeclared.length} tensor(s) alive that are neither state nor its readout (bytes: ${sizes})`,
      );
    }
    for (const v of versions) {
      if (v.preexisting) {
        if (stateBefore.has(v.buffer)) v.home = { kind: 'stateCopy' };
        else if (!v.last || !live.has(v.buffer)) {
          throw new StepCaptureError('a tensor made before the step is disposed during it; keep it or make it inside');
        } else v.home = { kind: 'same' };
      } else if (v.last && live.has(v.buffer)) {
        v.home = v.home?.kind === 'constant' ? { ...v.home, inStream: true } : { kind: 'same' };
      } else if (!v.home) v.home = { kind: 'twin' };
    }

    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    let bytes = 0;
    const make = (size: number, extra = 0, label = 'rapm step graph') => {
      const b = device.createBuffer({ size, usage: usage | extra, label });
      this.owned.push(b);
      bytes += size;
      return b;
    };
    const twins = new Map<GPUBuffer, GPUBuffer>();
    const stateCopies = new Map<GPUBuffer, GPUBuffer>();
    const constants = new Map<Version, GPUBuffer>();
    const where = (v: Version): GPUBuffer => {
      const home = v.home!;
      if (home.kind === 'same') return v.buffer;
      if (home.kind === 'twin') {
        if (!twins.has(v.buffer)) twins.set(v.buffer, make(v.buffer.size));
        return twins.get(v.buffer)!;
      }
      if (home.kind === 'stateCopy') {
        if (!stateCopies.has(v.buffer)) {
          const copy = make(v.buffer.size);
          stateCopies.set(v.buffer, copy);
          this.stateCopies.push({ from: stateBefore.get(v.buffer)!, to: copy, size: v.buffer.size });
        }
        return stateCopies.get(v.buffer)!;
      }
      if (!constants.has(v)) {
        const c = make(Math.max(v.buffer.size, 4));
        device.queue.writeBuffer(c, 0, home.bytes);
        constants.set(v, c);
      }
      return constants.get(v)!;
    };

    // one uniform buffer for every program, each at its own aligned offset
    const align = device.limits.minUniformBufferOffsetAlignment;
    let uniformSize = 0;
    const offsets = plan.map(({ e }) => {
      if (e.kind !== 'dispatch') return 0;
      const at = uniformSize;
      uniformSize += Math.ceil(e.uniform.byteLength / align) * align;
      return at;
    });
    const uniforms = make(Math.max(uniformSize, 4), GPUBufferUsage.UNIFORM);
    plan.forEach(({ e }, i) => {
      if (e.kind === 'dispatch') device.queue.writeBuffer(uniforms, offsets[i], e.uniform);
    });

    plan.forEach((step, i) => {
      const { e, out } = step;
      if (e.kind === 'upload') {
        const home = out.home as Home & { kind: 'constant' };
        if (home.inStream) {
          const source = make(Math.max(out.buffer.size, 4));
          device.queue.writeBuffer(source, 0, home.bytes);
          this.ops.push({ kind: 'copy', from: source, to: out.buffer, size: home.bytes.byteLength });
        }
        return;
      }
      const buffers = [where(out), ...step.inputs!.map(where)];
      const entries: GPUBindGroupEntry[] = buffers.map((buffer, binding) => ({ binding, resource: { buffer } }));
      entries.push({
        binding: buffers.length,
        resource: { buffer: uniforms, offset: offsets[i], size: e.uniform.byteLength },
      });
      const bindGroup = device.createBindGroup({ layout: e.pipeline.getBindGroupLayout(0), entries });
      this.ops.push({ kind: 'dispatch', pipeline: e.pipeline, bindGroup, workgroups: e.workgroups });
    });
    this.dispatches = this.ops.filter((o) => o.kind === 'dispatch').length;
    this.staging = device.createBuffer({
      size: io.readoutBytes,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      label: 'rapm step graph readout',
    });
    this.owned.push(this.staging);
    this.bytes = bytes + io.readoutBytes;
  }

  /** Whether `state` are still the tensors the graph writes (a checkpoint load replaces them). */
  holds(state: tf.Tensor[]): boolean {
    return state.length === this.stateIds.length && state.every((t, i) => t.dataId === this.stateIds[i]);
  }

  /** One replay: new input values (in the order of the capture's inputs), then the readout's values. */
  async replay(values: ArrayBufferView[]): Promise<Float32Array> {
    this.submit(values);
    await this.staging.mapAsync(GPUMapMode.READ);
    try {
      return new Float32Array(this.staging.getMappedRange().slice(0));
    } finally {
      this.staging.unmap();
    }
  }

  /** Host milliseconds of the last `submit`: writing the inputs, encoding, submitting. */
  lastSubmitMs = 0;

  /** Encodes and submits one replay (host work only: nothing waits on the GPU). */
  submit(values: ArrayBufferView[]): void {
    const started = performance.now();
    const { backend } = this;
    const { device } = backend;
    if (values.length !== this.inputBuffers.length) {
      throw new Error(`StepGraph: ${this.inputBuffers.length} inputs captured, ${values.length} given`);
    }
    values.forEach((v, i) => {
      if (v.byteLength !== this.inputBuffers[i].size) {
        throw new Error(
          `StepGraph: input ${i} has ${v.byteLength} bytes, the captured one ${this.inputBuffers[i].size}`,
        );
      }
    });
    flushTfjs(backend);
    values.forEach((v, i) => device.queue.writeBuffer(this.inputBuffers[i], 0, v.buffer, v.byteOffset, v.byteLength));
    const encoder = device.createCommandEncoder();
    for (const c of this.stateCopies) encoder.copyBufferToBuffer(c.from, 0, c.to, 0, c.size);
    let pass = encoder.beginComputePass();
    let pipeline: GPUComputePipeline | null = null;
    for (const op of this.ops) {
      if (op.kind === 'copy') {
        pass.end();
        encoder.copyBufferToBuffer(op.from, 0, op.to, 0, op.size);
        pass = encoder.beginComputePass();
        pipeline = null;
        continue;
      }
      if (op.pipeline !== pipeline) {
        pass.setPipeline(op.pipeline);
        pipeline = op.pipeline;
      }
      pass.setBindGroup(0, op.bindGroup);
      pass.dispatchWorkgroups(op.workgroups[0], op.workgroups[1], op.workgroups[2]);
    }
    pass.end();
    encoder.copyBufferToBuffer(this.readoutBuffer, 0, this.staging, 0, this.staging.size);
    device.queue.submit([encoder.finish()]);
    this.lastSubmitMs = performance.now() - started;
  }

  dispose(): void {
    for (const b of this.owned) b.destroy();
    this.owned.length = 0;
    this.ops.length = 0;
  }
}
