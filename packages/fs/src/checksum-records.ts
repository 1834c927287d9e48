import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { Directories } from './directories.js'
import { readSmallFile } from './durable-files.js'
import type { Layout } from './layout.js'

/** Enough for a record (64 hex digits and a newline), and to see one that is too long. */
const RECORD_READ_SIZE = 128
/** What a whole record holds: the SHA-256 as written, lower-case hex. */
const RECORDED_SHA256 = /^[0-9a-f]{64}$/

/**
 * The SHA-256 of each object, one small file per key under `root/.attrstore/sha256/`.
 * Written in place and not fsynced: losing one or cutting it short in a power cut loses no
 * data, only the record (verify then reports the object as unverified); the object itself
 * was fsynced. Only the writer that created an object's name writes its record.
 */
export class ChecksumRecords {
  constructor(
    private readonly layout: Layout,
    private readonly directories: Directories,
  ) {}

  /** The SHA-256 recorded for `key`, if a whole record exists: one cut short is none. */
  read(key: string): Promise<string | undefined> {
    return readSmallFile(this.layout.checksumPath(key), RECORD_READ_SIZE).then(
      (bytes) => {
        const text = bytes.toString('latin1').trim()
        return RECORDED_SHA256.test(text) ? text : undefined
      },
      () => undefined,
    )
  }

  async write(key: string, sha256: string): Promise<void> {
    const file = this.layout.checksumPath(key)
    const record = `${sha256}\n`
    try {
      await writeFile(file, record)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
      await this.makeDirectoryOf(key)
      await writeFile(file, record)
    }
  }

  /** Creates the directory of `key`'s record (its entries need no fsync). */
  async makeDirectoryOf(key: string): Promise<void> {
    await this.directories.ensure(path.dirname(this.layout.checksumPath(key)), false)
  }
}
