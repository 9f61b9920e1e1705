/**
 * The one typed bridge between the page and the studio worker. The page sends requests and
 * receives responses matched by id; the worker may also push events at any time. Only plain
 * structured-cloneable data crosses it: the UI never sees a tensor.
 */

/** In order of preference: the fastest first. */
export const BACKENDS = ['webgpu', 'webgl', 'wasm'] as const;
export type BackendName = (typeof BACKENDS)[number];

/** What the browser says about the GPU behind the backend; empty strings where it declines to say. */
export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
}

/** One backend tried, in order of preference; `reason` says why it was not used. */
export interface BackendAttempt {
  backend: BackendName;
  ok: boolean;
  reason?: string;
}

export interface BackendReport {
  backend: BackendName;
  adapter: AdapterSummary | null;
  attempts: BackendAttempt[];
}

export interface InitRequest {
  /** Backends to try, in this order; all of BACKENDS when omitted. */
  backends?: BackendName[];
}

export interface ForwardRequest {
  seed: number;
}

/** A model output rendered as an 8-bit RGBA image, plus how long the forward pass took. */
export interface ForwardResult {
  width: number;
  height: number;
  rgba: Uint8ClampedArray;
  /** Wall time of the forward pass including reading the result back from the device. */
  ms: number;
  /** Output range before it was stretched to [0, 255] for display. */
  min: number;
  max: number;
}

/** Each method's argument and result: the worker implements it, the client calls it. */
export interface StudioApi {
  init: { args: InitRequest; result: BackendReport };
  forward: { args: ForwardRequest; result: ForwardResult };
}

/** Events the worker pushes without being asked. */
export interface StudioEvents {
  status: { message: string };
}

export type Method = keyof StudioApi;
export type EventName = keyof StudioEvents;

export interface RequestMessage<M extends Method = Method> {
  type: 'request';
  id: number;
  method: M;
  args: StudioApi[M]['args'];
}

export interface SerializedError {
  name: string;
  message: string;
}

export type ResponseMessage<M extends Method = Method> =
  | { type: 'response'; id: number; ok: true; result: StudioApi[M]['result'] }
  | { type: 'response'; id: number; ok: false; error: SerializedError };

export interface EventMessage<E extends EventName = EventName> {
  type: 'event';
  event: E;
  payload: StudioEvents[E];
}

export type WorkerMessage = ResponseMessage | EventMessage;

/** Rebuilt on the page from a SerializedError so callers can tell worker failures apart. */
export class WorkerCallError extends Error {
  constructor(
    readonly method: Method,
    readonly remoteName: string,
    message: string,
  ) {
    super(`${method} failed in the studio worker: ${remoteName}: ${message}`);
    this.name = 'WorkerCallError';
  }
}
