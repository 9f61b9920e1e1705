/** How the page names a backend and its adapter. */
import type { AdapterSummary, BackendReport } from '../worker/protocol';

const NAMES = { webgpu: 'WebGPU', webgl: 'WebGL', wasm: 'WebAssembly' } as const;

export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export function adapterName(adapter: AdapterSummary): string {
  const name =
    [adapter.vendor, adapter.architecture, adapter.device, adapter.description].filter(Boolean).join(' · ') ||
    'an adapter that does not name itself';
  return adapter.software ? `${name} (software adapter: a CPU rasteriser, no GPU)` : name;
}

/** "WebAssembly (2 threads)", "WebGPU (software adapter)": the backend in use, as the subtitle names it. */
export function backendLabel(report: BackendReport): string {
  const wasm = report.wasm;
  if (report.backend === 'wasm' && wasm)
    return `${NAMES.wasm} (${wasm.threads === 1 ? '1 thread' : `${wasm.threads} threads`})`;
  return report.adapter?.software ? `${NAMES[report.backend]} (software adapter)` : NAMES[report.backend];
}
