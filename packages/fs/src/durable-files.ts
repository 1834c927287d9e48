import { mkdir, open, type FileHandle } from 'node:fs/promises'
import path from 'node:path'

/**
 * The directories whose entries a `mkdir(directory, { recursive: true })` that returned
 * `firstCreated` changed: the parent of the first directory it created, and every directory
 * it created (each holds the next one, the last holds the new file). All must be fsynced
 * for the new file's name to survive a power cut; none when nothing was created but the
 * directory that receives the file.
 */
export function changedDirectories(directory: string, firstCreated: string | undefined): string[] {
  if (firstCreated === undefined) return [directory]
  const top = path.dirname(firstCreated)
  const changed = [directory]
  for (let current = directory; current !== top;) {
    current = path.dirname(current)
    changed.push(current)
    if (current === path.dirname(current)) break // the file system's root: never past it
  }
  return changed
}

/** Creates `directory` and its missing parents; returns the directories whose entries changed. */
export async function createDirectories(directory: string): Promise<string[]> {
  return changedDirectories(directory, await mkdir(directory, { recursive: true }))
}

/** fsync directories (in parallel) so the entries made in them survive a power loss. Best effort. */
export async function syncDirectories(directories: readonly string[]): Promise<void> {
  await Promise.all(directories.map(syncDirectory))
}

async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r').catch(() => undefined)
  if (!handle) return
  await handle.sync().catch(() => {})
  await handle.close().catch(() => {})
}

/** Writes all of `bytes` from the start of the file: one write call unless the kernel writes short. */
export async function writeAll(handle: FileHandle, bytes: Buffer): Promise<void> {
  let written = 0
  while (written < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, written, bytes.length - written, written)
    written += bytesWritten
  }
}

/** Reads `size` bytes from the start of the file into one new Buffer (fewer if it is shorter). */
export async function readAll(handle: FileHandle, size: number): Promise<Buffer> {
  const bytes = Buffer.allocUnsafe(size)
  let read = 0
  while (read < size) {
    const { bytesRead } = await handle.read(bytes, read, size - read, read)
    if (bytesRead === 0) break
    read += bytesRead
  }
  return read === size ? bytes : bytes.subarray(0, read)
}

/**
 * Up to `maxBytes` of a small file in one read: one open, one read, one close (`readFile`
 * adds an fstat and a read at the end of the file).
 */
export async function readSmallFile(file: string, maxBytes: number): Promise<Buffer> {
  const handle = await open(file, 'r')
  try {
    const { bytesRead, buffer } = await handle.read(Buffer.allocUnsafe(maxBytes), 0, maxBytes, 0)
    return buffer.subarray(0, bytesRead)
  } finally {
    await handle.close().catch(() => {})
  }
}
