import { Readable } from 'node:stream'
import {
  BaseStorage,
  resolveRange,
  type BaseStorageOptions,
  type NewObject,
} from './base-storage.js'
import { collectStream } from './body.js'
import type { ByteRange, ListedObject, ObjectStat, OpenedObject } from './contract.js'
import { KeyConflictError, ObjectNotFoundError } from './errors.js'

interface MemoryObject {
  data: Buffer
  sha256: string
  lastModified: Date
  contentType?: string
}

/**
 * A storage that keeps objects in a `Map`: for unit tests of code that uses attrstore.
 * It honours the whole contract (no overwrite, idempotent delete, typed errors) but holds
 * every body in memory, so it is no place for large files.
 */
export class MemoryStorage extends BaseStorage {
  private readonly objects = new Map<string, MemoryObject>()

  constructor(options: BaseStorageOptions = {}) {
    super(options)
  }

  /** Number of objects held. */
  get size(): number {
    return this.objects.size
  }

  /** Forgets every object. */
  clear(): void {
    this.objects.clear()
  }

  protected async putObject(object: NewObject): Promise<void> {
    if (this.objects.has(object.key)) throw new KeyConflictError(object.key)
    const data = object.bytes ? Buffer.from(object.bytes) : await collectStream(object.stream!)
    // Checked again: another write may have taken the key while this body streamed in.
    if (this.objects.has(object.key)) throw new KeyConflictError(object.key)
    this.objects.set(object.key, {
      data,
      sha256: object.digest().sha256,
      lastModified: new Date(),
      ...(object.contentType === undefined ? {} : { contentType: object.contentType }),
    })
  }

  private get(key: string): MemoryObject {
    const found = this.objects.get(key)
    if (!found) throw new ObjectNotFoundError(key)
    return found
  }

  protected async getObject(key: string, range: ByteRange | undefined): Promise<OpenedObject> {
    const { data, sha256 } = this.get(key)
    if (!range) return { stream: Readable.from([data], { objectMode: false }), sha256 }
    const { start, end } = resolveRange(key, range, data.length)
    return { stream: Readable.from([data.subarray(start, end + 1)], { objectMode: false }) }
  }

  protected async statObject(key: string): Promise<ObjectStat> {
    const { data, sha256, lastModified, contentType } = this.get(key)
    return {
      key,
      size: data.length,
      sha256,
      lastModified,
      ...(contentType === undefined ? {} : { contentType }),
    }
  }

  protected async deleteObject(key: string): Promise<void> {
    this.objects.delete(key)
  }

  protected async *listObjects(prefix: string): AsyncIterable<ListedObject> {
    for (const [key, { data, lastModified }] of [...this.objects]) {
      if (key.startsWith(prefix)) yield { key, size: data.length, lastModified }
    }
  }
}
