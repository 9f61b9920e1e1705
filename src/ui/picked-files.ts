/**
 * Files a person picked or dropped, each with its path relative to what they chose: a folder
 * picker's webkitRelativePath, a dropped folder walked entry by entry, or a loose file's name.
 */
export interface PickedFile {
  path: string;
  file: File;
}

export function pickedOfInput(files: FileList | null): PickedFile[] {
  return [...(files ?? [])].map((file) => ({ path: file.webkitRelativePath || file.name, file }));
}

function entryFile(entry: FileSystemFileEntry): Promise<File> {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

/** A directory's entries: readEntries answers in batches until it answers an empty one. */
async function dirEntries(dir: FileSystemDirectoryEntry): Promise<FileSystemEntry[]> {
  const reader = dir.createReader();
  const all: FileSystemEntry[] = [];
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) return all;
    all.push(...batch);
  }
}

async function walk(entry: FileSystemEntry, prefix: string, out: PickedFile[]): Promise<void> {
  const path = prefix ? `${prefix}/${entry.name}` : entry.name;
  if (entry.isFile) out.push({ path, file: await entryFile(entry as FileSystemFileEntry) });
  else if (entry.isDirectory) {
    for (const child of await dirEntries(entry as FileSystemDirectoryEntry)) await walk(child, path, out);
  }
}

/** A drop's files; dropped folders are walked (a drop without entries, e.g. from another app, gives its files by name). */
export async function pickedOfDrop(data: DataTransfer): Promise<PickedFile[]> {
  // the entries must be taken before the first await: the DataTransfer empties after the event
  const entries = [...data.items].map((item) => (item.kind === 'file' ? item.webkitGetAsEntry() : null));
  if (entries.some((e) => e === null) || entries.length === 0) return pickedOfInput(data.files);
  const out: PickedFile[] = [];
  for (const entry of entries) await walk(entry!, '', out);
  return out;
}
