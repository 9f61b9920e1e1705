/**
 * A dropped folder walked entry by entry into paths the worker's layout search reads: nested
 * folders, readEntries' batches (Chromium hands out at most 100 entries per call), and a drop
 * without entries falling back to its files by name. The entries are stand-ins for the browser's
 * FileSystemEntry objects (Node has none); the walk is what is under test.
 */
import { describe, expect, it } from 'vitest';
import { pickedOfDrop } from './picked-files';

type Tree = { [name: string]: Tree | string };

function entry(name: string, node: Tree | string): FileSystemEntry {
  if (typeof node === 'string') {
    return {
      name,
      isFile: true,
      isDirectory: false,
      file: (ok: (f: File) => void) => ok(new File([node], name)),
    } as unknown as FileSystemEntry;
  }
  const children = Object.entries(node).map(([n, c]) => entry(n, c));
  return {
    name,
    isFile: false,
    isDirectory: true,
    createReader: () => {
      let at = 0;
      // two entries per call, then an empty batch: the caller must keep asking
      return {
        readEntries: (ok: (batch: FileSystemEntry[]) => void) => {
          ok(children.slice(at, at + 2));
          at += 2;
        },
      };
    },
  } as unknown as FileSystemEntry;
}

function drop(entries: (FileSystemEntry | null)[], files: File[] = []): DataTransfer {
  return {
    items: entries.map((e) => ({ kind: 'file', webkitGetAsEntry: () => e })),
    files,
  } as unknown as DataTransfer;
}

describe('pickedOfDrop', () => {
  it('walks a dropped pipeline folder into relative paths, every batch of every folder', async () => {
    const pipeline: Tree = {
      'model_index.json': '{}',
      unet: { 'config.json': 'c', 'diffusion_pytorch_model.safetensors': 'w', 'README.md': 'r' },
      scheduler: { 'scheduler_config.json': 's' },
    };
    const picked = await pickedOfDrop(drop([entry('my-ddpm', pipeline)]));
    expect(picked.map((p) => p.path).sort()).toEqual([
      'my-ddpm/model_index.json',
      'my-ddpm/scheduler/scheduler_config.json',
      'my-ddpm/unet/README.md',
      'my-ddpm/unet/config.json',
      'my-ddpm/unet/diffusion_pytorch_model.safetensors',
    ]);
    const scheduler = picked.find((p) => p.path.endsWith('scheduler_config.json'))!;
    expect(await scheduler.file.text()).toBe('s');
  });

  it('takes loose dropped files by name, and the files themselves when the drop has no entries', async () => {
    const loose = await pickedOfDrop(drop([entry('config.json', 'c'), entry('scheduler_config.json', 's')]));
    expect(loose.map((p) => p.path)).toEqual(['config.json', 'scheduler_config.json']);
    const plain = new File(['w'], 'diffusion_pytorch_model.safetensors');
    const fallback = await pickedOfDrop(drop([null], [plain]));
    expect(fallback).toEqual([{ path: 'diffusion_pytorch_model.safetensors', file: plain }]);
  });
});
