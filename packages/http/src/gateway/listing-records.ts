import type { FileHandle } from 'node:fs/promises'
import type { ListingEntry } from './listing-snapshots.js'

/**
 * The binary records of sort runs and snapshots: a 32-bit header (the key's UTF-8 length,
 * the high bit set for an object), the key's UTF-8 bytes, then for an object its size and
 * modification time as two 64-bit floats (NaN: none). Binary rather than JSON lines so
 * that a run is sorted as bytes in one reused buffer: a million keys never become a
 * million live strings, which is what kept the gateway's heap growing with the listing.
 */
const OBJECT_FLAG = 0x8000_0000
const HEADER_BYTES = 4
const OBJECT_TAIL_BYTES = 16

/** The bytes a record of `entry` takes. */
export function recordLength(entry: ListingEntry): number {
  return (
    HEADER_BYTES + Buffer.byteLength(entry[0]) + (entry[1] === undefined ? 0 : OBJECT_TAIL_BYTES)
  )
}

/** Writes the record of `entry` at `at` (room checked by the caller); returns its end. */
export function writeRecord(buffer: Buffer, at: number, entry: ListingEntry): number {
  const keyBytes = buffer.write(entry[0], at + HEADER_BYTES)
  const isObject = entry[1] !== undefined
  buffer.writeUInt32BE((keyBytes | (isObject ? OBJECT_FLAG : 0)) >>> 0, at)
  let end = at + HEADER_BYTES + keyBytes
  if (isObject) {
    buffer.writeDoubleBE(entry[1]!, end)
    buffer.writeDoubleBE(entry[2] ?? Number.NaN, end + 8)
    end += OBJECT_TAIL_BYTES
  }
  return end
}

/** The length of the record at `at`, or undefined when fewer than its header's bytes are there. */
function lengthAt(buffer: Buffer, at: number, end: number): number | undefined {
  if (end - at < HEADER_BYTES) return undefined
  const header = buffer.readUInt32BE(at)
  return HEADER_BYTES + (header & ~OBJECT_FLAG) + (header & OBJECT_FLAG ? OBJECT_TAIL_BYTES : 0)
}

/** Where the key bytes of the record at `at` start. */
export const keyStart = (at: number): number => at + HEADER_BYTES

/** Where the key bytes of the record at `at` end. */
export const keyEnd = (buffer: Buffer, at: number): number =>
  at + HEADER_BYTES + (buffer.readUInt32BE(at) & ~OBJECT_FLAG)

/** Where the record at `at` ends. */
export const recordEnd = (buffer: Buffer, at: number): number =>
  at + lengthAt(buffer, at, buffer.length)!

function readRecord(buffer: Buffer, at: number): ListingEntry {
  const header = buffer.readUInt32BE(at)
  const keyEnd = at + HEADER_BYTES + (header & ~OBJECT_FLAG)
  const key = buffer.toString('utf8', at + HEADER_BYTES, keyEnd)
  if (!(header & OBJECT_FLAG)) return [key]
  const lastModified = buffer.readDoubleBE(keyEnd + 8)
  return [key, buffer.readDoubleBE(keyEnd), Number.isNaN(lastModified) ? undefined : lastModified]
}

/** Records written to a file through one buffer of fixed size, with backpressure by `await`. */
export class RecordWriter {
  private readonly buffer: Buffer
  private used = 0

  constructor(
    private readonly file: FileHandle,
    bufferBytes = 256 * 1024,
  ) {
    this.buffer = Buffer.allocUnsafe(bufferBytes)
  }

  async write(entry: ListingEntry): Promise<void> {
    const length = recordLength(entry)
    if (this.used + length > this.buffer.length) await this.flush()
    if (length > this.buffer.length) {
      const own = Buffer.allocUnsafe(length)
      writeRecord(own, 0, entry)
      await this.file.write(own)
      return
    }
    this.used = writeRecord(this.buffer, this.used, entry)
  }

  /**
   * Copies records already encoded (a sorted run's, from its buffer); a promise only when
   * the buffer had to be written out (the merge copies a million records: no promise each).
   */
  copy(source: Buffer, start: number, end: number): Promise<void> | undefined {
    if (this.used + end - start > this.buffer.length || end - start > this.buffer.length)
      return this.flush().then(() => {
        if (end - start > this.buffer.length) return this.writeAll(source, start, end)
        this.used += source.copy(this.buffer, 0, start, end)
      })
    this.used += source.copy(this.buffer, this.used, start, end)
    return undefined
  }

  private async writeAll(source: Buffer, start: number, end: number): Promise<void> {
    while (start < end) start += (await this.file.write(source, start, end - start)).bytesWritten
  }

  async flush(): Promise<void> {
    let at = 0
    while (at < this.used)
      at += (await this.file.write(this.buffer, at, this.used - at)).bytesWritten
    this.used = 0
  }
}

/**
 * A file of sorted records read in order through one buffer, the current record left in
 * it as bytes: what the merge compares and copies without decoding a key.
 */
export class RecordCursor {
  buffer: Buffer
  /** Where the current record starts in `buffer`; meaningful while `ready`. */
  at = 0
  private filled = 0
  private position = 0

  constructor(
    private readonly file: FileHandle,
    bufferBytes = 16 * 1024,
  ) {
    this.buffer = Buffer.allocUnsafe(bufferBytes)
  }

  /** Whether the whole current record is in the buffer. */
  get ready(): boolean {
    const length = lengthAt(this.buffer, this.at, this.filled)
    return length !== undefined && this.at + length <= this.filled
  }

  get end(): number {
    return recordEnd(this.buffer, this.at)
  }

  /** Moves past the current record; true when there is one after it (then `ready`). */
  next(): boolean | Promise<boolean> {
    this.at = this.end
    return this.ready || this.fill()
  }

  /** Reads until the current record is whole; false at the end of the file. */
  async fill(): Promise<boolean> {
    while (!this.ready) {
      const length = lengthAt(this.buffer, this.at, this.filled)
      const kept = this.filled - this.at
      const target =
        length !== undefined && length > this.buffer.length
          ? Buffer.allocUnsafe(length)
          : this.buffer
      this.buffer.copy(target, 0, this.at, this.filled)
      this.buffer = target
      this.at = 0
      this.filled = kept
      const { bytesRead } = await this.file.read(
        this.buffer,
        this.filled,
        this.buffer.length - this.filled,
        this.position,
      )
      if (bytesRead === 0) return false
      this.position += bytesRead
      this.filled += bytesRead
    }
    return true
  }
}

/** Records read from a file from a byte offset, through one buffer, each with the offset after it. */
export async function* readRecords(
  file: FileHandle,
  start: number,
  bufferBytes = 64 * 1024,
): AsyncGenerator<{ entry: ListingEntry; end: number }> {
  let buffer = Buffer.allocUnsafe(bufferBytes)
  let at = 0
  let filled = 0
  let position = start
  let offset = start
  for (;;) {
    const length = lengthAt(buffer, at, filled)
    if (length === undefined || at + length > filled) {
      // Keep the partial record, and read on after it (a record longer than the buffer grows it).
      buffer.copy(buffer, 0, at, filled)
      filled -= at
      at = 0
      if (length !== undefined && length > buffer.length) {
        const larger = Buffer.allocUnsafe(length)
        buffer.copy(larger, 0, 0, filled)
        buffer = larger
      }
      const { bytesRead } = await file.read(buffer, filled, buffer.length - filled, position)
      if (bytesRead === 0) return
      position += bytesRead
      filled += bytesRead
      continue
    }
    const entry = readRecord(buffer, at)
    at += length
    offset += length
    yield { entry, end: offset }
  }
}
