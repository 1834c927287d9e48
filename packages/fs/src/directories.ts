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
  /**
   * Directories created here whose own entries are not known durable yet, with the
   * directories to fsync for them: a save into one of them fsyncs those too, whichever save
   * created it.
   */
  private readonly undurable = new Map<string, readonly string[]>()

  /**
   * @param root directories at or above it are never looked up in `undurable`
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
    if (changed.length > 1 && this.fsync && durable) {
      const parents = changed.slice(1)
      for (const created of changed.slice(0, -1)) this.undurable.set(created, parents)
    }
    return this.entrySync(directory)
  }

  /**
   * The fsync of `directory` for a new entry in it, and of the parents of the directories
   * above it that were created here and are not known durable yet: all at once, after the
   * body is written, so that a journaling file system commits them together.
   */
  entrySync(directory: string): DirectorySync {
    if (!this.fsync) return async () => {}
    return async () => {
      const directories = new Set([directory])
      const created: string[] = []
      for (let current = directory; current.length > this.root.length;) {
        const parents = this.undurable.get(current)
        if (parents) {
          created.push(current)
          for (const parent of parents) directories.add(parent)
        }
        current = path.dirname(current)
      }
      await syncDirectories([...directories])
      for (const done of created) this.undurable.delete(done)
    }
  }
}
