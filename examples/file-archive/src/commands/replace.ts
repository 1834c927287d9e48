/**
 * `replace <name> <file>`: new content for an archived file. attrstore uploads it under a
 * NEW key (an object is never overwritten), and deletes the old object only once the row
 * update is committed: a failure at any point leaves the old content in place.
 */
import type { File } from '../entity.js'
import { UserError } from '../errors.js'
import { checked, collectFiles, hashFile, mediaTypeOf, openLocal } from '../local-files.js'
import { formatBytes } from '../progress.js'
import { findFile, keyOf, type CommandContext } from './shared.js'

export async function replaceCommand(
  context: CommandContext,
  name: string,
  source: string,
  options: { mediaType?: string | undefined } = {},
): Promise<{ file: File; oldKey: string; newKey: string }> {
  const { archive, progress } = context
  const [local] = await collectFiles(source, name)
  if (!local || local.path !== source)
    throw new UserError(`replace: ${source} is not a regular file`)
  const file = await findFile(archive, name)
  const oldKey = keyOf(file)
  const digest = await hashFile(local, progress)
  file.size = digest.size
  file.sha256 = digest.sha256
  file.mediaType =
    options.mediaType ??
    (mediaTypeOf(source) === 'application/octet-stream' ? file.mediaType : mediaTypeOf(source))
  file.data = checked(await openLocal(local.path), `uploading ${name}`, digest, progress)
  await archive.files.save(file)
  const newKey = keyOf(file)
  context.print(
    `replaced ${name}: now ${formatBytes(file.size)}, object ${oldKey} -> ${newKey} (old object deleted after commit)`,
  )
  return { file, oldKey, newKey }
}
