import { command, EXIT, positiveInteger } from '../command.js'
import { formatBytes, formatCount, table } from '../format.js'
import { verify, type VerifyReport } from '../verify.js'

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

export const verifyCommand = command({
  name: 'verify',
  summary: "check that every row's object exists; --checksums also checks content",
  options: { checksums: { type: 'boolean' }, concurrency: { type: 'string' } },
  help: `Usage: attrstore verify -d <data-source> [--checksums] [options]

For every row with a key (soft-deleted rows included), checks that its object exists and,
with --checksums, re-reads it and compares its SHA-256 with the one recorded at write time.
Prints missing and corrupt objects by entity, id and key; exits with 1 when there are any.

      --checksums             re-read and hash every object
      --concurrency <n>       objects checked at once (default 8)
      --batch-size <n>        rows per page (default 500)`,
  async run({ values, json, batchSize, err, say, stop, open, print }) {
    const concurrency = positiveInteger(values.concurrency, 'concurrency')
    const { loaded, common } = await open()
    const report = await verify(loaded.dataSource, {
      ...common,
      checksums: values.checksums === true,
      batchSize,
      concurrency,
      signal: stop,
      ...(json
        ? {}
        : {
            onProblem: (p) =>
              say(
                `${p.kind.padEnd(8)} ${p.entity}.${p.attribute} id=${p.id} key=${p.key}${p.detail && p.kind !== 'missing' ? `: ${p.detail}` : ''}`,
              ),
          }),
    })
    print(report, printVerify)
    if (!report.complete) {
      err('\nInterrupted: the report above covers the rows checked so far.')
      return EXIT.interrupted
    }
    return report.problemCount ? EXIT.problems : EXIT.ok
  },
})
