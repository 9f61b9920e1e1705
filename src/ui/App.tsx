import { CurvesPanel } from './CurvesPanel';
import { DataPanel } from './DataPanel';
import { ExportPanel } from './ExportPanel';
import { FaultBanner } from './FaultBanner';
import { GeneratePanel } from './GeneratePanel';
import { PreviewPanel } from './PreviewPanel';
import { ResumeOffer } from './ResumeOffer';
import { SamplesPanel } from './SamplesPanel';
import { useStudio } from './store';
import { TeacherPanel } from './TeacherPanel';
import { TrainPanel } from './TrainPanel';

/** One page: set-up on the left (teacher, data, config), the run's outputs on the right. */
export function App() {
  const status = useStudio((s) => s.status);
  return (
    <main>
      <header>
        <h1>RAPM Studio</h1>
        <p className="subtitle">Diffusion distillation, trained in this tab on WebGPU.</p>
        <p role="status" aria-label="Worker status" className="status">
          {status}
        </p>
      </header>
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
          <SamplesPanel />
          <ExportPanel />
          <PreviewPanel />
          <GeneratePanel />
        </div>
      </div>
    </main>
  );
}
