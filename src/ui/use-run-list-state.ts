import { useShallow } from 'zustand/react/shallow';
import { useStudio } from './store';

/**
 * The page state that run-lists.ts reads (stored runs, runs other tabs train, the live run, the
 * dismissed offer), selected shallowly so a component re-renders only when one of them changes.
 */
export function useRunListState() {
  return useStudio(
    useShallow(({ runs, elsewhere, run, trainingState, dismissedResume }) => ({
      runs,
      elsewhere,
      run,
      trainingState,
      dismissedResume,
    })),
  );
}
