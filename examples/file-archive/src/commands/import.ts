/**
 * `import <path>...`: a file, or every file of a directory, streamed into the storage
 * while its row is written, all in one transaction: either every file is archived, or
 * none is (attrstore deletes the objects it uploaded when the transaction rolls back).
 */
import type { File } from '../entity.js'
import { UserError } from '../errors.js'
import {
  checked,
  collectFiles,
  hashFile,
  mediaTypeOf,
  openLocal,
  type LocalFile,
} from '../local-files.js'
import { formatBytes } from '../progress.js'
import { existingNames, keyOf, type CommandContext } from './shared.js'

export interface ImportOptions {
  /** Name in the archive (a file), or the first part of every name (a directory). */
  name?: string | undefined
  /** Media type, instead of guessing from the extension. */
  mediaType?: string | undefined
}

export async function importCommand(
  context: CommandContext,
  paths: string[],
  options: ImportOptions = {},
): Promise<File[]> {
  const { archive, print, progress } = context
  if (paths.length === 0) throw new UserError('import: give at least one file or directory')
  if (options.name !== undefined && paths.length > 1)
    throw new UserError('import: --name needs exactly one path')

  // 1. Plan: read every directory and check every name before storing anything.
  const planned: LocalFile[] = []
  for (const given of paths) planned.push(...(await collectFiles(given, options.name)))
  if (planned.length === 0) throw new UserError(`import: no files found in ${paths.join(', ')}`)
  const seen = new Set<string>()
  for (const file of planned) {
    if (seen.has(file.name))
      throw new UserError(`import: two files would be named ${JSON.stringify(file.name)}`)
    seen.add(file.name)
  }
  const taken = await existingNames(archive, [...seen])
  if (taken.length > 0) {
    throw new UserError(
      `import: already in the archive: ${taken.slice(0, 3).join(', ')}${taken.length > 3 ? ` and ${taken.length - 3} more` : ''} (use replace to change a file's content)`,
    )
  }

  // 2. Store: one transaction for the lot.
  const saved = await archive.dataSource.transaction(async (manager) => {
    const repository = manager.getRepository<File>(archive.files.target)
    const done: File[] = []
    for (const local of planned) {
      const digest = await hashFile(local, progress)
      const file = repository.create({
        name: local.name,
        mediaType: options.mediaType ?? mediaTypeOf(local.name),
        size: digest.size,
        sha256: digest.sha256,
        // A stream: attrstore uploads it as it is read, never holding it whole in memory.
        data: checked(await openLocal(local.path), `uploading ${local.name}`, digest, progress),
      })
      await repository.save(file)
      done.push(file)
    }
    return done
  })
  for (const file of saved) {
    print(
      `imported ${file.name} (${formatBytes(file.size)}, ${file.mediaType}) as #${file.id} -> object ${keyOf(file)}`,
    )
  }
  return saved
}
