/** The page's actions: each calls the worker and writes the outcome to the store. */
import { BACKENDS, type BackendName } from '../worker/protocol';
import { useStudio } from './store';
import { startStudioWorker, type StudioClient } from './worker-client';

let client: StudioClient | null = null;

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export async function runForward(): Promise<void> {
  if (!client) return;
  useStudio.setState({ phase: 'running', error: null });
  try {
    const forward = await client.call('forward', { seed: useStudio.getState().seed });
    useStudio.setState({ phase: 'ready', forward, status: `Forward pass done in ${forward.ms.toFixed(0)} ms` });
  } catch (err) {
    useStudio.setState({ phase: 'failed', error: errorText(err) });
  }
}

/** `?backend=wasm` (or webgl, webgpu) pins one backend, to compare them or to test a fallback. */
function backendsFromUrl(): BackendName[] | undefined {
  const wanted = new URLSearchParams(location.search).get('backend');
  const pinned = BACKENDS.find((b) => b === wanted);
  return pinned ? [pinned] : undefined;
}

/** Starts the worker, picks a backend, then runs a first forward pass so the page shows something real. */
export async function startStudio(): Promise<void> {
  if (client) return;
  client = startStudioWorker();
  client.on('status', ({ message }) => useStudio.setState({ status: message }));
  try {
    const backend = await client.call('init', { backends: backendsFromUrl() });
    useStudio.setState({ backend, phase: 'ready' });
  } catch (err) {
    useStudio.setState({ phase: 'failed', error: errorText(err) });
    return;
  }
  await runForward();
}
