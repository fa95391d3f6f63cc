/**
 * Reading and writing the store's files by explicit byte ranges. Reads stream in chunks, so a
 * file of any size opens in bounded memory (Node cannot read a file over 2 GiB whole); writes go
 * to an explicit position, so writing the same bytes twice leaves one copy.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

export const defaultChunkBytes = 8 << 20;

/**
 * The first `length` bytes of the file in chunks of whole records (`recordBytes`). Each chunk
 * reuses one buffer, so a visitor must be done with it before asking for the next.
 */
export async function* fileChunks(
  path: string,
  length: number,
  chunkBytes: number,
  recordBytes = 1,
): AsyncGenerator<Buffer> {
  if (length === 0) return;
  const buffer = Buffer.alloc(Math.max(recordBytes, chunkBytes - (chunkBytes % recordBytes)));
  const handle = await open(path, 'r');
  try {
    for (let at = 0; at < length; ) {
      const want = Math.min(buffer.length, length - at);
      let filled = 0;
      while (filled < want) {
        const { bytesRead } = await handle.read(buffer, filled, want - filled, at + filled);
        if (bytesRead === 0)
          throw new Error(`${path} ends at byte ${at + filled}, before the checkpoint's ${length}`);
        filled += bytesRead;
      }
      at += filled;
      yield buffer.subarray(0, filled);
    }
  } finally {
    await handle.close();
  }
}

/** Visits each fixed-width record of the first `length` bytes of a file, chunk by chunk. */
export async function scanRecordFile(
  path: string,
  length: number,
  recordBytes: number,
  visit: (view: DataView, at: number) => void,
  chunkBytes = defaultChunkBytes,
): Promise<void> {
  for await (const chunk of fileChunks(path, length, chunkBytes, recordBytes)) {
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    for (let at = 0; at < chunk.length; at += recordBytes) visit(view, at);
  }
}

/** The lines of the first `length` bytes of a UTF-8 file, with their 1-based numbers. */
export async function* fileLines(
  path: string,
  length: number,
  chunkBytes: number,
): AsyncGenerator<{ line: string; number: number }> {
  let carry = Buffer.alloc(0);
  let number = 0;
  for await (const chunk of fileChunks(path, length, chunkBytes)) {
    // A line may straddle chunks, and so may a multi-byte character: split on the byte 0x0A.
    const bytes = carry.length === 0 ? chunk : Buffer.concat([carry, chunk]);
    let start = 0;
    for (let end = bytes.indexOf(10, start); end !== -1; end = bytes.indexOf(10, start)) {
      number++;
      yield { line: bytes.toString('utf8', start, end), number };
      start = end + 1;
    }
    carry = Buffer.from(bytes.subarray(start));
  }
  if (carry.length > 0) yield { line: carry.toString('utf8'), number: number + 1 };
}

/**
 * Writes `bytes` at `position` and cuts the file right after them, then fsyncs. Whatever an
 * earlier, failed attempt left past `position` is overwritten or cut, never kept.
 */
export async function writeAt(path: string, bytes: Uint8Array, position: number): Promise<void> {
  const handle = await open(path, constants.O_RDWR | constants.O_CREAT, 0o644);
  try {
    for (let written = 0; written < bytes.length; ) {
      const { bytesWritten } = await handle.write(bytes, written, bytes.length - written, position + written);
      written += bytesWritten;
    }
    await handle.truncate(position + bytes.length);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
