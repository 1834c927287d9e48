/** `remove <name>...`: deletes rows; attrstore deletes their objects once the deletion is committed. */
import type { File } from '../entity.js'
import { UserError } from '../errors.js'
import { findFile, keyOf, type CommandContext } from './shared.js'

export async function removeCommand(context: CommandContext, names: string[]): Promise<string[]> {
  if (names.length === 0) throw new UserError('remove: give at least one name')
  const files: File[] = []
  for (const name of names) files.push(await findFile(context.archive, name))
  const keys = files.map(keyOf)
  await context.archive.dataSource.transaction((manager) => manager.remove(files))
  files.forEach((file, index) =>
    context.print(`removed ${file.name} (object ${keys[index]} deleted after commit)`),
  )
  return keys
}
