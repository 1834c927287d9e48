import { command, duration, EXIT, UsageError } from '../command.js'
import { formatBytes, formatCount, formatDuration } from '../format.js'
import { collectGarbage, type GarbageReport } from '../gc.js'
import type { Tally } from '../store-scan.js'

/** `3 (1.5 KiB)` */
function tallyText(tally: Tally): string {
  return `${formatCount(tally.count)} (${formatBytes(tally.bytes)})`
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

export const gcCommand = command({
  name: 'gc',
  summary: 'find unreferenced objects (dry run), and with --delete remove them',
  options: {
    grace: { type: 'string' },
    delete: { type: 'boolean' },
    'dry-run': { type: 'boolean' },
    list: { type: 'boolean' },
    'ignore-auto-delete': { type: 'boolean' },
  },
  help: `Usage: attrstore gc -d <data-source> [--delete] [--grace 24h] [options]

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
  async run({ values, batchSize, err, say, stop, open, print }) {
    const graceMs = duration(values.grace, 'grace')
    if (values.delete && values['dry-run'])
      throw new UsageError('--delete and --dry-run contradict each other')
    const { loaded, common } = await open()
    const report = await collectGarbage(loaded.dataSource, {
      ...common,
      delete: values.delete === true,
      ignoreAutoDelete: values['ignore-auto-delete'] === true,
      graceMs,
      batchSize,
      signal: stop,
      ...(values.list
        ? {
            onOrphan: (o) =>
              say(
                `${o.deleted ? 'deleted' : 'orphan '} ${o.store}${o.key} ${formatBytes(o.size)}${o.lastModified ? ` ${o.lastModified.toISOString()}` : ''}`,
              ),
          }
        : {}),
    })
    print(report, printGarbage)
    if (!report.complete) {
      err(
        '\nInterrupted: orphans deleted so far stay deleted; nothing else was touched. Run gc again to continue.',
      )
      return EXIT.interrupted
    }
    return EXIT.ok
  },
})
