import path from 'node:path'
import { createDirectories, syncDirectories } from './durable-files.js'

/** Makes the new entries of a directory durable. */
export type DirectorySync = () => Promise<void>

/**
 * The directories of one storage root: creates them, remembers those it created, and says
 * what makes a new file's name in one of them survive a power cut.
 */
export class Directories {
  private readonly created = new Set<string>()
  /** Directories created here whose own entries' fsync is still running. */
  private readonly syncing = new Map<string, Promise<void>>()

  /**
   * @param root directories at or above it are never waited for
   * @param fsync false: nothing is fsynced (the storage's `fsync: false`)
   */
  constructor(
    private readonly root: string,
    private readonly fsync: boolean,
  ) {}

  /**
   * Creates `directory` and its missing parents (the file system's errors are thrown as
   * they are). Returns what makes a new entry in `directory` durable: an fsync of it, and
   * of every directory whose entries this call changed (the parents of those it created).
   * `durable: false` (the storage's own records and temporary files): nothing is fsynced.
   */
  async ensure(directory: string, durable = true): Promise<DirectorySync> {
    if (this.created.has(directory)) return this.entrySync(directory)
    const changed = await createDirectories(directory)
    if (this.created.size > 10_000) this.created.clear()
    this.created.add(directory)
    if (changed.length === 1 || !this.fsync || !durable) return this.entrySync(directory)
    // The new directories' own entries, fsynced from now on, while the body is written. A
    // save racing this one into a directory it created waits for it too (entrySync).
    const parents = syncDirectories(changed.slice(1))
    for (const created of changed.slice(0, -1)) {
      this.syncing.set(created, parents)
      void parents.then(() => this.syncing.delete(created))
    }
    return async () => {
      await Promise.all([parents, syncDirectories([directory])])
    }
  }

  /**
   * The fsync of `directory` for a new entry in it, with the wait for the fsync of its own
   * entry when a save of this storage created it and is still making it durable.
   */
  entrySync(directory: string): DirectorySync {
    if (!this.fsync) return async () => {}
    return async () => {
      const waits: Promise<void>[] = [syncDirectories([directory])]
      for (let current = directory; current.length > this.root.length;) {
        const syncing = this.syncing.get(current)
        if (syncing) waits.push(syncing)
        current = path.dirname(current)
      }
      await Promise.all(waits)
    }
  }
}
