/** What every command gets: the open archive, and where to print. */
import { getStorageKey } from '@attrstore/typeorm'
import { In } from 'typeorm'
import type { Archive } from '../archive.js'
import type { File } from '../entity.js'
import { UserError } from '../errors.js'
import type { ProgressOptions } from '../progress.js'

export interface CommandContext {
  archive: Archive
  /** Prints one line of the command's output. */
  print: (line: string) => void
  progress?: ProgressOptions
}

/** The File named `name`, or a one-line refusal. */
export async function findFile(archive: Archive, name: string): Promise<File> {
  const file = await archive.files.findOneBy({ name })
  if (!file) throw new UserError(`no file named ${JSON.stringify(name)} in the archive (see: list)`)
  return file
}

/** Names among `names` that are already in the archive. */
export async function existingNames(archive: Archive, names: string[]): Promise<string[]> {
  const found: string[] = []
  for (let at = 0; at < names.length; at += 500) {
    const rows = await archive.files.find({
      select: { name: true },
      where: { name: In(names.slice(at, at + 500)) },
    })
    found.push(...rows.map((row) => row.name))
  }
  return found
}

/** The storage key kept in a loaded File's `data` column. */
export function keyOf(file: File): string {
  const key = getStorageKey(file, 'data')
  if (typeof key !== 'string') throw new Error(`File ${file.name} has no storage key`)
  return key
}
