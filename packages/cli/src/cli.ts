import { isAttrstoreError } from '@attrstore/core'
import { EXIT, UsageError, type CliIo, type Command } from './command.js'
import { gcCommand } from './commands/gc.js'
import { helpCommand, usage, versionCommand } from './commands/help.js'
import { migrateCommand } from './commands/migrate.js'
import { serveS3Command } from './commands/serve-s3.js'
import { statCommand } from './commands/stat.js'
import { verifyCommand } from './commands/verify.js'
import { InvalidOptionError } from './invalid-option.js'

export { EXIT } from './command.js'
export type { CliIo } from './command.js'

const WORK = [migrateCommand, gcCommand, verifyCommand, statCommand, serveS3Command]
const COMMANDS: readonly Command[] = [...WORK, helpCommand(WORK), versionCommand]
const USAGE = usage(WORK)

const processIo = (): CliIo => ({
  stdout: process.stdout,
  stderr: process.stderr,
  onInterrupt(handler) {
    const onSigint = (): void => handler('SIGINT')
    const onSigterm = (): void => handler('SIGTERM')
    process.on('SIGINT', onSigint)
    process.on('SIGTERM', onSigterm)
    return () => {
      process.off('SIGINT', onSigint)
      process.off('SIGTERM', onSigterm)
    }
  },
})

/** Runs the CLI: finds the command named first in `argv` and runs it; resolves with the exit status. */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const err = (line: string): void => void io.stderr.write(`${line}\n`)
  const [name, ...rest] = argv
  if (name === undefined) {
    io.stdout.write(`${USAGE}\n`)
    return EXIT.usage
  }
  const found = COMMANDS.find((command) => command.name === name || command.aliases?.includes(name))
  if (!found) {
    err(`attrstore: unknown command ${JSON.stringify(name)}\n\n${USAGE}`)
    return EXIT.usage
  }
  try {
    return await found.run(rest, io, argv)
  } catch (error) {
    if (error instanceof UsageError) {
      err(`attrstore ${found.name}: ${error.message}\n\n${found.help}`)
      return EXIT.usage
    }
    // What the set-up gets wrong (the data source module, its database, its storages, an
    // option out of range): the message says what to fix; a stack trace would only bury it.
    if (
      isAttrstoreError(error, 'ATTRSTORE_CONFIGURATION') ||
      isAttrstoreError(error, 'ATTRSTORE_UNAVAILABLE') ||
      error instanceof InvalidOptionError
    ) {
      err(`attrstore ${found.name}: ${(error as Error).message}`)
      return EXIT.usage
    }
    if (isAttrstoreError(error)) {
      err(`attrstore ${found.name}: ${(error as Error).message}`)
      return EXIT.problems
    }
    // Anything else is unexpected: its stack trace is what a bug report needs.
    err(`attrstore ${found.name}: ${(error as Error)?.stack ?? String(error)}`)
    return EXIT.problems
  }
}
