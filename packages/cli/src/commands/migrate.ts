import { command, EXIT, positiveInteger, UsageError } from '../command.js'
import { formatBytes, formatCount } from '../format.js'
import { migrate, type MigrateReport } from '../migrate.js'

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

export const migrateCommand = command({
  name: 'migrate',
  summary: "move a stored attribute's bytes into its registered storage",
  settlesBatch: true,
  options: {
    'from-column': { type: 'string' },
    from: { type: 'string' },
    'delete-source': { type: 'boolean' },
    concurrency: { type: 'string' },
    after: { type: 'string' },
    'dry-run': { type: 'boolean' },
  },
  help: `Usage: attrstore migrate -d <data-source> -e <Entity> -a <attribute> (--from-column <column> | --from <export>) [options]

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
  async run({ values, argv, batchSize, err, say, stop, abandon, open, print }) {
    const concurrency = positiveInteger(values.concurrency, 'concurrency')
    const fromColumn = values['from-column']
    const fromExport = values.from
    const { entity, attribute } = values
    if (!entity || !attribute)
      throw new UsageError('migrate needs --entity and --attribute: the stored attribute to fill')
    if ((fromColumn === undefined) === (fromExport === undefined)) {
      throw new UsageError(
        'migrate needs exactly one source: --from-column <column> or --from <export>',
      )
    }
    const { loaded, common } = await open()
    const report = await migrate(loaded.dataSource, {
      ...common,
      entity,
      attribute,
      from:
        fromColumn !== undefined
          ? { column: fromColumn }
          : { storage: loaded.storage(fromExport!) },
      deleteSource: values['delete-source'] === true,
      dryRun: values['dry-run'] === true,
      after: values.after,
      batchSize,
      concurrency,
      signal: abandon,
      stopSignal: stop,
      onProblem: (problem) =>
        say(
          `${problem.kind.padEnd(8)} ${entity}.${attribute} id=${problem.id}${problem.key ? ` key=${problem.key}` : ''}: ${problem.detail}`,
        ),
    })
    print(report, printMigrate)
    if (!report.complete) {
      const last = report.lastCommitted
      err(
        `\nInterrupted. ${last === undefined ? 'No batch was committed' : `Batches up to id ${last} are committed`}; ` +
          (abandon.aborted
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
  },
})
