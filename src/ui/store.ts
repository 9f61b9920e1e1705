/** Everything the page renders, in one zustand store; written only by studio-actions.ts. */
import { create } from 'zustand';
import type { BackendReport, ForwardResult } from '../worker/protocol';

export type Phase = 'starting' | 'ready' | 'running' | 'failed';

export interface StudioState {
  phase: Phase;
  /** Latest progress line from the worker. */
  status: string;
  backend: BackendReport | null;
  forward: ForwardResult | null;
  error: string | null;
  seed: number;
  setSeed: (seed: number) => void;
}

export const useStudio = create<StudioState>()((set) => ({
  phase: 'starting',
  status: 'Starting the worker…',
  backend: null,
  forward: null,
  error: null,
  seed: 0,
  setSeed: (seed) => set({ seed }),
}));
