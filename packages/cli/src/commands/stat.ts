import { command, duration, EXIT } from '../command.js'
import { formatBytes, formatCount, formatDuration, table } from '../format.js'
import { DEFAULT_GRACE_MS } from '../gc.js'
import { statistics, type Statistics } from '../stat.js'

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

export const statCommand = command({
  name: 'stat',
  summary: 'rows, objects, bytes and orphans per stored attribute',
  options: { grace: { type: 'string' } },
  help: `Usage: attrstore stat -d <data-source> [options]

Per stored attribute: rows, rows with a key, objects, bytes, missing objects; per storage:
objects, referenced, orphans (unreferenced, older than the grace period), recent.

      --grace <duration>      age before an unreferenced object counts as an orphan (default 24h)
      --batch-size <n>        objects per batch of reference queries (default 1000)`,
  async run({ values, batchSize, stop, open, print }) {
    const graceMs = duration(values.grace, 'grace')
    const { loaded, common } = await open()
    const report = await statistics(loaded.dataSource, {
      ...common,
      graceMs,
      batchSize,
      signal: stop,
    })
    print(report, printStatistics)
    return report.complete ? EXIT.ok : EXIT.interrupted
  },
})
