/**
 * A GGUF metadata reader: the header and the key/value pairs of a llama.cpp
 * model file, never its tensors. Model files are gigabytes, so the header is
 * read from a file handle in chunks as far as the last value, and no further.
 *
 * Layout (little-endian; https://github.com/ggml-org/ggml/blob/master/docs/gguf.md):
 *   magic "GGUF", version u32 (2 or 3), tensor_count u64, kv_count u64,
 *   then kv_count × (key: string, value_type: u32, value),
 *   string = length u64 + UTF-8 bytes, array = item_type u32 + count u64 + items.
 * Version 1 (counts and lengths as u32) predates August 2023 and is not read.
 */
import { open, type FileHandle } from 'node:fs/promises';

/** A metadata value: 64-bit integers as bigint (exact), arrays as plain arrays. */
export type GgufValue = number | bigint | boolean | string | GgufValue[];

export interface GgufMetadata {
  /** GGUF version of the file: 2 or 3. */
  version: number;
  /** Tensors the file holds (their descriptions and data are not read). */
  tensorCount: bigint;
  /** Every key/value pair of the header, in file order. */
  values: Map<string, GgufValue>;
}

/** A file that is not a GGUF file we can read: the message names it. */
export class GgufError extends Error {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = 'GgufError';
  }
}

/** GGUF value types, by their number in the file. */
export const GGUF_TYPE = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;

const FIXED_SIZE: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
const CHUNK_BYTES = 1 << 20;

