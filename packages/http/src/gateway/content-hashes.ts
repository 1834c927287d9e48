import type { AttributeStorage, ObjectStat } from '@attrstore/core'
import { hashStream } from '@attrstore/core/driver'

/** Hashes remembered, for objects whose storage records none. */
const CACHE_ENTRIES = 10_000

/**
 * The SHA-256 of an object, from which its ETag is made: the one the storage recorded at
 * write time (every attrstore storage records one), else computed once by reading the
 * object (streamed: memory stays flat) and remembered. Keys are write-once, so a hash is
 * remembered by key, size and modification time; the oldest is forgotten past 10,000.
 */
export class ContentHashes {
  private readonly known = new Map<string, string>()
  private readonly pending = new Map<string, Promise<string>>()

  async of(storage: AttributeStorage, stat: ObjectStat): Promise<string> {
    if (stat.sha256) return stat.sha256.toLowerCase()
    const id = `${storage.location}\n${stat.key}\n${stat.size}\n${stat.lastModified?.getTime() ?? ''}`
    const known = this.known.get(id)
    if (known) return known
    let computing = this.pending.get(id)
    if (!computing) {
      computing = storage
        .readStream(stat.key)
        .then((stream) => hashStream(stream))
        .then(({ sha256 }) => {
          this.known.set(id, sha256)
          if (this.known.size > CACHE_ENTRIES) this.known.delete(this.known.keys().next().value!)
          return sha256
        })
        .finally(() => this.pending.delete(id))
      this.pending.set(id, computing)
    }
    return computing
  }
}
