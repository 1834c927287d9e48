/**
 * The budgets of the performance issue: each one a ratio against a reference measured in
 * the same run, printed as one PASS/FAIL line with both figures. Budgets, not tests: a
 * failed one never fails the run.
 */
import { formatFigure, type CaseResult } from './result.js'

export interface Budget {
  name: string
  /** `<= 1.2x`, `>= 0.95x`, `<= 64 MiB`... */
  limit: string
  /** The ratio (or figure) compared with the limit. */
  value: string
  /** What the ratio is made of: attrstore's figure and the same-run reference's. */
  detail: string
  pass: boolean
}

/** Collects the budgets as the cases' results come in, and prints them. */
export class Budgets {
  readonly list: Budget[] = []

  constructor(private readonly results: CaseResult[]) {}

  private find(id: string): CaseResult | undefined {
    return this.results.find((candidate) => candidate.id === id)
  }

  /**
   * attrstore ÷ reference of case `id` at most `limit` (times), or at least `limit`
   * (throughputs, `atLeast`). A case that did not run (BENCH_ONLY, an error) is reported
   * as not measured, so that every budget always has its line.
   */
  ratio(id: string, name: string, limit: number, options: { atLeast?: boolean } = {}): void {
    const result = this.find(id)
    const limitText = `${options.atLeast ? '>=' : '<='} ${limit}x`
    if (result?.ratio === undefined) {
      this.list.push({ name, limit: limitText, value: 'not measured', detail: '', pass: false })
      return
    }
    const pass = options.atLeast ? result.ratio >= limit : result.ratio <= limit
    this.list.push({
      name,
      limit: limitText,
      value: `${result.ratio.toFixed(2)}x`,
      detail: `attrstore ${formatFigure(result.attrstore, result.unit)}, ${result.referenceLabel} ${formatFigure(result.reference, result.unit)}`,
      pass,
    })
  }

  /** A figure that is not a ratio of two cases (an RSS growth, a growth factor). */
  value(
    name: string,
    value: number | undefined,
    limit: string,
    pass: boolean,
    detail: string,
  ): void {
    this.list.push({
      name,
      limit,
      value: value === undefined ? 'not measured' : value.toFixed(2),
      detail,
      pass: value !== undefined && pass,
    })
  }

  lines(): string[] {
    return this.list.map(
      (budget) =>
        `${budget.pass ? 'PASS' : 'FAIL'}  ${budget.name}: ${budget.value} (budget ${budget.limit})${budget.detail ? `; ${budget.detail}` : ''}`,
    )
  }
}
