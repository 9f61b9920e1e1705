import { BackendPanel } from './BackendPanel';
import { backendLabel } from './backend-text';
import { CurvesPanel } from './CurvesPanel';
import { DataPanel } from './DataPanel';
import { ExportPanel } from './ExportPanel';
import { FaultBanner } from './FaultBanner';
import { GeneratePanel } from './GeneratePanel';
import { PreviewPanel } from './PreviewPanel';
import { ResumeOffer } from './ResumeOffer';
import { RunBar } from './RunBar';
import { SamplesPanel } from './SamplesPanel';
import { shortRunName } from './format';
import { useStudio, type StudioState } from './store';
import { TeacherPanel } from './TeacherPanel';
import { TrainPanel } from './TrainPanel';
import { ValidationPanel } from './ValidationPanel';

/** The header's line: the training state while a run is live, else the worker's latest message. */
function headerStatus(s: StudioState): string {
  const run = s.run;
  if (!run || s.trainingState === 'idle') return s.status;
  const name = shortRunName(run.id);
  // No iteration count here: this is a live region, and the progress bar has the count.
  if (s.trainingState === 'paused') return `Paused: run ${name}.`;
  if (s.trainingState === 'stopping') return `Stopping run ${name}…`;
  return `Training run ${name}.`;
}

/** One page: set-up on the left (teacher, data, config), the run's outputs on the right. */
export function App() {
  const status = useStudio(headerStatus);
  const backend = useStudio((s) => s.backend);
  return (
    <main>
      <header>
        <div className="title">
          <h1>RAPM Studio</h1>
          <p className="subtitle">
            Diffusion distillation, trained in this tab
            {backend && <span data-testid="subtitle-backend"> on {backendLabel(backend)}</span>}.
          </p>
          <p role="status" aria-label="Worker status" className="status">
            {status}
          </p>
        </div>
        <RunBar />
      </header>
      <BackendPanel />
      <FaultBanner />
      <ResumeOffer />
      <div className="columns">
        <div className="column">
          <TeacherPanel />
          <DataPanel />
          <TrainPanel />
        </div>
        <div className="column">
          <CurvesPanel />
          <ValidationPanel />
          <SamplesPanel />
          <ExportPanel />
          <PreviewPanel />
          <GeneratePanel />
        </div>
      </div>
    </main>
  );
}
