/**
 * The local side of imports and exports: finding files, hashing them, guessing media
 * types, and streams that check what flows through them.
 */
import { createReadStream } from 'node:fs'
import { opendir, stat } from 'node:fs/promises'
import path from 'node:path'
import { pipeline, type Readable } from 'node:stream'
import { DigestStream, type Digest } from '@attrstore/core/driver'
import { mediaTypeOf as registeredMediaType } from '@attrstore/core'
import { UserError } from './errors.js'
import { progressBar, type ProgressOptions } from './progress.js'

/** A local file to import, and the name it gets in the archive. */
export interface LocalFile {
  path: string
  name: string
  size: number
}

function describeFsError(error: unknown, what: string): UserError {
  const code = (error as NodeJS.ErrnoException).code
  switch (code) {
    case 'ENOENT':
      return new UserError(`${what}: no such file or directory`)
    case 'EACCES':
    case 'EPERM':
      return new UserError(`${what}: permission denied`)
    case 'ENOTDIR':
      return new UserError(`${what}: not a directory`)
    default:
      return new UserError(`${what}: ${(error as Error).message}`)
  }
}

/** Archive names use "/" whatever the platform, and never start with one. */
function archiveName(...parts: string[]): string {
  return parts
    .join('/')
    .split(/[\\/]+/)
    .filter((part) => part !== '' && part !== '.')
    .join('/')
}

/**
 * Every regular file under `root` (a file or a directory). Reads every directory first, so
 * an unreadable one is reported before anything is imported. A directory `photos` gives
 * names `photos/a.jpg`, `photos/2026/b.jpg`; `as` replaces its first part.
 */
export async function collectFiles(root: string, as?: string): Promise<LocalFile[]> {
  let info
  try {
    info = await stat(root)
  } catch (error) {
    throw describeFsError(error, `cannot import ${root}`)
  }
  if (info.isFile())
    return [{ path: root, name: archiveName(as ?? path.basename(root)), size: info.size }]
  if (!info.isDirectory())
    throw new UserError(`cannot import ${root}: not a regular file or directory`)

  const found: LocalFile[] = []
  const base = as ?? path.basename(path.resolve(root))
  const walk = async (directory: string, relative: string): Promise<void> => {
    let entries
    try {
      entries = await opendir(directory)
    } catch (error) {
      throw describeFsError(error, `cannot read directory ${directory}`)
    }
    const children: string[] = []
    try {
      for await (const entry of entries) children.push(entry.name)
    } catch (error) {
      throw describeFsError(error, `cannot read directory ${directory}`)
    }
    for (const child of children.sort()) {
      const full = path.join(directory, child)
      let childInfo
      try {
        childInfo = await stat(full)
      } catch (error) {
        throw describeFsError(error, `cannot import ${full}`)
      }
      if (childInfo.isDirectory()) await walk(full, archiveName(relative, child))
      else if (childInfo.isFile())
        found.push({ path: full, name: archiveName(base, relative, child), size: childInfo.size })
    }
  }
  await walk(root, '')
  return found
}

/** Opens a local file for reading, turning errors into one-line messages. */
export async function openLocal(file: string): Promise<Readable> {
  const stream = createReadStream(file)
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve())
    stream.once('error', (error) => reject(describeFsError(error, `cannot read ${file}`)))
  })
  return stream
}

/** Size and SHA-256 of a local file, read once. */
export async function hashFile(file: LocalFile, progress: ProgressOptions = {}): Promise<Digest> {
  const bar = progressBar(`hashing   ${file.name}`, file.size, progress)
  const hashing = new DigestStream({ key: file.name, onProgress: ({ bytes }) => bar.update(bytes) })
  const source = await openLocal(file.path)
  await new Promise<void>((resolve, reject) => {
    pipeline(source, hashing, (error) => (error ? reject(error) : resolve()))
    hashing.resume()
  })
  bar.done()
  return hashing.digest
}

/**
 * Wraps `source` in a stream that counts, reports progress, and fails at its end when the
 * bytes are not exactly `expected` (a file changed while it was being imported, a
 * corrupted download). attrstore then keeps nothing.
 */
export function checked(
  source: Readable,
  label: string,
  expected: Digest,
  progress: ProgressOptions = {},
): Readable {
  const bar = progressBar(label, expected.size, progress)
  const checking = new DigestStream({
    key: label,
    expectedSize: expected.size,
    expectedSha256: expected.sha256,
    onProgress: ({ bytes }) => bar.update(bytes),
  })
  checking.once('end', () => bar.done())
  return pipeline(source, checking, () => {})
}

/**
 * The media type registered for the name's extension (the lookup the storages use for a
 * write without a type); `application/octet-stream` when none is known.
 */
export function mediaTypeOf(name: string): string {
  return registeredMediaType(name) ?? 'application/octet-stream'
}
