/**
 * `export <name> [destination]`: streams a file's content back to disk, checking its size
 * and SHA-256 on the way. Writes to a temporary file renamed into place at the end, so a
 * failed export never leaves a partial file under the destination's name.
 */
import { createWriteStream } from 'node:fs'
import { rename, stat, unlink } from 'node:fs/promises'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import type { StoredContent } from '@attrstore/typeorm'
import { UserError } from '../errors.js'
import { checked } from '../local-files.js'
import { formatBytes } from '../progress.js'
import { findFile, type CommandContext } from './shared.js'

async function kindOf(target: string): Promise<'directory' | 'file' | 'none'> {
  try {
    return (await stat(target)).isDirectory() ? 'directory' : 'file'
  } catch {
    return 'none'
  }
}

export async function exportCommand(
  context: CommandContext,
  name: string,
  destination: string | undefined,
  options: { force?: boolean | undefined } = {},
): Promise<string> {
  const file = await findFile(context.archive, name)
  let target = destination ?? path.basename(file.name)
  if ((await kindOf(target)) === 'directory') target = path.join(target, path.basename(file.name))
  if ((await kindOf(target)) !== 'none' && !options.force) {
    throw new UserError(`export: ${target} already exists (use --force to overwrite it)`)
  }
  if ((await kindOf(path.dirname(path.resolve(target)))) !== 'directory') {
    throw new UserError(`export: cannot write ${target}: no such directory ${path.dirname(target)}`)
  }
  const temporary = `${target}.partial-${process.pid}`
  const content = await (file.data as StoredContent).stream()
  try {
    await pipeline(
      checked(content, `exporting ${file.name}`, file, context.progress),
      createWriteStream(temporary, { flags: 'wx' }),
    )
    await rename(temporary, target)
  } catch (error) {
    await unlink(temporary).catch(() => {})
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EACCES' || code === 'EPERM')
      throw new UserError(`export: cannot write ${target}: permission denied`)
    throw error
  }
  context.print(`exported ${file.name} (${formatBytes(file.size)}, sha256 checked) to ${target}`)
  return target
}
