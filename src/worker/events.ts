/**
 * Pushing events to the page. Buffers inside a payload (sample grids' pixels, file bytes) are
 * transferred, not copied: the sender must not use them afterwards.
 */
import type { EventMessage, EventName, StudioEvents } from './protocol';

declare const self: DedicatedWorkerGlobalScope;

export type Emit = <E extends EventName>(event: E, payload: StudioEvents[E]) => void;

/** The ArrayBuffers held by a message value, a few levels deep (GridImage.rgba, {bytes}, {image: {rgba}}). */
export function transferablesOf(value: unknown, depth = 3): Transferable[] {
  if (value instanceof ArrayBuffer) return [value];
  if (ArrayBuffer.isView(value)) return value.buffer instanceof ArrayBuffer ? [value.buffer] : [];
  if (depth === 0 || value === null || typeof value !== 'object' || Array.isArray(value)) return [];
  return [...new Set(Object.values(value).flatMap((v) => transferablesOf(v, depth - 1)))];
}

export const emit: Emit = (event, payload) => {
  const message: EventMessage<typeof event> = { type: 'event', event, payload };
  self.postMessage(message, transferablesOf(payload));
};
