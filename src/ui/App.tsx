import { BackendPanel } from './BackendPanel';
import { ForwardPanel } from './ForwardPanel';
import { useStudio } from './store';

export function App() {
  const status = useStudio((s) => s.status);
  const error = useStudio((s) => s.error);
  return (
    <main>
      <header>
        <h1>RAPM Studio</h1>
        <p className="subtitle">Diffusion distillation, trained in this tab on WebGPU.</p>
      </header>
      <p role="status" aria-label="Worker status" className="status">
        {status}
      </p>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <BackendPanel />
      <ForwardPanel />
    </main>
  );
}
