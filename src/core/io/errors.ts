/**
 * Errors for files a user hands us (safetensors, model bundles, trajectory shards).
 * Every one carries a stable `code` so callers (CLI, UI) can branch without parsing messages,
 * and a message that says what was wrong and what to do.
 */
import type { ForeignFile, ForeignKind } from './file-magic';

export class FormatError extends Error {
  readonly code: string;
  /** Set when a header field broke a documented bound (src/core/io/limits.ts). */
  readonly violation: LimitViolation | undefined;
  constructor(code: string, message: string, options?: FormatErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.violation = options?.violation;
  }
}

/** Which header field was out of bounds: its path, its value as written, and the bound. */
export interface LimitViolation {
  field: string;
  value: string;
  limit: string;
}

export interface FormatErrorOptions {
  cause?: unknown;
  violation?: LimitViolation;
}

export type SafetensorsErrorCode =
  | 'truncated'
  | 'header-too-large'
  | 'header-not-json'
  | 'header-not-object'
  | 'bad-entry'
  | 'unknown-dtype'
  | 'bad-shape'
  | 'bad-offsets'
  | 'size-mismatch'
  | 'overlap'
  | 'unexplained-bytes'
  | 'bad-metadata'
  | 'int64-out-of-range'
  | 'foreign-file'
  | 'bad-input';

/** The bytes are not a well-formed safetensors file (or the tensors given to the writer cannot be written). */
export class SafetensorsError extends FormatError {
  declare readonly code: SafetensorsErrorCode;
  /** The tensor the problem is about, when there is one. */
  readonly tensor: string | undefined;
  constructor(code: SafetensorsErrorCode, message: string, tensor?: string, options?: FormatErrorOptions) {
    super(code, message, options);
    this.tensor = tensor;
  }
}

/** The file is another kind of file altogether (an image, a PyTorch checkpoint...), known by its first bytes. */
export class ForeignFileError extends SafetensorsError {
  readonly kind: ForeignKind;
  constructor(file: ForeignFile, options?: FormatErrorOptions) {
    super('foreign-file', `this is ${file.what}, not a safetensors file: ${file.advice}`, undefined, options);
    this.kind = file.kind;
  }
}

/**
 * The message of a format's "not safetensors" error: `prefix: <why>`, or the foreign file's own
 * sentence, which already says what the file is and what to do.
 */
export function notSafetensorsMessage(prefix: string, cause: SafetensorsError): string {
  return cause instanceof ForeignFileError ? cause.message : `${prefix}: ${cause.message}`;
}

export type BundleErrorCode =
  | 'not-safetensors'
  | 'wrong-format'
  | 'bad-config'
  | 'missing-tensor'
  | 'extra-tensor'
  | 'wrong-shape'
  | 'wrong-dtype'
  | 'non-finite'
  | 'too-large'
  | 'bad-input';

/** The file is safetensors but not a model bundle this version can load. */
export class BundleError extends FormatError {
  declare readonly code: BundleErrorCode;
  constructor(code: BundleErrorCode, message: string, options?: FormatErrorOptions) {
    super(code, message, options);
  }
}

export type ShardErrorCode =
  | 'not-safetensors'
  | 'wrong-format'
  | 'bad-metadata'
  | 'missing-tensor'
  | 'unexpected-tensor'
  | 'wrong-shape'
  | 'wrong-dtype'
  | 'non-finite'
  | 'label-out-of-range'
  | 'seed-out-of-range'
  | 'teacher-mismatch'
  | 'teacher-contradiction'
  | 'bad-input';

/** Base of every trajectory-shard problem. */
export class ShardError extends FormatError {
  declare readonly code: ShardErrorCode;
  constructor(code: ShardErrorCode, message: string, options?: FormatErrorOptions) {
    super(code, message, options);
  }
}

/** Not a safetensors file at all; `cause` holds the SafetensorsError. */
export class ShardNotSafetensorsError extends ShardError {
  constructor(cause: SafetensorsError) {
    super('not-safetensors', notSafetensorsMessage('not a readable safetensors file', cause), { cause });
  }
}

/** Metadata missing, of another format or version, or inconsistent with itself or the tensors. */
export class ShardMetadataError extends ShardError {
  constructor(code: 'wrong-format' | 'bad-metadata', message: string, options?: FormatErrorOptions) {
    super(code, message, options);
  }
}

