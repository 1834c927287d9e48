/**
 * The file-archive command line. Rows (name, media type, size, SHA-256, dates, storage
 * key) in SQLite or PostgreSQL; bytes in S3, through attrstore.
 *
 *   pnpm archive import <file|directory>... [--name NAME] [--type MEDIA/TYPE]
 *   pnpm archive list [--json]
 *   pnpm archive show <name> [--json]
 *   pnpm archive export <name> [destination] [--force]
 *   pnpm archive replace <name> <file> [--type MEDIA/TYPE]
 *   pnpm archive remove <name>...
 *   pnpm archive check [--deep] [--json]
 *   pnpm archive tour [--keep]
 *   pnpm archive serve [--port N] [--host H]
 */
import { parseArgs } from 'node:util'
import { openArchive } from './archive.js'
import { checkCommand } from './commands/check.js'
import { exportCommand } from './commands/export.js'
import { importCommand } from './commands/import.js'
import { listCommand } from './commands/list.js'
import { removeCommand } from './commands/remove.js'
import { replaceCommand } from './commands/replace.js'
import { serveCommand } from './commands/serve.js'
import type { CommandContext } from './commands/shared.js'
import { showCommand } from './commands/show.js'
import { tourCommand } from './commands/tour.js'
import { resolveConfig } from './config.js'
import { describeFailure, EXIT, UserError } from './errors.js'

const USAGE = `usage: archive <command> [arguments]

  import <file|directory>... [--name NAME] [--type MEDIA/TYPE]   archive files (streamed)
  list [--json]                                                  list archived files
  show <name> [--json]                                           a file's row and object
  export <name> [destination] [--force]                          stream a file back to disk
  replace <name> <file> [--type MEDIA/TYPE]                      new content for a file
  remove <name>...                                               delete files
  check [--deep] [--json]                                        is every row's object there?
  tour [--keep]                                                  all of the above on sample files
  serve [--port N] [--host H]                                    a web page: list, upload, download, preview

Configuration (environment): DATABASE_URL (PostgreSQL), AWS_S3_ENDPOINT_URL + AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY (MinIO or any S3 server), AWS credentials alone (AWS S3), ARCHIVE_BUCKET,
ARCHIVE_DIR. With none: a SQLite file and an in-process S3 server under examples/file-archive/archive-data.`

const ARITY: Record<string, [min: number, max: number]> = {
  import: [1, Infinity],
  list: [0, 0],
  show: [1, 1],
  export: [1, 2],
  replace: [2, 2],
  remove: [1, Infinity],
  check: [0, 0],
  tour: [0, 0],
  serve: [0, 0],
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals: args } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      name: { type: 'string' },
      type: { type: 'string' },
      force: { type: 'boolean' },
      json: { type: 'boolean' },
      deep: { type: 'boolean' },
      keep: { type: 'boolean' },
      port: { type: 'string' },
      host: { type: 'string' },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  const [command, ...rest] = args
  if (values.help || !command) {
    process.stdout.write(`${USAGE}\n`)
    return values.help ? EXIT.ok : EXIT.usage
  }
  const arity = ARITY[command]
  if (!arity)
    throw new UserError(
      `unknown command ${JSON.stringify(command)} (see: archive --help)`,
      EXIT.usage,
    )
  if (rest.length < arity[0] || rest.length > arity[1]) {
    throw new UserError(`${command}: wrong number of arguments (see: archive --help)`, EXIT.usage)
  }
  const print = (line: string): void => void process.stdout.write(`${line}\n`)
  if (command === 'tour') {
    await tourCommand({ print, keep: values.keep ?? false })
    return EXIT.ok
  }

  const config = resolveConfig()
  const archive = await openArchive(config)
  // Which database and storage: on stderr, so that --json output stays parseable.
  if (!values.quiet) for (const line of archive.describe()) process.stderr.write(`${line}\n`)
  const context: CommandContext = { archive, print }
  try {
    switch (command) {
      case 'import':
        await importCommand(context, rest, { name: values.name, mediaType: values.type })
        return EXIT.ok
      case 'list':
        await listCommand(context, { json: values.json })
        return EXIT.ok
      case 'show':
        await showCommand(context, rest[0]!, { json: values.json })
        return EXIT.ok
      case 'export': {
        const [name, destination] = rest
        await exportCommand(context, name!, destination, { force: values.force })
        return EXIT.ok
      }
      case 'replace': {
        const [name, source] = rest
        await replaceCommand(context, name!, source!, { mediaType: values.type })
        return EXIT.ok
      }
      case 'remove':
        await removeCommand(context, rest)
        return EXIT.ok
      case 'serve':
        await serveCommand(context, { port: values.port, host: values.host })
        return EXIT.ok
      case 'check': {
        const report = await checkCommand(context, { deep: values.deep, json: values.json })
        return report.consistent ? EXIT.ok : EXIT.failure
      }
    }
    return EXIT.usage
  } finally {
    await archive.close()
  }
}

// Paths on the command line are the user's: under `pnpm archive`, pnpm runs us in the
// package's directory and keeps the caller's in INIT_CWD.
if (process.env.INIT_CWD) process.chdir(process.env.INIT_CWD)
try {
  process.exitCode = await main(process.argv.slice(2))
} catch (error) {
  if (process.env.ARCHIVE_DEBUG) console.error(error)
  const { message, exitCode } = describeFailure(
    error instanceof TypeError &&
      (error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')
      ? new UserError(`${error.message.split('.')[0]} (see: archive --help)`, EXIT.usage)
      : error,
  )
  process.stderr.write(`archive: ${message}\n`)
  process.exitCode = exitCode
}
