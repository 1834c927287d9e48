/** `list`: every file, from the rows alone. The entity is lazy: nothing is downloaded. */
import type { Archive } from '../archive.js'
import type { File } from '../entity.js'
import { formatBytes } from '../progress.js'
import type { CommandContext } from './shared.js'

export interface ListedFile {
  id: number
  name: string
  mediaType: string
  size: number
  sha256: string
  updatedAt: string
}

/** Every file's row, by name (also what the web page lists). */
export async function listFiles(archive: Archive): Promise<ListedFile[]> {
  const files: File[] = await archive.files.find({ order: { name: 'ASC' } })
  return files.map((file) => ({
    id: file.id,
    name: file.name,
    mediaType: file.mediaType,
    size: file.size,
    sha256: file.sha256,
    updatedAt: file.updatedAt.toISOString(),
  }))
}

export async function listCommand(
  context: CommandContext,
  options: { json?: boolean | undefined } = {},
): Promise<ListedFile[]> {
  const listed = await listFiles(context.archive)
  if (options.json) {
    context.print(JSON.stringify(listed, null, 2))
    return listed
  }
  if (listed.length === 0) {
    context.print('the archive is empty')
    return listed
  }
  const total = listed.reduce((sum, file) => sum + file.size, 0)
  context.print(
    `${'id'.padStart(4)}  ${'size'.padStart(10)}  ${'media type'.padEnd(24)}  ${'updated'.padEnd(19)}  name`,
  )
  for (const file of listed) {
    context.print(
      `${String(file.id).padStart(4)}  ${formatBytes(file.size).padStart(10)}  ${file.mediaType.padEnd(24)}  ${file.updatedAt.slice(0, 19).replace('T', ' ')}  ${file.name}`,
    )
  }
  context.print(`${listed.length} file(s), ${formatBytes(total)}`)
  return listed
}
