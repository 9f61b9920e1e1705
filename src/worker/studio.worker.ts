/**
 * The studio worker: owns tfjs and the GPU. It answers the requests of `StudioApi` one at a
 * time, in arrival order, so a forward pass never races backend selection.
 */
import { selectBackend } from './backend';
import { runForwardPreview } from './forward-preview';
import type {
  BackendReport,
  EventMessage,
  EventName,
  Method,
  RequestMessage,
  ResponseMessage,
  StudioApi,
  StudioEvents,
} from './protocol';

declare const self: DedicatedWorkerGlobalScope;

function emit<E extends EventName>(event: E, payload: StudioEvents[E]): void {
  const message: EventMessage<E> = { type: 'event', event, payload };
  self.postMessage(message);
}

/** tfjs has one global backend, so it is chosen once; a second `init` gets the first answer. */
let ready: Promise<BackendReport> | null = null;

const handlers: { [M in Method]: (args: StudioApi[M]['args']) => Promise<StudioApi[M]['result']> } = {
  init: ({ backends }) => {
    ready ??= selectBackend((message) => emit('status', { message }), backends);
    return ready;
  },
  forward: async (args) => {
    if (!ready) throw new Error('forward was called before init: call init first to choose a backend');
    await ready;
    emit('status', { message: 'Running the UNet forward pass…' });
    return runForwardPreview(args);
  },
};

/** Transfer large buffers instead of copying them. */
function transferablesOf(result: unknown): Transferable[] {
  if (result && typeof result === 'object' && 'rgba' in result && result.rgba instanceof Uint8ClampedArray) {
    return [result.rgba.buffer];
  }
  return [];
}

let queue: Promise<void> = Promise.resolve();

self.addEventListener('message', (e: MessageEvent<RequestMessage>) => {
  const { id, method, args } = e.data;
  queue = queue.then(async () => {
    let response: ResponseMessage;
    try {
      const handler = handlers[method] as (a: typeof args) => Promise<StudioApi[Method]['result']>;
      const result = await handler(args);
      response = { type: 'response', id, ok: true, result };
      self.postMessage(response, transferablesOf(result));
    } catch (err) {
      const error =
        err instanceof Error ? { name: err.name, message: err.message } : { name: 'Error', message: String(err) };
      response = { type: 'response', id, ok: false, error };
      self.postMessage(response);
    }
  });
});
