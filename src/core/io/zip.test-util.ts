/**
 * Reads back the zips zip.ts writes (tests only): each local file header's name, compression
 * method and data, in order. Enough for stored entries; nothing else is read.
 */
export interface ReadEntry {
  /** 0: stored (what writeZip writes). */
  method: number;
  bytes: Uint8Array;
}

export function readStoredZip(zip: Uint8Array): Map<string, ReadEntry> {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const out = new Map<string, ReadEntry>();
  let at = 0;
  while (view.getUint32(at, true) === 0x04034b50) {
    const size = view.getUint32(at + 18, true);
    const nameLength = view.getUint16(at + 26, true);
    const name = new TextDecoder().decode(zip.subarray(at + 30, at + 30 + nameLength));
    const start = at + 30 + nameLength + view.getUint16(at + 28, true);
    out.set(name, { method: view.getUint16(at + 8, true), bytes: zip.subarray(start, start + size) });
    at = start + size;
  }
  return out;
}
