import { Mamba2Error } from "@mamba2/core";

const PAGE = 65536;
/** A wasm32 memory holds at most 65536 pages of 64 KiB. */
export const MAX_BYTES = 65536 * PAGE;
const ALIGN = 16;

/**
 * JS owns the layout of the module's memory: first-fit blocks above the module's static data, 16-byte aligned
 * (for v128 loads), the memory grown on demand up to the wasm32 limit of 4 GiB.
 */
export class Heap {
  private top: number;
  private readonly free: { ptr: number; size: number }[] = [];

  constructor(
    readonly memory: WebAssembly.Memory,
    base: number,
  ) {
    this.top = align(base);
  }

  get bytesInUse(): number {
    return this.top - this.free.reduce((a, b) => a + b.size, 0);
  }

  alloc(bytes: number): number {
    const size = align(Math.max(bytes, 1));
    const i = this.free.findIndex((b) => b.size >= size);
    if (i >= 0) {
      const block = this.free[i];
      const ptr = block.ptr;
      if (block.size === size) this.free.splice(i, 1);
      else {
        block.ptr += size;
        block.size -= size;
      }
      return ptr;
    }
    const ptr = this.top;
    const end = ptr + size;
    if (end > MAX_BYTES) {
      throw new Mamba2Error(
        `WASM memory: ${gib(end)} needed but a wasm32 memory holds at most 4 GiB: use f16 or quantized weights, or the WebGPU backend`,
      );
    }
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      try {
        this.memory.grow(Math.ceil((end - have) / PAGE));
      } catch (e) {
        throw new Mamba2Error(`WASM memory: cannot grow to ${gib(end)} (${(e as Error).message})`);
      }
    }
    this.top = end;
    return ptr;
  }

  /** Returns a block; neighbouring free blocks merge. */
  release(ptr: number, bytes: number): void {
    const size = align(Math.max(bytes, 1));
    this.free.push({ ptr, size });
    this.free.sort((a, b) => a.ptr - b.ptr);
    for (let i = this.free.length - 1; i > 0; i--) {
      const a = this.free[i - 1];
      const b = this.free[i];
      if (a.ptr + a.size === b.ptr) {
        a.size += b.size;
        this.free.splice(i, 1);
      }
    }
    const last = this.free[this.free.length - 1];
    if (last && last.ptr + last.size === this.top) {
      this.top = last.ptr;
      this.free.pop();
    }
  }

  /** Views are made per use: growing the memory detaches the old buffer. */
  bytes(ptr: number, length: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, ptr, length);
  }
}

const align = (n: number) => Math.ceil(n / ALIGN) * ALIGN;
const gib = (n: number) => `${(n / 2 ** 30).toFixed(2)} GiB`;
