/**
 * The page and the CLI train the same settings identically: each preset, and each form edit,
 * through the page's real path (presets -> store -> the Start training request -> the worker's
 * check, runs.ts) and through `npm run distill`'s argv parser (parseArgv with the table's flags
 * -> settingsFromFlags) resolve to the same config and run settings.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { checkTrainingSettings } from '../core/rapm/config-check';
import { PRESETS, START_PRESET } from '../ui/presets';
import { DEFAULT_TRAIN_SETTINGS, useStudio } from '../ui/store';
import { choosePreset, setConfigSetting, setRunSetting, trainingRequest } from '../ui/train-form';
import { UsageError, parseArgv } from './args';
import { SETTING_FLAGS, settingsArgv, settingsFromFlags } from './setting-flags';

const fail = (m: string) => new Error(m);

/** What the worker trains when the page's Start training is clicked now. */
function page() {
  return checkTrainingSettings(trainingRequest(useStudio.getState()), fail);
}

/** What `npm run distill -- ...argv` trains. */
function cli(argv: string[]) {
  return settingsFromFlags(parseArgv(argv, SETTING_FLAGS));
}

/** The flags of the form's starting preset (its run length), before the flags of an edit. */
const start = (...argv: string[]) => [...settingsArgv({ config: START_PRESET.config, run: START_PRESET.run }), ...argv];

/** Same config and run settings; sample grids are the page's alone (the CLI has no flag for them). */
function expectSame(a: ReturnType<typeof page>, b: ReturnType<typeof page>) {
  expect(b.config).toEqual(a.config);
  expect({ ...b.run, sampleEvery: 0 }).toEqual({ ...a.run, sampleEvery: 0 });
}

beforeEach(() => {
  useStudio.setState({ config: structuredClone(START_PRESET.config), trainSettings: DEFAULT_TRAIN_SETTINGS });
});

describe('page and CLI resolve the same settings', () => {
  it('for every preset', () => {
    for (const p of PRESETS) {
      choosePreset(p);
      const argv = settingsArgv({ config: p.config, run: p.run });
      expectSame(page(), cli(argv));
    }
    // the paper preset's alpha follows its rank: no flag needed for it
    const paper = PRESETS.find((p) => p.id === 'paper')!;
    const argv = settingsArgv({ config: paper.config, run: paper.run });
    expect(argv.join(' ')).toContain('--rank 1');
    expect(argv).not.toContain('--lora-alpha');
  });

  it('a new LoRA rank moves alpha with it in both (alpha / rank stays 1)', () => {
    setConfigSetting('student.rank', 4);
    const fromPage = page();
    expect(fromPage.config.student).toMatchObject({ rank: 4, alpha: 4 });
    expectSame(fromPage, cli(start('--rank', '4')));
    setConfigSetting('student.alpha', 2);
    expectSame(page(), cli(start('--rank', '4', '--lora-alpha', '2')));
  });

  it('full fine-tuning takes its own default learning rate in both', () => {
    setConfigSetting('student.mode', 'full');
    const fromPage = page();
    expect(fromPage.config.studentLr).toBe(5e-5);
    expectSame(fromPage, cli(start('--full')));
  });

  it('a discriminator weighted 0 is switched off in both, unless set explicitly', () => {
    setConfigSetting('lambdaAbs', 0);
    expect(page().config.discriminators).toBe('relative');
    expectSame(page(), cli(start('--lambda-abs', '0')));
    setConfigSetting('discriminators', 'both');
    expectSame(page(), cli(start('--lambda-abs', '0', '--discriminators', 'both')));
  });

  it('the run settings', () => {
    setRunSetting('iterations', 77);
    setRunSetting('checkpointSeconds', 0);
    setRunSetting('validationCount', 0);
    const argv = ['--iterations', '77', '--checkpoint-seconds', '0', '--validation', '0'];
    expectSame(page(), cli(start(...argv)));
  });
});

describe('the CLI refuses bad settings naming the flag', () => {
  it.each([
    [['--rank', '0'], /--rank must be an integer in 1\.\.1024/],
    [['--rank', 'many'], /--rank must be a number, got 'many'/],
    [['--distance', 'l1'], /--distance must be one of mse, pseudo-huber/],
    [['--student-betas', '0.9'], /--student-betas must be \[beta1, beta2\]/],
    [['--ema', '1'], /--ema must satisfy 0 <= --ema < 1/],
    [['--no-such-flag'], /Unknown option '--no-such-flag'/],
  ])('%j', (argv, message) => {
    expect(() => cli(argv)).toThrow(UsageError);
    expect(() => cli(argv)).toThrow(message);
  });
});
