/** Tiny `--name value` / `--flag` parser over node:util's parseArgs, with typed numeric options. */
import { parseArgs } from 'node:util';

export type OptionSpec = Record<
  string,
  {
    type: 'string' | 'boolean';
    default?: string | boolean;
    help: string;
    /** --help's default where the parser has none. */ shownDefault?: string;
  }
>;

/** The flags in `argv` (unknown ones and positionals refused with a UsageError); `--help` is a flag too. */
export function parseArgv<T extends OptionSpec>(
  argv: string[],
  spec: T,
): Partial<Record<keyof T | 'help', string | boolean>> {
  const options = Object.fromEntries(
    Object.entries(spec).map(([k, v]) => [
      k,
      { type: v.type, ...(v.default !== undefined ? { default: v.default } : {}) },
    ]),
  );
  try {
    const { values } = parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean' } },
      allowPositionals: false,
    });
    return values as Partial<Record<keyof T | 'help', string | boolean>>;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export function parseCli<T extends OptionSpec>(usage: string, spec: T): Record<keyof T, string | boolean> {
  try {
    const values = parseArgv(process.argv.slice(2), spec);
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
  const lines = Object.entries(spec).map(([k, v]) => {
    const shown = v.default !== undefined ? String(v.default) : v.shownDefault;
    return `  --${k}${v.type === 'string' ? ' VALUE' : ''}  ${v.help}${shown !== undefined ? ` (default ${shown})` : ''}`;
  });
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
