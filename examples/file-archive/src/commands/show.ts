/** `show <name>`: a file's row, its storage key, and what the storage says about the object. */
import type { ObjectStat } from '@attrstore/core'
import type { StoredContent } from '@attrstore/typeorm'
import { formatBytes } from '../progress.js'
import { findFile, keyOf, type CommandContext } from './shared.js'

export interface ShownFile {
  id: number
  name: string
  mediaType: string
  size: number
  sha256: string
  createdAt: string
  updatedAt: string
  key: string
  object: ObjectStat
}

export async function showCommand(
  context: CommandContext,
  name: string,
  options: { json?: boolean | undefined } = {},
): Promise<ShownFile> {
  const file = await findFile(context.archive, name)
  // A lazy attribute: a handle; stat() asks the storage (one request), downloading nothing.
  const object = await (file.data as StoredContent).stat()
  const shown: ShownFile = {
    id: file.id,
    name: file.name,
    mediaType: file.mediaType,
    size: file.size,
    sha256: file.sha256,
    createdAt: file.createdAt.toISOString(),
    updatedAt: file.updatedAt.toISOString(),
    key: keyOf(file),
    object,
  }
  if (options.json) {
    context.print(JSON.stringify(shown, null, 2))
    return shown
  }
  const { print } = context
  print(`#${shown.id} ${shown.name}`)
  print(`  media type  ${shown.mediaType}`)
  print(`  size        ${formatBytes(shown.size)} (${shown.size} bytes)`)
  print(`  sha256      ${shown.sha256}`)
  print(`  created     ${shown.createdAt}`)
  print(`  updated     ${shown.updatedAt}`)
  print(`  storage key ${shown.key}   (this is all the database row holds of the content)`)
  print(
    `  object      ${object.size} bytes${object.contentType ? `, ${object.contentType}` : ''}` +
      `${object.sha256 ? `, sha256 ${object.sha256 === shown.sha256 ? 'matches' : `DIFFERS: ${object.sha256}`}` : ''}` +
      `${object.lastModified ? `, stored ${object.lastModified.toISOString()}` : ''}`,
  )
  return shown
}
