/**
 * Progress of a model's files, per file and overall. A file is announced `pending` (its size known or 0),
 * then `downloading` events carry its bytes so far, and it ends `done` (fetched or read whole) or `cached`
 * (served from the download cache, nothing fetched). `totalBytes` sums the sizes of the files announced so far,
 * so it grows as a loader discovers shards; `totalLoaded` sums their bytes so far.
 */
import type { ByteSource } from "./bytes.js";

export type ProgressState = "pending" | "downloading" | "cached" | "done";

export interface ProgressEvent {
  file: string;
  loaded: number;
  total: number;
  state: ProgressState;
  totalLoaded: number;
  totalBytes: number;
}

export type OnProgress = (event: ProgressEvent) => void;

export interface FileProgress {
  /** Sets the file's size once it is known. */
  size(total: number): void;
  /** `loaded` bytes so far (monotone: smaller values are ignored). */
  advance(loaded: number): void;
  cached(): void;
  done(): void;
}

export class ProgressTracker {
  private readonly files = new Map<string, { loaded: number; total: number; ended: boolean }>();

  constructor(private readonly onProgress?: OnProgress) {}

  /** Announces `file` (once; a second call returns a handle on the same entry without a new event). */
  file(file: string, total = 0): FileProgress {
    let entry = this.files.get(file);
    if (!entry) {
      entry = { loaded: 0, total, ended: false };
      this.files.set(file, entry);
      this.emit(file, "pending");
    }
    const e = entry;
    return {
      size: (n) => void (e.total = n),
      advance: (n) => {
        if (e.ended || n <= e.loaded) return;
        e.loaded = Math.min(n, e.total || n);
        this.emit(file, "downloading");
      },
      cached: () => this.end(file, e, "cached"),
      done: () => this.end(file, e, "done"),
    };
  }

  private end(file: string, e: { loaded: number; total: number; ended: boolean }, state: ProgressState): void {
    if (e.ended) return;
    e.ended = true;
    e.loaded = e.total;
    this.emit(file, state);
  }

  private emit(file: string, state: ProgressState): void {
    if (!this.onProgress) return;
    const e = this.files.get(file)!;
    let totalLoaded = 0;
    let totalBytes = 0;
    for (const f of this.files.values()) {
      totalLoaded += f.loaded;
      totalBytes += f.total;
    }
    this.onProgress({ file, loaded: e.loaded, total: e.total, state, totalLoaded, totalBytes });
  }
}

/** `source` with each read counted as progress of its file; `done` once the bytes read reach its size. */
export function trackedSource(source: ByteSource, progress: FileProgress): ByteSource {
  let read = 0;
  return {
    name: source.name,
    size: source.size,
    async read(offset, length) {
      const bytes = await source.read(offset, length);
      read += bytes.length;
      if (read >= source.size) progress.done();
      else progress.advance(read);
      return bytes;
    },
  };
}
