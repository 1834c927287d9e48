import type { Readable } from 'node:stream'
import type { AttributeStorage, ByteRange, ObjectStat } from '@attrstore/core'

/**
 * The handle a `load: 'lazy'` attribute holds: nothing is downloaded until asked.
 * Assigning a handle to another entity's stored attribute imports the same object
 * (nothing is copied) when both use the same storage.
 */
export class StoredContent {
  constructor(
    /** The storage key kept in the column. */
    readonly key: string,
    /** The storage the object lives in. */
    readonly storage: AttributeStorage,
    /** Hex SHA-256 of the content, when attrstore hashed it while saving (a claimed upload). */
    readonly sha256?: string,
  ) {}

  /** The whole content. */
  buffer(): Promise<Buffer> {
    return this.storage.read(this.key)
  }

  /** The content (or a byte range of it) as a stream. */
  stream(range?: ByteRange): Promise<Readable> {
    return this.storage.readStream(this.key, range ? { range } : {})
  }

  /** Size, SHA-256 and dates, from the storage (one request). */
  stat(): Promise<ObjectStat> {
    return this.storage.stat(this.key)
  }

  /** Size in bytes, from the storage (one request). */
  async size(): Promise<number> {
    return (await this.stat()).size
  }

  toJSON(): { key: string } {
    return { key: this.key }
  }
}
