/**
 * The page's side of the typed bridge: `call` posts a request and resolves with the matching
 * response; `on` subscribes to the events the worker pushes.
 */
import {
  WorkerCallError,
  type EventName,
  type Method,
  type RequestMessage,
  type StudioApi,
  type StudioEvents,
  type WorkerMessage,
} from '../worker/protocol';

export interface StudioClient {
  call<M extends Method>(method: M, args: StudioApi[M]['args']): Promise<StudioApi[M]['result']>;
  on<E extends EventName>(event: E, listener: (payload: StudioEvents[E]) => void): () => void;
  /** Called when the worker dies or throws outside any request: the page must say so, not hang. */
  onCrash(listener: (message: string) => void): () => void;
}

interface Pending {
  method: Method;
  resolve: (result: never) => void;
  reject: (err: Error) => void;
}

export function createStudioClient(worker: Worker): StudioClient {
  let nextId = 1;
  const pending = new Map<number, Pending>();
  const listeners = new Map<EventName, Set<(payload: never) => void>>();
  const crashListeners = new Set<(message: string) => void>();

  worker.addEventListener('message', (e: MessageEvent<WorkerMessage>) => {
    const msg = e.data;
    if (msg.type === 'event') {
      for (const listener of listeners.get(msg.event) ?? []) listener(msg.payload as never);
      return;
    }
    const call = pending.get(msg.id);
    if (!call) return;
    pending.delete(msg.id);
    if (msg.ok) call.resolve(msg.result as never);
    else call.reject(new WorkerCallError(call.method, msg.error.name, msg.error.message));
  });

  // A worker that fails to load or throws at top level would otherwise leave every call hanging.
  worker.addEventListener('error', (e: ErrorEvent) => {
    const message = e.message || 'the worker script failed to load';
    for (const [id, call] of pending) {
      call.reject(new WorkerCallError(call.method, 'WorkerError', message));
      pending.delete(id);
    }
    for (const listener of crashListeners) listener(message);
  });

  return {
    call(method, args) {
      const id = nextId++;
      const request: RequestMessage = { type: 'request', id, method, args };
      return new Promise((resolve, reject) => {
        pending.set(id, { method, resolve, reject });
        worker.postMessage(request);
      });
    },
    on(event, listener) {
      const set = listeners.get(event) ?? new Set();
      set.add(listener as (payload: never) => void);
      listeners.set(event, set);
      return () => set.delete(listener as (payload: never) => void);
    },
    onCrash(listener) {
      crashListeners.add(listener);
      return () => crashListeners.delete(listener);
    },
  };
}

export function startStudioWorker(): StudioClient {
  const worker = new Worker(new URL('../worker/studio.worker.ts', import.meta.url), { type: 'module', name: 'studio' });
  return createStudioClient(worker);
}