/** Reads the metadata of a GGUF file; throws GgufError for a file that is not one, or is cut short. */
export async function readGgufMetadata(file: string): Promise<GgufMetadata> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    throw new GgufError(file, `cannot read the file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  try {
    const reader = new ChunkReader(handle, (await handle.stat()).size, file);
    await reader.need(4);
    const magic = reader.bytes(4);
    if (magic.toString('latin1') !== 'GGUF') {
      throw new GgufError(file, `not a GGUF file (it starts with ${JSON.stringify(magic.toString('latin1'))}, not "GGUF")`);
    }
    await reader.need(4);
    const version = reader.buffer.readUInt32LE(reader.take(4));
    if (version !== 2 && version !== 3) {
      const hint = version > 0xffff ? ' (a big-endian file?)' : version === 1 ? ' (version 1 predates August 2023: convert the model again)' : '';
      throw new GgufError(file, `GGUF version ${version} is not supported, only 2 and 3${hint}`);
    }
    await reader.need(16);
    const tensorCount = reader.buffer.readBigUInt64LE(reader.take(8));
    const kvCount = reader.buffer.readBigUInt64LE(reader.take(8));
    const values = new Map<string, GgufValue>();
    for (let i = 0n; i < kvCount; i++) {
      reader.context = `key/value pair ${i} of ${kvCount}`;
      const key = await reader.string();
      reader.context = `the value of ${key}`;
      await reader.need(4);
      const type = reader.buffer.readUInt32LE(reader.take(4));
      values.set(key, await reader.value(type));
    }
    return { version, tensorCount, values };
  } finally {
    await handle.close();
  }
}

/** Bytes of a file handle, read ahead in chunks; `need(n)` before taking n bytes. */
class ChunkReader {
  buffer = Buffer.alloc(0);
  /** Read position within `buffer`. */
  private at = 0;
  /** File offset of `buffer[0]`. */
  private base = 0;
  /** What is being read, for the message of a file cut short. */
  context = 'the header';

  constructor(
    private readonly handle: FileHandle,
    private readonly size: number,
    private readonly file: string,
  ) {}

  /** Makes sure n more bytes are in the buffer. */
  async need(n: number): Promise<void> {
    if (this.buffer.length - this.at >= n) return;
    const offset = this.base + this.at;
    if (offset + n > this.size) {
      throw new GgufError(this.file, `truncated GGUF file: it ends at byte ${this.size} while reading ${this.context} (${n} bytes at ${offset})`);
    }
    const next = Buffer.alloc(Math.max(n, Math.min(CHUNK_BYTES, this.size - offset)));
    const rest = this.buffer.copy(next, 0, this.at);
    let filled = rest;
    while (filled < n) {
      const { bytesRead } = await this.handle.read(next, filled, next.length - filled, offset + filled);
      if (bytesRead === 0) throw new GgufError(this.file, `truncated GGUF file while reading ${this.context}`);
      filled += bytesRead;
    }
    this.buffer = next.subarray(0, filled);
    this.base = offset;
    this.at = 0;
  }

  /** Advances past n bytes (already needed) and returns where they start. */
  take(n: number): number {
    const start = this.at;
    this.at += n;
    return start;
  }

  bytes(n: number): Buffer {
    return this.buffer.subarray(this.take(n), this.at);
  }

  async length(): Promise<number> {
    await this.need(8);
    const length = this.buffer.readBigUInt64LE(this.take(8));
    if (length > BigInt(this.size)) {
      throw new GgufError(this.file, `truncated or corrupt GGUF file: a length of ${length} while reading ${this.context} exceeds the file's ${this.size} bytes`);
    }
    return Number(length);
  }

  async string(): Promise<string> {
    const length = await this.length();
    await this.need(length);
    return this.bytes(length).toString('utf8');
  }

  /** The next string when all of it is already in the buffer (no await: vocabularies hold ~10⁵ of them). */
  private bufferedString(): string | undefined {
    if (this.buffer.length - this.at < 8) return undefined;
    const length = this.buffer.readBigUInt64LE(this.at);
    if (length > BigInt(this.buffer.length - this.at - 8)) return undefined;
    this.at += 8;
    return this.bytes(Number(length)).toString('utf8');
  }

  async value(type: number): Promise<GgufValue> {
    if (type === GGUF_TYPE.STRING) return this.string();
    if (type === GGUF_TYPE.ARRAY) {
      await this.need(4);
      const itemType = this.buffer.readUInt32LE(this.take(4));
      if (itemType === GGUF_TYPE.ARRAY) throw new GgufError(this.file, `${this.context}: arrays of arrays are not supported`);
      const count = await this.length();
      const items: GgufValue[] = new Array(count);
      const size = FIXED_SIZE[itemType];
      for (let i = 0; i < count; i++) {
        // Fixed-size items are needed in one go (a scores array of 150k floats is one read, not 150k awaits).
        if (size !== undefined && this.buffer.length - this.at < size) await this.need(Math.min(count - i, CHUNK_BYTES / size) * size);
        if (size !== undefined) items[i] = this.fixed(itemType);
        else items[i] = (itemType === GGUF_TYPE.STRING ? this.bufferedString() : undefined) ?? (await this.value(itemType));
      }
      return items;
    }
    const size = FIXED_SIZE[type];
    if (size === undefined) throw new GgufError(this.file, `${this.context}: unknown GGUF value type ${type}`);
    await this.need(size);
    return this.fixed(type);
  }

  /** A fixed-size value already in the buffer. */
  private fixed(type: number): number | bigint | boolean {
    const buffer = this.buffer;
    switch (type) {
      case GGUF_TYPE.UINT8:
        return buffer.readUInt8(this.take(1));
      case GGUF_TYPE.INT8:
        return buffer.readInt8(this.take(1));
      case GGUF_TYPE.UINT16:
        return buffer.readUInt16LE(this.take(2));
      case GGUF_TYPE.INT16:
        return buffer.readInt16LE(this.take(2));
      case GGUF_TYPE.UINT32:
        return buffer.readUInt32LE(this.take(4));
      case GGUF_TYPE.INT32:
        return buffer.readInt32LE(this.take(4));
      case GGUF_TYPE.FLOAT32:
        return buffer.readFloatLE(this.take(4));
      case GGUF_TYPE.BOOL:
        return buffer.readUInt8(this.take(1)) !== 0;
      case GGUF_TYPE.UINT64:
        return buffer.readBigUInt64LE(this.take(8));
      case GGUF_TYPE.INT64:
        return buffer.readBigInt64LE(this.take(8));
      default:
        return buffer.readDoubleLE(this.take(8));
    }
  }
}
