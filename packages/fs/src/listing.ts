import { opendir, stat } from 'node:fs/promises'
import path from 'node:path'
import type { ListedObject } from '@attrstore/core'
import { RESERVED_DIRECTORY, type Layout } from './layout.js'

const MISSING = new Set(['ENOENT', 'ENOTDIR', 'EISDIR'])

/**
 * Every object file under `directory` whose key starts with `prefix`, depth first,
 * skipping the storage's own directory and the directories the prefix rules out. An
 * unreadable directory throws what `unreadable` makes of the error; a missing one is empty.
 */
export async function* walkObjects(
  layout: Layout,
  directory: string,
  prefix: string,
  unreadable: (error: unknown, directory: string) => Error,
): AsyncIterable<ListedObject> {
  let entries
  try {
    entries = await opendir(directory)
  } catch (error) {
    if (MISSING.has((error as NodeJS.ErrnoException).code ?? '')) return
    throw unreadable(error, directory)
  }
  for await (const entry of entries) {
    const full = path.join(directory, entry.name)
    if (directory === layout.root && entry.name === RESERVED_DIRECTORY) continue
    const key = layout.keyOf(full)
    if (entry.isDirectory()) {
      if (key.startsWith(prefix) || prefix.startsWith(`${key}/`))
        yield* walkObjects(layout, full, prefix, unreadable)
    } else if (entry.isFile() && key.startsWith(prefix)) {
      const info = await stat(full).catch(() => undefined)
      if (info) yield { key, size: info.size, lastModified: info.mtime }
    }
  }
}
