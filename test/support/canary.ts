// Privacy canary helpers: every file under a directory (and temp files made since a time) that contains a string.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function filesUnder(dir: string, newerThan = 0): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) {
        try {
          if (statSync(path).mtimeMs >= newerThan) out.push(path);
        } catch {
          // vanished
        }
      }
    }
  };
  walk(dir);
  return out;
}

/** Files under `dataDir`, and temp files made since `startedAt`, that contain `canary` (UTF-8). */
export function leaksOf(canary: string, dataDir: string, startedAt: number): string[] {
  const needle = Buffer.from(canary, 'utf8');
  const files = [...filesUnder(dataDir), ...filesUnder(tmpdir(), startedAt).filter((f) => !f.startsWith(dataDir))];
  return files.filter((file) => {
    try {
      return readFileSync(file).includes(needle);
    } catch {
      return false;
    }
  });
}
