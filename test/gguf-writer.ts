/** Writes small GGUF files for tests, byte by byte from the spec: no llama.cpp, no download. */
import { writeFile } from 'node:fs/promises';

/** GGUF value types by number (docs/gguf.md of ggml). */
export type GgufTestValue =
  | { type: 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'float32' | 'float64'; value: number }
  | { type: 'uint64' | 'int64'; value: bigint }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'array'; itemType: 'string'; value: string[] }
  | { type: 'array'; itemType: 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'float32' | 'float64'; value: number[] }
  | { type: 'array'; itemType: 'uint64' | 'int64'; value: bigint[] }
  | { type: 'array'; itemType: 'bool'; value: boolean[] };

const TYPE_NUMBER = { uint8: 0, int8: 1, uint16: 2, int16: 3, uint32: 4, int32: 5, float32: 6, bool: 7, string: 8, array: 9, uint64: 10, int64: 11, float64: 12 };

/** A whole GGUF file: header and metadata, then `tensorCount` (claimed, not written) tensors. */
export function ggufBytes(values: Record<string, GgufTestValue>, options: { version?: number; magic?: string; tensorCount?: bigint } = {}): Buffer {
  const parts: Buffer[] = [Buffer.from(options.magic ?? 'GGUF', 'latin1'), u32(options.version ?? 3), u64(options.tensorCount ?? 0n), u64(BigInt(Object.keys(values).length))];
  for (const [key, value] of Object.entries(values)) {
    parts.push(str(key), u32(TYPE_NUMBER[value.type]));
    if (value.type === 'array') {
      parts.push(u32(TYPE_NUMBER[value.itemType]), u64(BigInt(value.value.length)));
      for (const item of value.value) parts.push(scalar(value.itemType, item));
    } else {
      parts.push(scalar(value.type, value.value));
    }
  }
  return Buffer.concat(parts);
}

export async function writeGguf(file: string, values: Record<string, GgufTestValue>, options?: Parameters<typeof ggufBytes>[1]): Promise<void> {
  await writeFile(file, ggufBytes(values, options));
}

function scalar(type: keyof typeof TYPE_NUMBER, value: number | bigint | boolean | string): Buffer {
  const buffer = Buffer.alloc(8);
  switch (type) {
    case 'uint8': return (buffer.writeUInt8(value as number), buffer.subarray(0, 1));
    case 'int8': return (buffer.writeInt8(value as number), buffer.subarray(0, 1));
    case 'uint16': return (buffer.writeUInt16LE(value as number), buffer.subarray(0, 2));
    case 'int16': return (buffer.writeInt16LE(value as number), buffer.subarray(0, 2));
    case 'uint32': return u32(value as number);
    case 'int32': return (buffer.writeInt32LE(value as number), buffer.subarray(0, 4));
    case 'float32': return (buffer.writeFloatLE(value as number), buffer.subarray(0, 4));
    case 'float64': return (buffer.writeDoubleLE(value as number), buffer);
    case 'bool': return Buffer.from([value ? 1 : 0]);
    case 'uint64': return u64(value as bigint);
    case 'int64': return (buffer.writeBigInt64LE(value as bigint), buffer);
    case 'string': return str(value as string);
    default: throw new Error(`no scalar of type ${type}`);
  }
}

function u32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32LE(value);
  return buffer;
}

function u64(value: bigint): Buffer {
  const buffer = Buffer.alloc(8);
  buffer.writeBigUInt64LE(value);
  return buffer;
}

function str(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  return Buffer.concat([u64(BigInt(bytes.length)), bytes]);
}
