/**
 * Noise schedules with the semantics of diffusers' schedulers (1000 training steps):
 * betas -> alphas = 1 - betas -> alphaBar[t] = prod_{i<=t} alphas[i].
 * Computed in float64 on the CPU: the schedule is a table, not a tensor op.
 */
export type ScheduleKind = 'linear' | 'scaled_linear' | 'squaredcos_cap_v2';

export interface ScheduleConfig {
  kind: ScheduleKind;
  betaStart: number;
  betaEnd: number;
  trainSteps: number;
}

export const SD_SCHEDULE: ScheduleConfig = {
  kind: 'scaled_linear',
  betaStart: 0.00085,
  betaEnd: 0.012,
  trainSteps: 1000,
};

export function betas(cfg: ScheduleConfig): Float64Array {
  const n = cfg.trainSteps;
  const out = new Float64Array(n);
  const lerp = (a: number, b: number, i: number) => (n === 1 ? a : a + ((b - a) * i) / (n - 1));
  switch (cfg.kind) {
    case 'linear':
      for (let i = 0; i < n; i++) out[i] = lerp(cfg.betaStart, cfg.betaEnd, i);
      break;
    case 'scaled_linear':
      // diffusers: torch.linspace(beta_start**0.5, beta_end**0.5, n) ** 2
      for (let i = 0; i < n; i++) out[i] = lerp(Math.sqrt(cfg.betaStart), Math.sqrt(cfg.betaEnd), i) ** 2;
      break;
    case 'squaredcos_cap_v2': {
      // diffusers betas_for_alpha_bar(cosine): beta_i = min(1 - abar(t2)/abar(t1), 0.999)
      const f = (t: number) => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
      for (let i = 0; i < n; i++) out[i] = Math.min(1 - f((i + 1) / n) / f(i / n), 0.999);
      break;
    }
    default:
      throw new Error(`unknown noise schedule '${(cfg as { kind: string }).kind}'`);
  }
  return out;
}

/** alphaBar[t] for t = 0 .. trainSteps-1. */
export function alphasCumprod(cfg: ScheduleConfig): Float64Array {
  const b = betas(cfg);
  const out = new Float64Array(b.length);
  let acc = 1;
  for (let i = 0; i < b.length; i++) {
    acc *= 1 - b[i];
    out[i] = acc;
  }
  return out;
}
