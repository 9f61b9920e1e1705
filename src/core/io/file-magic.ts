/**
 * What a file is when it is not the safetensors file the studio asked for: the common files a
 * user drops by mistake (an image, a PyTorch checkpoint, a pickle, a zip, a gzip, JSON), told
 * apart by their first bytes, each with a sentence on what to do instead.
 *
 * Only used to explain a file the safetensors reader has already refused: a safetensors file
 * starts with its header length as a little-endian u64, so its first byte can be anything (a
 * 123-byte header starts with '{'), and no magic number ever refuses a readable file.
 */

export type ForeignKind =
  'png' | 'jpeg' | 'gif' | 'pytorch-zip' | 'pytorch-legacy' | 'zip' | 'pickle' | 'gzip' | 'numpy' | 'json';

export interface ForeignFile {
  kind: ForeignKind;
  /** "a PNG image", for "this is a PNG image, not a safetensors file". */
  what: string;
  /** What to do instead, one sentence. */
  advice: string;
}

/** The Python that turns a PyTorch state dict into a safetensors file. */
export const TORCH_TO_SAFETENSORS =
  "import torch; from safetensors.torch import save_file; sd = torch.load('model.pt', map_location='cpu'); " +
  "save_file({k: v.contiguous() for k, v in sd.items()}, 'model.safetensors')";

const PICK_SAFETENSORS =
  'pick the .safetensors file itself (a shard from npm run trajectories or the Generate panel, ' +
  'a model bundle from npm run teacher:train or an export)';

const FROM_TORCH =
  `save its tensors as safetensors in Python (${TORCH_TO_SAFETENSORS}; a training checkpoint keeps them under a ` +
  `key such as sd['state_dict']); the studio also needs its own metadata, see docs/model-format.md and docs/shard-format.md`;

/** torch.save's legacy (pre-1.6, non-zip) format starts with this pickled magic number. */
const TORCH_LEGACY_MAGIC = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

/** How far into a zip to look for PyTorch's `data.pkl` entry (it is the archive's first). */
const ZIP_SCAN_BYTES = 4096;

function startsWith(bytes: Uint8Array, magic: readonly number[]): boolean {
  return bytes.byteLength >= magic.length && magic.every((b, i) => bytes[i] === b);
}

function ascii(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes);
}

/** JSON text: optional BOM and whitespace, then an object or array, and no control bytes nearby. */
function looksLikeJson(bytes: Uint8Array): boolean {
  let i = startsWith(bytes, [0xef, 0xbb, 0xbf]) ? 3 : 0;
  while (i < bytes.byteLength && [0x20, 0x09, 0x0a, 0x0d].includes(bytes[i])) i++;
  if (bytes[i] !== 0x7b && bytes[i] !== 0x5b) return false;
  // A safetensors length field that happens to start with '{' is followed by zero bytes.
  const head = bytes.subarray(i, i + 64);
  return head.every((b) => b >= 0x20 || b === 0x09 || b === 0x0a || b === 0x0d);
}

/** The file's kind by its first bytes, or null when it is none of the known ones. */
export function identifyFile(input: Uint8Array | ArrayBuffer): ForeignFile | null {
  const bytes = input instanceof ArrayBuffer ? new Uint8Array(input) : input;
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
    return { kind: 'png', what: 'a PNG image', advice: PICK_SAFETENSORS };
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return { kind: 'jpeg', what: 'a JPEG image', advice: PICK_SAFETENSORS };
  if (ascii(bytes.subarray(0, 6)) === 'GIF87a' || ascii(bytes.subarray(0, 6)) === 'GIF89a')
    return { kind: 'gif', what: 'a GIF image', advice: PICK_SAFETENSORS };
  if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04]) || startsWith(bytes, [0x50, 0x4b, 0x05, 0x06])) {
    if (ascii(bytes.subarray(0, ZIP_SCAN_BYTES)).includes('data.pkl')) {
      return {
        kind: 'pytorch-zip',
        what: "a PyTorch checkpoint (torch.save's zip format, as in .pt, .pth and pytorch_model.bin)",
        advice: FROM_TORCH,
      };
    }
    return {
      kind: 'zip',
      what: 'a zip archive',
      advice: `unzip it and pick the .safetensors files inside (a PyTorch .pt or .bin is also a zip: ${FROM_TORCH})`,
    };
  }
  if (startsWith(bytes, TORCH_LEGACY_MAGIC))
    return { kind: 'pytorch-legacy', what: "a PyTorch checkpoint (torch.save's legacy format)", advice: FROM_TORCH };
  if (bytes.byteLength >= 2 && bytes[0] === 0x80 && bytes[1] >= 2 && bytes[1] <= 5) {
    return {
      kind: 'pickle',
      what: 'a Python pickle (.pkl, or a PyTorch checkpoint saved with pickle)',
      advice: `load it in Python and ${FROM_TORCH}`,
    };
  }
  if (startsWith(bytes, [0x1f, 0x8b]))
    return {
      kind: 'gzip',
      what: 'a gzip-compressed file',
      advice: 'decompress it first (gunzip FILE), then pick the .safetensors file',
    };
  if (startsWith(bytes, [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59])) {
    return {
      kind: 'numpy',
      what: 'a NumPy array file (.npy)',
      advice:
        "write it into a safetensors file in Python (from safetensors.numpy import save_file; save_file({'name': array}, 'file.safetensors'))",
    };
  }
  if (looksLikeJson(bytes)) {
    return {
      kind: 'json',
      what: 'a JSON text file',
      advice:
        'a safetensors file starts with an 8-byte header length and carries its tensors after the JSON header; ' +
        PICK_SAFETENSORS,
    };
  }
  return null;
}
