/**
 * The loaded teacher: its parameters on the device, its config and its identity (the hash that
 * shards and checkpoints must match). One teacher at a time; loading another disposes the first.
 */
import * as tf from '@tensorflow/tfjs';
import { loadModelBundle, teacherIdentity } from '../core/io/bundle';
import type { TeacherIdentity } from '../core/io/shards';
import type { ModelConfig } from '../core/model-config';
import { paramCount, type Params } from '../core/nn/unet';
import { getTeacher, putTeacher } from './db';
import type { TeacherInfo } from './protocol';
import { BuiltinMissingError, TeacherRequiredError } from './studio-errors';

export interface LoadedTeacher {
  info: TeacherInfo;
  identity: TeacherIdentity;
  config: ModelConfig;
  params: Params;
}

let current: LoadedTeacher | null = null;

export function loadedTeacher(): LoadedTeacher | null {
  return current;
}

export function requireTeacher(action: string): LoadedTeacher {
  if (!current) throw new TeacherRequiredError(`Load a teacher before you ${action}.`);
  return current;
}

/** Fetches a file shipped in public/; a 404 or Vite's HTML fallback page both mean "not shipped". */
export async function fetchPublic(path: string, what: string): Promise<ArrayBuffer> {
  const url = `${import.meta.env.BASE_URL}${path}`;
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new BuiltinMissingError(`Could not fetch ${what} (${url}): ${(e as Error).message}. Load one from a file.`);
  }
  if (!res.ok || (res.headers.get('content-type') ?? '').includes('text/html')) {
    throw new BuiltinMissingError(
      `No ${what} is shipped with this build yet (${url} ${res.ok ? 'is not a file' : `answered ${res.status}`}). ` +
        `Load one from a file instead.`,
    );
  }
  return res.arrayBuffer();
}

async function install(bytes: ArrayBuffer, fileName: string, builtin: boolean): Promise<LoadedTeacher> {
  // Validate and hash before touching the current teacher: a bad file leaves it loaded.
  const identity = await teacherIdentity(bytes);
  const { config, params } = loadModelBundle(bytes);
  if (current) tf.dispose(Object.values(current.params));
  current = {
    identity,
    config,
    params,
    info: {
      name: config.name || fileName,
      sha256: identity.sha256,
      bytes: bytes.byteLength,
      params: paramCount(params),
      config,
      builtin,
    },
  };
  return current;
}

export async function loadBuiltinTeacher(): Promise<LoadedTeacher> {
  return install(await fetchPublic('teacher.safetensors', 'built-in teacher'), 'teacher.safetensors', true);
}

/** Loads a teacher file and remembers it in IndexedDB, so a reload can resume runs trained from it. */
export async function loadTeacherFile(fileName: string, bytes: ArrayBuffer): Promise<LoadedTeacher> {
  const loaded = await install(bytes, fileName, false);
  await putTeacher({ fileName, identity: loaded.identity, bytes });
  return loaded;
}

/**
 * Makes `identity` the loaded teacher, from the stored file teacher or the built-in one; returns
 * null when neither is it (the user must load it), the teacher when it was already loaded.
 */
export async function ensureTeacher(identity: TeacherIdentity): Promise<LoadedTeacher | null> {
  if (current?.identity.sha256 === identity.sha256) return current;
  const stored = await getTeacher();
  if (stored?.identity.sha256 === identity.sha256) return install(stored.bytes, stored.fileName, false);
  try {
    const builtin = await fetchPublic('teacher.safetensors', 'built-in teacher');
    if ((await teacherIdentity(builtin)).sha256 === identity.sha256)
      return install(builtin, 'teacher.safetensors', true);
  } catch (e) {
    if (!(e instanceof BuiltinMissingError)) throw e;
  }
  return null;
}
