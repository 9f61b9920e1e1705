/** Tiny `--name value` / `--flag` parser over node:util's parseArgs, with typed numeric options. */
import { parseArgs } from 'node:util';

export type OptionSpec = Record<string, { type: 'string' | 'boolean'; default?: string | boolean; help: string }>;

export function parseCli<T extends OptionSpec>(usage: string, spec: T): Record<keyof T, string | boolean> {
  const options = Object.fromEntries(
    Object.entries(spec).map(([k, v]) => [
      k,
      { type: v.type, ...(v.default !== undefined ? { default: v.default } : {}) },
    ]),
  );
  try {
    const { values } = parseArgs({ options: { ...options, help: { type: 'boolean' } }, allowPositionals: false });
    if (values.help) {
      console.log(helpText(usage, spec));
      process.exit(0);
    }
    return values as Record<keyof T, string | boolean>;
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${helpText(usage, spec)}`);
    process.exit(2);
  }
}

function helpText(usage: string, spec: OptionSpec): string {
  const lines = Object.entries(spec).map(
    ([k, v]) =>
      `  --${k}${v.type === 'string' ? ' VALUE' : ''}  ${v.help}${v.default !== undefined ? ` (default ${v.default})` : ''}`,
  );
  return `${usage}\n\nOptions:\n${lines.join('\n')}`;
}

/** A wrong flag or combination of flags: runCli prints its message alone and exits with code 1. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export function num(value: string | boolean, name: string): number {
  const n = Number(value);
  if (typeof value !== 'string' || !Number.isFinite(n)) {
    console.error(`--${name} must be a number, got '${value}'`);
    process.exit(2);
  }
  return n;
}

/**
 * Runs a CLI's main: errors a user can cause (the given types, or a missing file) end the run
 * with their message alone and exit code 1; anything else keeps its stack.
 */
export async function runCli(
  main: () => Promise<void>,
  userErrors: (abstract new (...args: never[]) => Error)[],
): Promise<void> {
  try {
    await main();
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    if (!missing && !(e instanceof UsageError) && !userErrors.some((type) => e instanceof type)) throw e;
    console.error((e as Error).message);
    process.exit(1);
  }
}
