import { formatMs, summarize, type Summary } from './stats.js'

/** One line of the table. Times in milliseconds unless `unit` says otherwise. */
export interface CaseResult {
  id: string
  /** The table's "case" column. */
  label: string
  unit: 'ms' | 'saves/s' | 'MiB RSS'
  attrstore?: Summary
  /** What attrstore is measured against: the limit. */
  reference?: Summary
  referenceLabel: string
  /** attrstore ÷ reference (times: above 1 is slower; throughput: below 1 is slower). */
  ratio?: number
  /** Extra figures that tell where the time goes (e.g. TypeORM alone). */
  breakdown?: Record<string, Summary>
  note?: string
}

/** A summary's median in the case's unit, as the tables and budget lines print it. */
export function formatFigure(summary: Summary | undefined, unit: CaseResult['unit']): string {
  if (!summary) return '—'
  switch (unit) {
    case 'ms':
      return formatMs(summary.median)
    case 'saves/s':
      return `${summary.median.toFixed(0)} saves/s`
    case 'MiB RSS':
      return `${summary.median.toFixed(0)} MiB`
  }
}

export function pairResult(
  id: string,
  label: string,
  referenceLabel: string,
  times: { subject: number[]; reference: number[] },
  breakdown?: Record<string, number[]>,
): CaseResult {
  const attrstore = summarize(times.subject)
  const reference = summarize(times.reference)
  return {
    id,
    label,
    unit: 'ms',
    attrstore,
    reference,
    referenceLabel,
    ratio: attrstore.median / reference.median,
    ...(breakdown
      ? {
          breakdown: Object.fromEntries(
            Object.entries(breakdown).map(([name, samples]) => [name, summarize(samples)]),
          ),
        }
      : {}),
  }
}
