/**
 * A stored (uncompressed) zip archive (PKWARE APPNOTE 6.3: local headers, central directory, end
 * record; no zip64), so the page can offer a model folder as one download. Weights barely
 * compress, so storing costs little and needs no deflate. Names are UTF-8 (flag bit 11); every
 * entry gets the same timestamp.
 */
import { crc32 } from './crc32';

export interface ZipEntry {
  /** Path inside the archive, `/`-separated (e.g. `student/config.json`). */
  name: string;
  bytes: Uint8Array;
}

/** Beyond 4 GiB, or 65,535 entries, a zip needs zip64 records, which this writer does not write. */
const MAX_ZIP32 = 0xffffffff;

/** MS-DOS time and date fields of `date` (local time, 2-second resolution, years 1980..2107). */
function dosTime(date: Date): { time: number; day: number } {
  const year = Math.min(2107, Math.max(1980, date.getFullYear()));
  return {
    time: (date.getHours() << 11) | (date.getMinutes() << 5) | (date.getSeconds() >> 1),
    day: ((year - 1980) << 9) | ((date.getMonth() + 1) << 5) | date.getDate(),
  };
}

export function writeZip(entries: ZipEntry[], date = new Date(1980, 0, 1)): Uint8Array {
  const { time, day } = dosTime(date);
  const names = entries.map((e) => new TextEncoder().encode(e.name));
  const localSize = entries.reduce((s, e, i) => s + 30 + names[i].length + e.bytes.length, 0);
  const centralSize = names.reduce((s, n) => s + 46 + n.length, 0);
  const total = localSize + centralSize + 22;
  if (entries.length > 0xffff || total > MAX_ZIP32) {
    throw new RangeError(`a zip of ${entries.length} files and ${total} bytes needs zip64, which is not written here`);
  }
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  const offsets: number[] = [];
  const crcs = entries.map((e) => crc32(e.bytes));
  let at = 0;
  // the fields local and central headers share, from "version needed" to "extra field length"
  const common = (p: number, i: number) => {
    view.setUint16(p, 20, true); // version needed to extract: 2.0
    view.setUint16(p + 2, 0x0800, true); // flags: UTF-8 names
    view.setUint16(p + 4, 0, true); // method: stored
    view.setUint16(p + 6, time, true);
    view.setUint16(p + 8, day, true);
    view.setUint32(p + 10, crcs[i], true);
    view.setUint32(p + 14, entries[i].bytes.length, true); // compressed size
    view.setUint32(p + 18, entries[i].bytes.length, true); // uncompressed size
    view.setUint16(p + 22, names[i].length, true);
    view.setUint16(p + 24, 0, true); // extra field length
  };
  entries.forEach((e, i) => {
    offsets.push(at);
    view.setUint32(at, 0x04034b50, true);
    common(at + 4, i);
    out.set(names[i], at + 30);
    out.set(e.bytes, at + 30 + names[i].length);
    at += 30 + names[i].length + e.bytes.length;
  });
  const central = at;
  entries.forEach((_, i) => {
    view.setUint32(at, 0x02014b50, true);
    view.setUint16(at + 4, 20, true); // version made by: 2.0, MS-DOS attributes
    common(at + 6, i);
    // comment length, disk number, internal and external attributes: 0
    view.setUint32(at + 42, offsets[i], true);
    out.set(names[i], at + 46);
    at += 46 + names[i].length;
  });
  view.setUint32(at, 0x06054b50, true);
  view.setUint16(at + 8, entries.length, true);
  view.setUint16(at + 10, entries.length, true);
  view.setUint32(at + 12, at - central, true);
  view.setUint32(at + 16, central, true);
  return out;
}
