// The content-addressed blob store: hashing, atomic publish, limits, and nothing left behind on failure.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

// Disk-full is simulated by making the n-th FileHandle#write fail with ENOSPC (and short writes before it).
const faults = vi.hoisted(() => ({ failWriteAfter: -1, shortWrites: false }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...actual,
    open: async (...args: Parameters<typeof actual.open>) => {
      const handle = await actual.open(...args);
      if (faults.failWriteAfter < 0 && !faults.shortWrites) return handle;
      let writes = 0;
      const write = handle.write.bind(handle) as (b: Buffer, o: number, l: number) => Promise<{ bytesWritten: number }>;
      return new Proxy(handle, {
        get(target, property, receiver) {
          if (property === 'write') {
            return async (bytes: Buffer, offset = 0, length = bytes.length - offset) => {
              if (faults.failWriteAfter >= 0 && writes++ >= faults.failWriteAfter) {
                throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
              }
              return write(bytes, offset, faults.shortWrites ? Math.min(length, 100) : length);
            };
          }
          const value = Reflect.get(target, property, receiver);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    },
  };
});

const { BlobStore } = await import('./blob-store.js');

let root: string;
let store: InstanceType<typeof BlobStore>;
const options = { maxBytes: 1024 * 1024, idleTimeoutMs: 5_000 };

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'tenzro-blobs-'));
  store = new BlobStore(root);
  await store.init();
  faults.failWriteAfter = -1;
  faults.shortWrites = false;
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('BlobStore', () => {
  it('stores bytes under the SHA-256 of their content, split ab/cdef…', async () => {
    const bytes = randomBytes(300_000);
    const chunks = [bytes.subarray(0, 1000), bytes.subarray(1000, 150_000), bytes.subarray(150_000)];
    const blob = await store.write(Readable.from(chunks), options);
    const hash = createHash('sha256').update(bytes).digest('hex');
    expect(blob).toEqual({ hash, size: bytes.length });
    expect(store.path(hash)).toBe(join(root, hash.slice(0, 2), hash.slice(2)));
    expect(Buffer.compare(await readFile(store.path(hash)), bytes)).toBe(0);
    expect(await store.tempFiles()).toEqual([]);
  });

  it('writes every byte even when the filesystem writes short', async () => {
    faults.shortWrites = true;
    const bytes = randomBytes(5_000);
    const blob = await store.write(Readable.from([bytes]), options);
    expect(Buffer.compare(await readFile(store.path(blob.hash)), bytes)).toBe(0);
  });

  it('cuts at maxBytes with payload_too_large and leaves no temp file', async () => {
    const source = Readable.from([randomBytes(600_000), randomBytes(600_000)]);
    await expect(store.write(source, options)).rejects.toMatchObject({ code: 'payload_too_large', status: 413 });
    expect(await store.tempFiles()).toEqual([]);
  });

  it('maps a full disk to 507 insufficient_storage and leaves no temp file', async () => {
    faults.failWriteAfter = 2;
    const source = Readable.from([randomBytes(10_000), randomBytes(10_000), randomBytes(10_000), randomBytes(10_000)]);
    await expect(store.write(source, options)).rejects.toMatchObject({ code: 'insufficient_storage', status: 507 });
    expect(await store.tempFiles()).toEqual([]);
  });

  it('aborts a stalled upload and leaves no temp file', async () => {
    const source = new PassThrough();
    source.write(randomBytes(100));
    await expect(store.write(source, { ...options, idleTimeoutMs: 100 })).rejects.toMatchObject({ code: 'invalid_request' });
    expect(await store.tempFiles()).toEqual([]);
  });

  it('treats a client that goes away as an interrupted upload', async () => {
    const source = new PassThrough();
    source.write(randomBytes(100));
    setTimeout(() => source.destroy(new Error('socket hang up')), 20);
    await expect(store.write(source, options)).rejects.toMatchObject({ code: 'invalid_request' });
    expect(await store.tempFiles()).toEqual([]);
  });

  it('sweeps temp files a crash left behind when it starts', async () => {
    await writeFile(join(root, '.incoming-deadbeef'), 'partial');
    expect(await store.tempFiles()).toEqual(['.incoming-deadbeef']);
    await new BlobStore(root).init();
    expect(await store.tempFiles()).toEqual([]);
  });

  it('in a shared store, sweeps only temp files idle longer than staleTempMs (another instance may be uploading)', async () => {
    await writeFile(join(root, '.incoming-live'), 'partial');
    await writeFile(join(root, '.incoming-stale'), 'partial');
    const hourAgo = new Date(Date.now() - 3_600_000);
    await utimes(join(root, '.incoming-stale'), hourAgo, hourAgo);
    await new BlobStore(root).init({ staleTempMs: 600_000 });
    expect(await store.tempFiles()).toEqual(['.incoming-live']);
  });

  it('deletes idempotently and refuses a path that is not a hash', async () => {
    const blob = await store.write(Readable.from([Buffer.from('x')]), options);
    await store.delete(blob.hash);
    await store.delete(blob.hash);
    expect(await store.exists(blob.hash)).toBe(false);
    expect(() => store.path('../../etc/passwd')).toThrow(TypeError);
  });
});
