import { summarize, type Summary } from './stats.js'

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