/** A tensor is missing, unexpected, or has the wrong shape or dtype. */
export class ShardTensorError extends ShardError {
  readonly tensor: string;
  constructor(
    code: 'missing-tensor' | 'unexpected-tensor' | 'wrong-shape' | 'wrong-dtype',
    tensor: string,
    message: string,
  ) {
    super(code, message);
    this.tensor = tensor;
  }
}

/** A tensor holds a value it must not: NaN/Inf positions, labels outside the classes. */
export class ShardValueError extends ShardError {
  readonly tensor: string;
  /** Index of the first bad element, one entry per dimension. */
  readonly index: number[];
  constructor(
    code: 'non-finite' | 'label-out-of-range' | 'seed-out-of-range',
    tensor: string,
    index: number[],
    message: string,
  ) {
    super(code, message);
    this.tensor = tensor;
    this.index = index;
  }
}

/** The shard was generated by a different teacher than the one loaded. */
export class ShardTeacherMismatchError extends ShardError {
  constructor(
    readonly shardTeacher: { name: string; sha256: string },
    readonly loadedTeacher: { name: string; sha256: string },
  ) {
    super(
      'teacher-mismatch',
      `shard was generated by teacher '${shardTeacher.name}' (sha256 ${shardTeacher.sha256.slice(0, 12)}…) ` +
        `but the loaded teacher is '${loadedTeacher.name}' (sha256 ${loadedTeacher.sha256.slice(0, 12)}…): ` +
        `load teacher '${shardTeacher.name}', or regenerate the shards with the loaded teacher (npm run trajectories)`,
    );
  }
}

/**
 * The shard names the loaded teacher but its metadata contradicts the teacher's config (image
 * shape, prediction type, schedule, classes): its trajectories cannot be this teacher's.
 */
export class ShardTeacherContradictionError extends ShardError {
  constructor(
    /** The metadata field, e.g. 'shard.data.height'. */
    readonly field: string,
    readonly shardValue: string,
    readonly teacherValue: string,
  ) {
    super(
      'teacher-contradiction',
      `${field} is ${shardValue} but the loaded teacher has ${teacherValue}: this shard's trajectories cannot ` +
        `come from this teacher; regenerate it with the loaded teacher (npm run trajectories) or load its own teacher`,
    );
  }
}

export type DiffusersErrorCode =
  | 'missing-file'
  | 'not-json'
  | 'bad-config'
  | 'unsupported'
  | 'unknown-field'
  | 'not-safetensors'
  | 'missing-tensor'
  | 'extra-tensor'
  | 'wrong-shape'
  | 'wrong-dtype'
  | 'non-finite'
  | 'bad-input';

/**
 * A diffusers model folder this studio cannot run as given: `file` is the file the problem is in
 * (config.json, scheduler_config.json, diffusion_pytorch_model.safetensors, or an inputs file);
 * `field` the config field or tensor name, and `value` its value as written, where the problem
 * is one field's.
 */
export class DiffusersError extends FormatError {
  declare readonly code: DiffusersErrorCode;
  readonly file: string;
  readonly field: string | undefined;
  readonly value: string | undefined;
  constructor(
    code: DiffusersErrorCode,
    file: string,
    message: string,
    options?: FormatErrorOptions & { field?: string; value?: string },
  ) {
    super(code, `${file}: ${message}`, options);
    this.file = file;
    this.field = options?.field;
    this.value = options?.value;
  }
}

export type ModelInputsErrorCode =
  | 'not-safetensors'
  | 'missing-tensor'
  | 'unexpected-tensor'
  | 'wrong-shape'
  | 'wrong-dtype'
  | 'non-finite'
  | 'label-out-of-range';

/** An inputs file for a model's forward pass (`sample`, `timestep`, `class_labels`) that does not fit the model. */
export class ModelInputsError extends FormatError {
  declare readonly code: ModelInputsErrorCode;
  /** The tensor the problem is about, when there is one. */
  readonly tensor: string | undefined;
  constructor(code: ModelInputsErrorCode, message: string, tensor?: string, options?: FormatErrorOptions) {
    super(code, message, options);
    this.tensor = tensor;
  }
}
