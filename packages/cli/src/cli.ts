import { readFileSync } from 'node:fs'
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { isAttrstoreError } from '@attrstore/core'
import { loadDataSource, type LoadedDataSource } from './data-source-loader.js'
import { formatBytes, formatCount, formatDuration, parseDuration, table } from './format.js'
import { collectGarbage, DEFAULT_GRACE_MS, type GarbageReport, type Tally } from './gc.js'
import { migrate, type MigrateReport } from './migrate.js'
import { ProgressDisplay, type ProgressStream } from './progress.js'
import { statistics, type Statistics } from './stat.js'
import { verify, type VerifyReport } from './verify.js'

/** Where the CLI writes, and what it listens to: the process's by default, fakes in tests. */
export interface CliIo {
  stdout: ProgressStream
  stderr: ProgressStream
  /** Subscribes to Ctrl-C / SIGTERM; returns the unsubscribe function. */
  onInterrupt?: (handler: (signal: 'SIGINT' | 'SIGTERM') => void) => () => void
}

export const EXIT = { ok: 0, problems: 1, usage: 2, interrupted: 130 } as const

class UsageError extends Error {}

const COMMON = {
  'data-source': { type: 'string', short: 'd' },
  tsconfig: { type: 'string' },
  json: { type: 'boolean' },
  'no-progress': { type: 'boolean' },
  'progress-interval': { type: 'string' },
  entity: { type: 'string', short: 'e' },
  attribute: { type: 'string', short: 'a' },
  'batch-size': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options']

const OPTIONS = {
  migrate: {
    ...COMMON,
    'from-column': { type: 'string' },
    from: { type: 'string' },
    'delete-source': { type: 'boolean' },
    concurrency: { type: 'string' },
    after: { type: 'string' },
    'dry-run': { type: 'boolean' },
  },
  gc: {
    ...COMMON,
    grace: { type: 'string' },
    delete: { type: 'boolean' },
    'dry-run': { type: 'boolean' },
    list: { type: 'boolean' },
    'ignore-auto-delete': { type: 'boolean' },
  },
  verify: { ...COMMON, checksums: { type: 'boolean' }, concurrency: { type: 'string' } },
  stat: { ...COMMON, grace: { type: 'string' } },
} as const satisfies Record<string, ParseArgsConfig['options']>

type Command = keyof typeof OPTIONS

const HELP = `Usage: attrstore <command> -d <data-source> [options]

Commands:
  migrate   move a stored attribute's bytes into its registered storage
  gc        find unreferenced objects (dry run), and with --delete remove them
  verify    check that every row's object exists; --checksums also checks content
  stat      rows, objects, bytes and orphans per stored attribute

Options of every command:
  -d, --data-source <file>    module exporting the TypeORM DataSource (.ts, .js, ...)
      --tsconfig <file>       tsconfig.json for a TypeScript data source (default: nearest)
  -e, --entity <name>         only this entity (class or table name)
  -a, --attribute <name>      only this stored attribute (property path)
      --batch-size <n>        rows (migrate, verify) or objects (gc, stat) per batch
      --json                  print the report as JSON on stdout
      --no-progress           no progress display (it goes to stderr)
      --progress-interval <d> without a terminal, a progress line every <d> (default 10s)
  -h, --help                  this help; \`attrstore <command> --help\` for one command
  -v, --version

Durations: 24h, 90m, 30s, 2d, 500ms, 0 (a bare number is seconds).
Exit status: 0 done, 1 problems found, 2 usage or configuration error, 130 interrupted.`

const COMMAND_HELP: Record<Command, string> = {
  migrate: `Usage: attrstore migrate -d <data-source> -e <Entity> -a <attribute> (--from-column <column> | --from <export>) [options]

Moves the bytes of a stored attribute into the storage registered for it with setStorage,
in batches of rows in primary-key order, one transaction per batch. Every copy is re-read
and its SHA-256 compared with the source before the row is rewritten.

Sources:
      --from-column <column>  a column of the same table holding the bytes (bytea, blob...);
                              rows whose stored attribute is null are filled
      --from <export>         a storage exported by the data-source module, holding the
                              objects the attribute's keys name now (e.g. the old filesystem
                              storage when moving to S3); keys are rewritten

Options:
      --delete-source         delete the source copies: the column is cleared in the same
                              UPDATE that writes the key; old objects are deleted after
                              the batch committed, when no row references them any more
      --dry-run               count what would be done; change nothing
      --batch-size <n>        rows per batch and transaction (default 200); a column source
                              holds one batch of bytes in memory
      --concurrency <n>       objects copied at once (default 4)
      --after <pk>            skip rows up to this primary key (JSON for composite keys)

Resumable: run the same command again after Ctrl-C, a crash or kill -9; rows already
migrated are recognised (non-null attribute / key found only in the destination) and
skipped. Ctrl-C once: finish and commit the current batch, then stop. Twice: abandon it
(copies deleted, nothing committed).`,
  gc: `Usage: attrstore gc -d <data-source> [--delete] [--grace 24h] [options]

Lists every object of each storage and asks the database which ones rows reference (all
stored attributes sharing the storage, soft-deleted rows included). Unreferenced objects
older than the grace period are orphans. Also removes stale temporary files (filesystem
storage) and aborts stale multipart uploads (S3) older than the grace period.

      --delete                delete the orphans (without it: a dry run, the default)
      --dry-run               only count (the default)
      --grace <duration>      keep unreferenced objects younger than this (default 24h)
      --list                  print every orphan's key
      --ignore-auto-delete    also delete from storages with autoDelete: false (by default
                              their orphans are only counted: they keep superseded objects
                              on purpose)
      --batch-size <n>        objects per batch of reference queries (default 1000)`,
  verify: `Usage: attrstore verify -d <data-source> [--checksums] [options]

For every row with a key (soft-deleted rows included), checks that its object exists and,
with --checksums, re-reads it and compares its SHA-256 with the one recorded at write time.
Prints missing and corrupt objects by entity, id and key; exits with 1 when there are any.

      --checksums             re-read and hash every object
      --concurrency <n>       objects checked at once (default 8)
      --batch-size <n>        rows per page (default 500)`,
  stat: `Usage: attrstore stat -d <data-source> [options]

Per stored attribute: rows, rows with a key, objects, bytes, missing objects; per storage:
objects, referenced, orphans (unreferenced, older than the grace period), recent.

      --grace <duration>      age before an unreferenced object counts as an orphan (default 24h)
      --batch-size <n>        objects per batch of reference queries (default 1000)`,
}

function version(): string {
  const manifest = JSON.parse(
    readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
  ) as { version: string }
  return manifest.version
}

function positiveInteger(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined
  const number = Number(value)
  if (!Number.isSafeInteger(number) || number <= 0)
    throw new UsageError(`--${name} must be a positive integer, got ${JSON.stringify(value)}`)
  return number
}

function duration(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined
  try {
    return parseDuration(value)
  } catch (error) {
    throw new UsageError(`--${name}: ${(error as Error).message}`)
  }
}

function quote(argument: string): string {
  return /^[\w@%+=:,./-]+$/.test(argument) ? argument : `'${argument.replace(/'/g, `'\\''`)}'`
}

/** The command line to run again to resume, with `--after` set to the last committed row. */
function resumeCommand(argv: readonly string[], after: string | undefined): string {
  const kept: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const argument = argv[i]!
    if (argument === '--after') {
      i++
      continue
    }
    if (argument.startsWith('--after=')) continue
    kept.push(argument)
  }
  if (after !== undefined) kept.push('--after', after)
  return ['attrstore', ...kept].map(quote).join(' ')
}

const defaultIo = (): CliIo => ({
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

/** Runs the CLI; resolves with the exit status. */
export async function main(argv: readonly string[], io: CliIo = defaultIo()): Promise<number> {
  const out = (line = ''): void => void io.stdout.write(`${line}\n`)
  const err = (line: string): void => void io.stderr.write(`${line}\n`)
  const [command, ...rest] = argv
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    out(HELP)
    return command === undefined ? EXIT.usage : EXIT.ok
  }
  if (command === '-v' || command === '--version') {
    out(version())
    return EXIT.ok
  }
  if (!(command in OPTIONS)) {
    err(`attrstore: unknown command ${JSON.stringify(command)}\n\n${HELP}`)
    return EXIT.usage
  }
  const name = command as Command

  let values: Record<string, string | boolean | undefined>
  try {
    values = parseArgs({
      args: [...rest],
      options: OPTIONS[name],
      allowPositionals: false,
      strict: true,
    }).values as Record<string, string | boolean | undefined>
  } catch (error) {
    err(`attrstore ${name}: ${(error as Error).message}\n\n${COMMAND_HELP[name]}`)
    return EXIT.usage
  }
  if (values.help) {
    out(COMMAND_HELP[name])
    return EXIT.ok
  }

  let progress: ProgressDisplay | undefined
  const say = (line: string): void => (progress ? progress.log(line) : err(line))
  // Ctrl-C once: stop after the current batch. Twice: abandon it. Three times: exit now.
  const stop = new AbortController()
  const abandon = new AbortController()
  let interrupts = 0
  let unsubscribe: (() => void) | undefined
  let loaded: LoadedDataSource | undefined
  try {
    // Everything the command line can get wrong is refused before the data source is loaded.
    const file = values['data-source'] as string | undefined
    if (!file) throw new UsageError('-d, --data-source <file> is required')
    const batchSize = positiveInteger(values['batch-size'] as string | undefined, 'batch-size')
    const concurrency = positiveInteger(values.concurrency as string | undefined, 'concurrency')
    const graceMs = duration(values.grace as string | undefined, 'grace')
    const intervalMs = duration(
      values['progress-interval'] as string | undefined,
      'progress-interval',
    )
    const fromColumn = values['from-column'] as string | undefined
    const fromExport = values.from as string | undefined
    if (name === 'migrate') {
      if (!values.entity || !values.attribute) {
        throw new UsageError('migrate needs --entity and --attribute: the stored attribute to fill')
      }
      if ((fromColumn === undefined) === (fromExport === undefined)) {
        throw new UsageError(
          'migrate needs exactly one source: --from-column <column> or --from <export>',
        )
      }
    }
    if (values.delete && values['dry-run'])
      throw new UsageError('--delete and --dry-run contradict each other')
    const json = values.json === true

    if (!values['no-progress'])
      progress = new ProgressDisplay({ stream: io.stderr, intervalMs: intervalMs ?? 10_000 })
    unsubscribe = io.onInterrupt?.((signal) => {
      interrupts++
      // gc, verify and stat may stop anywhere: only a migration has a batch to settle.
      const settles = name === 'migrate'
      if (interrupts === 1 && signal === 'SIGINT') {
        stop.abort()
        say(
          `\nStopping after the current batch (Ctrl-C again to ${settles ? 'abandon it' : 'exit now'}).`,
        )
      } else if (settles && interrupts <= 2) {
        abandon.abort()
        stop.abort()
        say(
          '\nStopping now: the batch in progress is abandoned (nothing of it committed, its copies deleted).',
        )
      } else {
        say('Exiting now.')
        process.exit(EXIT.interrupted)
      }
    })

    const tsconfig = values.tsconfig as string | undefined
    loaded = await loadDataSource(file, tsconfig === undefined ? {} : { tsconfig })
    const common = {
      bindings: loaded.bindings(),
      entity: values.entity as string | undefined,
      attribute: values.attribute as string | undefined,
      onProgress: progress?.listener,
    }

    switch (name) {
      case 'migrate': {
        const report = await migrate(loaded.dataSource, {
          ...common,
          entity: common.entity!,
          attribute: common.attribute!,
          from:
            fromColumn !== undefined
              ? { column: fromColumn }
              : { storage: loaded.storage(fromExport!) },
          deleteSource: values['delete-source'] === true,
          dryRun: values['dry-run'] === true,
          ...(values.after === undefined ? {} : { after: values.after as string }),
          ...(batchSize === undefined ? {} : { batchSize }),
          ...(concurrency === undefined ? {} : { concurrency }),
          signal: abandon.signal,
          stopSignal: stop.signal,
          onProblem: (problem) =>
            say(
              `${problem.kind.padEnd(8)} ${common.entity}.${common.attribute} id=${problem.id}${problem.key ? ` key=${problem.key}` : ''}: ${problem.detail}`,
            ),
        })
        progress?.close()
        if (json) out(JSON.stringify(report, null, 2))
        else printMigrate(out, report)
        if (!report.complete) {
          const last = report.lastCommitted
          err(
            `\nInterrupted. ${last === undefined ? 'No batch was committed' : `Batches up to id ${last} are committed`}; ` +
              (abandon.signal.aborted
                ? 'the batch in progress was abandoned (nothing of it committed, its copies deleted). '
                : 'the batch in progress was finished first. ') +
              'Nothing is lost. Resume with the same command: rows already migrated are skipped' +
              (last === undefined
                ? '.'
                : `; to skip even reading them:\n  ${resumeCommand(argv, last)}`),
          )
          return EXIT.interrupted
        }
        return report.problemCount ? EXIT.problems : EXIT.ok
      }
      case 'gc': {
        const report = await collectGarbage(loaded.dataSource, {
          ...common,
          delete: values.delete === true,
          ignoreAutoDelete: values['ignore-auto-delete'] === true,
          ...(graceMs === undefined ? {} : { graceMs }),
          ...(batchSize === undefined ? {} : { batchSize }),
          signal: stop.signal,
          ...(values.list
            ? {
                onOrphan: (o) =>
                  say(
                    `${o.deleted ? 'deleted' : 'orphan '} ${o.store}${o.key} ${formatBytes(o.size)}${o.lastModified ? ` ${o.lastModified.toISOString()}` : ''}`,
                  ),
              }
            : {}),
        })
        progress?.close()
        if (json) out(JSON.stringify(report, null, 2))
        else printGarbage(out, report)
        if (!report.complete) {
          err(
            '\nInterrupted: orphans deleted so far stay deleted; nothing else was touched. Run gc again to continue.',
          )
          return EXIT.interrupted
        }
        return EXIT.ok
      }
      case 'verify': {
        const report = await verify(loaded.dataSource, {
          ...common,
          checksums: values.checksums === true,
          ...(batchSize === undefined ? {} : { batchSize }),
          ...(concurrency === undefined ? {} : { concurrency }),
          signal: stop.signal,
          ...(json
            ? {}
            : {
                onProblem: (p) =>
                  say(
                    `${p.kind.padEnd(8)} ${p.entity}.${p.attribute} id=${p.id} key=${p.key}${p.detail && p.kind !== 'missing' ? `: ${p.detail}` : ''}`,
                  ),
              }),
        })
        progress?.close()
        if (json) out(JSON.stringify(report, null, 2))
        else printVerify(out, report)
        if (!report.complete) {
          err('\nInterrupted: the report above covers the rows checked so far.')
          return EXIT.interrupted
        }
        return report.problemCount ? EXIT.problems : EXIT.ok
      }
      case 'stat': {
        const report = await statistics(loaded.dataSource, {
          ...common,
          ...(graceMs === undefined ? {} : { graceMs }),
          ...(batchSize === undefined ? {} : { batchSize }),
          signal: stop.signal,
        })
        progress?.close()
        if (json) out(JSON.stringify(report, null, 2))
        else printStatistics(out, report)
        return report.complete ? EXIT.ok : EXIT.interrupted
      }
      default:
        return EXIT.usage
    }
  } catch (error) {
    progress?.close()
    if (error instanceof UsageError) {
      err(`attrstore ${name}: ${error.message}\n\n${COMMAND_HELP[name]}`)
      return EXIT.usage
    }
    if (isAttrstoreError(error, 'ATTRSTORE_CONFIGURATION') || error instanceof RangeError) {
      err(`attrstore ${name}: ${(error as Error).message}`)
      return EXIT.usage
    }
    err(`attrstore ${name}: ${(error as Error)?.stack ?? String(error)}`)
    return EXIT.problems
  } finally {
    unsubscribe?.()
    await loaded?.destroy().catch(() => {})
  }
}

function tallyText(tally: Tally): string {
  return `${formatCount(tally.count)} (${formatBytes(tally.bytes)})`
}

function printMigrate(out: (line?: string) => void, report: MigrateReport): void {
  const verb = report.dryRun ? 'would copy' : 'copied'
  out(
    `${report.dryRun ? '[dry run] ' : ''}migrate ${report.attribute}: ${report.source} -> ${report.destination}`,
  )
  out(`  rows scanned          ${formatCount(report.scanned)}`)
  out(`  ${verb.padEnd(20)}  ${formatCount(report.copied)} rows, ${formatBytes(report.bytes)}`)
  out(`  already migrated      ${formatCount(report.alreadyMigrated)}`)
  out(
    `  source ${report.dryRun ? 'to delete    ' : 'deleted      '}  ${formatCount(report.sourceDeleted)}`,
  )
  if (report.changedConcurrently)
    out(`  changed meanwhile     ${formatCount(report.changedConcurrently)} (left as they were)`)
  out(`  problems              ${formatCount(report.problemCount)}`)
}

function printGarbage(out: (line?: string) => void, report: GarbageReport): void {
  out(`${report.dryRun ? '[dry run] ' : ''}gc, grace period ${formatDuration(report.graceMs)}`)
  for (const store of report.stores) {
    out(`${store.store}  (used by ${store.users.join(', ')})`)
    if (store.keptByPolicy) {
      out(
        '  autoDelete is false: superseded objects are kept on purpose; only counted (--ignore-auto-delete deletes)',
      )
    }
    out(`  objects listed        ${tallyText(store.listed)}`)
    out(`  referenced            ${tallyText(store.referenced)}`)
    out(
      `  orphans               ${tallyText(store.orphans)}${report.dryRun ? '  <- would be deleted with --delete' : ''}`,
    )
    if (!report.dryRun && !store.keptByPolicy)
      out(`  deleted               ${tallyText(store.deleted)}`)
    out(
      `  recent, kept          ${tallyText(store.recent)}  (unreferenced, younger than the grace period)`,
    )
    if (store.undated.count) out(`  undated, kept         ${tallyText(store.undated)}`)
    if (store.staleWrites !== undefined) {
      const stale = store.staleWrites
      out(
        `  stale ${stale.kind.padEnd(15)} ${
          !stale.supported
            ? 'not listable on this server'
            : report.dryRun
              ? `${formatCount(stale.found - stale.kept)} would be removed`
              : `${formatCount(stale.removed)}${stale.bytes === undefined ? '' : ` (${formatBytes(stale.bytes)})`} removed${stale.failed ? `, ${formatCount(stale.failed)} failed` : ''}`
        }`,
      )
    }
  }
  if (report.dryRun && report.stores.some((store) => store.orphans.count > 0))
    out('Dry run: nothing was deleted. Run with --delete to delete the orphans.')
}

function printVerify(out: (line?: string) => void, report: VerifyReport): void {
  out(
    table(
      [
        'attribute',
        'rows',
        'missing',
        'corrupt',
        'errors',
        ...(report.checksums ? ['unverifiable', 'bytes read'] : []),
      ],
      report.attributes.map((a) => [
        `${a.entity}.${a.attribute}`,
        formatCount(a.rows),
        formatCount(a.missing),
        formatCount(a.corrupt),
        formatCount(a.errors),
        ...(report.checksums ? [formatCount(a.unverifiable), formatBytes(a.bytes)] : []),
      ]),
    ),
  )
  out(
    report.problemCount
      ? `${formatCount(report.problemCount)} problem(s) found.`
      : `All objects present${report.checksums ? ' and intact' : ' (content not checked: add --checksums)'}.`,
  )
}

function printStatistics(out: (line?: string) => void, report: Statistics): void {
  out(
    table(
      ['attribute', 'storage', 'rows', 'with key', 'objects', 'bytes', 'missing'],
      report.attributes.map((a) => [
        `${a.entity}.${a.attribute}`,
        a.store,
        formatCount(a.rows),
        formatCount(a.withKey),
        formatCount(a.objects),
        formatBytes(a.bytes),
        formatCount(a.missing),
      ]),
    ),
  )
  out()
  out(
    table(
      ['storage', 'objects', 'bytes', 'orphans', 'orphan bytes', 'recent'],
      report.stores.map((s) => [
        s.store,
        formatCount(s.objects.count),
        formatBytes(s.objects.bytes),
        formatCount(s.orphans.count),
        formatBytes(s.orphans.bytes),
        formatCount(s.recent.count),
      ]),
    ),
  )
  out(
    `(orphans: unreferenced for longer than ${formatDuration(report.graceMs ?? DEFAULT_GRACE_MS)}; \`attrstore gc --delete\` removes them)`,
  )
}
