/**
 * The loaded teacher: its parameters on the device, its config and its identity (the hash that
 * shards and checkpoints must match). One teacher at a time; loading another disposes the first.
 * Either family loads through the core's one teacher loader (core/teacher-load.ts, as the CLI's
 * --model does): this studio's bundle, or a diffusers UNet2DModel folder's three files. Both are
 * checked, and checked to fit the backend, before the current teacher is touched.
 */
import * as tf from '@tensorflow/tfjs';
import { readDiffusersConfigs } from '../core/diffusers/folder';
import { teacherIdentity } from '../core/io/bundle';
import { backendLimits, type DeviceLimits } from '../core/model-fit';
import type { TeacherModel } from '../core/rapm/teacher-model';
import { bundleTeacher, diffusersTeacher } from '../core/teacher-load';
import { paramCount } from '../core/nn/unet';
import { getTeacher, putTeacher, type StoredTeacher } from './db';
import { locateDiffusersFiles } from '../core/diffusers/layout';
import type { PickedFolderFile, TeacherInfo } from './protocol';
import { BuiltinMissingError, TeacherRequiredError } from './studio-errors';

export interface LoadedTeacher extends TeacherModel {
  info: TeacherInfo;
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

/** A diffusers UNet2DModel folder's three files. */
export interface DiffusersFolderFiles {
  config: ArrayBuffer;
  scheduler: ArrayBuffer;
  weights: ArrayBuffer;
}

/**
 * The diffusers folder among picked files: the three files located by their paths (a missing one
 * is a DiffusersError naming it) and read; nothing else of a pipeline is read.
 */
export async function pickedDiffusersFolder(
  picked: readonly PickedFolderFile[],
): Promise<{ kind: 'diffusers'; name: string } & DiffusersFolderFiles> {
  const at = new Map(picked.map((p) => [p.path.replace(/^\/+/, ''), p.file]));
  const layout = locateDiffusersFiles([...at.keys()]);
  const [config, scheduler, weights] = await Promise.all(
    [layout.config, layout.scheduler, layout.weights].map((path) => at.get(path)!.arrayBuffer()),
  );
  return { kind: 'diffusers', name: layout.name ?? 'diffusers-unet2d', config, scheduler, weights };
}

/** A teacher as its files: a bundle, or a diffusers folder's config.json, scheduler_config.json and weights. */
export type TeacherFiles =
  | { kind: 'bundle'; fileName: string; bytes: ArrayBuffer }
  | ({ kind: 'diffusers'; name: string } & DiffusersFolderFiles);

const u8 = (b: ArrayBuffer) => new Uint8Array(b);

/** What the panel shows of a diffusers folder beyond its config: the scheduler it named. */
function diffusersExtras(files: DiffusersFolderFiles): Pick<TeacherInfo, 'scheduler'> {
  const { scheduler } = readDiffusersConfigs({ config: u8(files.config), scheduler: u8(files.scheduler) });
  return {
    scheduler: { className: scheduler.className, spacing: scheduler.spacing, stepsOffset: scheduler.stepsOffset },
  };
}

/**
 * The teacher of `files`: read and checked, checked to fit `limits` before any weight is decoded,
 * hashed, with what the panel shows. Fresh tensors, the caller's; a bad file throws and allocates nothing.
 */
export async function teacherOfFiles(
  files: TeacherFiles,
  builtin: boolean,
  limits: DeviceLimits = backendLimits(),
): Promise<LoadedTeacher> {
  // before any weight: a bad config throws here with nothing allocated
  const extras = files.kind === 'diffusers' ? diffusersExtras(files) : {};
  const model =
    files.kind === 'bundle'
      ? await bundleTeacher(u8(files.bytes), limits)
      : await diffusersTeacher(
          { config: u8(files.config), scheduler: u8(files.scheduler), weights: u8(files.weights) },
          files.name,
          limits,
        );
  const bytes =
    files.kind === 'bundle'
      ? files.bytes.byteLength
      : files.config.byteLength + files.scheduler.byteLength + files.weights.byteLength;
  return {
    ...model,
    info: {
      name: model.config.name || (files.kind === 'bundle' ? files.fileName : files.name),
      sha256: model.identity.sha256,
      bytes,
      params: paramCount(model.params),
      config: model.config,
      builtin,
      ...extras,
    },
  };
}

async function install(files: TeacherFiles, builtin: boolean): Promise<LoadedTeacher> {
  // Validate, check the fit and hash before touching the current teacher: a bad file leaves it loaded.
  const loaded = await teacherOfFiles(files, builtin);
  if (current) tf.dispose(Object.values(current.params));
  current = loaded;
  return current;
}

/** A stored teacher record as files to load. */
export function storedTeacherFiles(stored: StoredTeacher): TeacherFiles {
  // Records stored before diffusers folders could be loaded have no `diffusers`: they are bundles.
  return stored.diffusers
    ? { kind: 'diffusers', name: stored.fileName, ...stored.diffusers, weights: stored.bytes }
    : { kind: 'bundle', fileName: stored.fileName, bytes: stored.bytes };
}

export async function loadBuiltinTeacher(): Promise<LoadedTeacher> {
  const bytes = await fetchPublic('teacher.safetensors', 'built-in teacher');
  return install({ kind: 'bundle', fileName: 'teacher.safetensors', bytes }, true);
}

/** Loads a teacher (a bundle or a diffusers folder) and remembers it in IndexedDB, so a reload can resume runs trained from it. */
export async function loadTeacherFiles(files: TeacherFiles): Promise<LoadedTeacher> {
  const loaded = await install(files, false);
  const { identity } = loaded;
  await putTeacher(
    files.kind === 'bundle'
      ? { fileName: files.fileName, identity, bytes: files.bytes }
      : {
          fileName: files.name,
          identity,
          bytes: files.weights,
          diffusers: { config: files.config, scheduler: files.scheduler },
        },
  );
  return loaded;
}

/**
 * Makes `identity` the loaded teacher, from the stored file teacher or the built-in one; returns
 * null when neither is it (the user must load it), the teacher when it was already loaded.
 */
export async function ensureTeacher(identity: TeacherModel['identity']): Promise<LoadedTeacher | null> {
  if (current?.identity.sha256 === identity.sha256) return current;
  const stored = await getTeacher();
  if (stored?.identity.sha256 === identity.sha256) return install(storedTeacherFiles(stored), false);
  try {
    const builtin = await fetchPublic('teacher.safetensors', 'built-in teacher');
    const files: TeacherFiles = { kind: 'bundle', fileName: 'teacher.safetensors', bytes: builtin };
    if ((await teacherIdentity(builtin)).sha256 === identity.sha256) return install(files, true);
  } catch (e) {
    if (!(e instanceof BuiltinMissingError)) throw e;
  }
  return null;
}
