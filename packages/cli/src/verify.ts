import { IntegrityError, isAttrstoreError } from '@attrstore/core'
import { runBounded } from '@attrstore/core/driver'
import type { DataSource } from 'typeorm'
import { type Binding, type BindingFilter, bindingLabel } from './bindings.js'
import { commandScope } from './command-scope.js'
import type { ProgressListener } from './progress.js'
import { formatPrimaryKey } from './row-source.js'

export interface VerifyOptions extends BindingFilter {
  bindings?: readonly Binding[] | undefined
  /** Also re-read every object and compare its SHA-256 with the recorded one. */
  checksums?: boolean | undefined
  /** Rows per page. Default 500. */
  batchSize?: number | undefined
  /** Objects checked at once. Default 8. */
  concurrency?: number | undefined
  /** Stops after the current page. */
  signal?: AbortSignal | undefined
  onProgress?: ProgressListener | undefined
  /** Called for every problem, as found. */
  onProblem?: ((problem: IntegrityProblem) => void) | undefined
  /** Problems kept in the report (all are counted). Default 1000. */
  keepProblems?: number | undefined
}

export interface IntegrityProblem {
  /** `missing`: no object under the key; `corrupt`: content does not match its recorded SHA-256; `error`: the check failed. */
  kind: 'missing' | 'corrupt' | 'error'
  entity: string
  attribute: string
  /** The row's primary key. */
  id: string
  key: string
  detail?: string
}

export interface AttributeVerification {
  entity: string
  attribute: string
  /** Rows with a key, checked. */
  rows: number
  missing: number
  corrupt: number
  errors: number
  /** With checksums: objects whose storage recorded no SHA-256 (content could not be checked). */
  unverifiable: number
  /** With checksums: bytes re-read. */
  bytes: number
}

export interface VerifyReport {
  checksums: boolean
  attributes: AttributeVerification[]
  /** The first `keepProblems` problems. */
  problems: IntegrityProblem[]
  /** Total problems (missing + corrupt + errors). */
  problemCount: number
  complete: boolean
}

type Outcome =
  | { kind: 'ok'; size: number }
  | { kind: 'unverifiable'; size: number }
  | { kind: 'missing' | 'corrupt' | 'error'; detail: string }

/** The outcomes of an existence check: one object each, not one per key. */
const EXISTS: Outcome = { kind: 'ok', size: 0 }
const MISSING: Outcome = { kind: 'missing', detail: 'no object under this key' }
/** A key of the page not checked yet. */
const PENDING: Outcome = { kind: 'error', detail: 'not checked' }

/**
 * For every row of every stored attribute (soft-deleted rows included), checks that the
 * object its key names exists, and with `checksums` that its content matches the SHA-256
 * the storage recorded at write time. Pages through rows by primary key: constant memory.
 * Rejects with the storage's `StorageUnavailableError` at the first check a storage cannot
 * be reached for, rather than report every row as an error.
 */
export async function verify(
  dataSource: DataSource,
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  const { selected, rows } = commandScope(dataSource, options)
  const checksums = options.checksums === true
  const keep = options.keepProblems ?? 1000
  const report: VerifyReport = {
    checksums,
    attributes: [],
    problems: [],
    problemCount: 0,
    complete: true,
  }

  for (const binding of selected) {
    if (options.signal?.aborted) {
      report.complete = false
      break
    }
    const { metadata, column, storage } = binding
    const result: AttributeVerification = {
      entity: metadata.name,
      attribute: column.propertyPath,
      rows: 0,
      missing: 0,
      corrupt: 0,
      errors: 0,
      unverifiable: 0,
      bytes: 0,
    }
    report.attributes.push(result)
    const withKey = [{ column: column.databaseName, is: 'not null' as const }]
    // A scan of every row: only when someone shows progress.
    const total = options.onProgress ? await rows.count(binding, withKey) : 0
    const task = `verify ${bindingLabel(binding)}`
    options.onProgress?.({ task, unit: 'rows', done: 0, total, bytes: 0 })

    // What a failed check means for the row; rethrows when the storage cannot be reached.
    const failed = (error: unknown): Outcome => {
      if (isAttrstoreError(error, 'ATTRSTORE_NOT_FOUND')) return MISSING
      if (error instanceof IntegrityError || isAttrstoreError(error, 'ATTRSTORE_INTEGRITY')) {
        const { expected, actual } = error as IntegrityError
        return { kind: 'corrupt', detail: `recorded SHA-256 ${expected}, content has ${actual}` }
      }
      // The storage cannot be reached (after its retries): every other row would fail the
      // same way, so stop with that one error rather than report each row.
      if (isAttrstoreError(error, 'ATTRSTORE_UNAVAILABLE')) throw error
      return { kind: 'error', detail: (error as Error).message ?? String(error) }
    }
    // Promise chains, not async functions: an async call keeps a frame of its own alive
    // while its I/O is in flight, and at a hundred thousand keys those frames were most of
    // what verify allocated beyond the checks themselves.
    const check = (reference: string): Promise<Outcome> => {
      try {
        if (!checksums)
          return storage.exists(reference).then((found) => (found ? EXISTS : MISSING), failed)
        return storage.verify(reference).then(
          (verified): Outcome => ({
            kind: verified.verified ? 'ok' : 'unverifiable',
            size: verified.size,
          }),
          failed,
        )
      } catch (error) {
        return Promise.resolve().then(() => failed(error))
      }
    }

    for await (const page of rows.pages({
      attribute: binding,
      where: withKey,
      batchSize: options.batchSize ?? 500,
    })) {
      // A key shared by several rows of the page is checked once. Outcomes are kept as
      // values (shared ones for the common cases), not as a promise per key: what lives
      // while the page's checks run survives the young generation's collections, and what
      // survives is what makes V8 grow it (the peak RSS).
      const outcomes = new Map<string, Outcome>()
      for (const row of page) outcomes.set(row.key!, PENDING)
      await runBounded(outcomes.keys(), options.concurrency ?? 8, (reference) =>
        check(reference).then((outcome) => void outcomes.set(reference, outcome)),
      )
      for (const row of page) {
        const reference = row.key!
        const outcome = outcomes.get(reference)!
        result.rows++
        if (outcome.kind === 'ok' || outcome.kind === 'unverifiable') {
          if (outcome.kind === 'unverifiable') result.unverifiable++
          result.bytes += outcome.size
          continue
        }
        if (outcome.kind === 'missing') result.missing++
        else if (outcome.kind === 'corrupt') result.corrupt++
        else result.errors++
        const problem: IntegrityProblem = {
          kind: outcome.kind,
          entity: metadata.name,
          attribute: column.propertyPath,
          id: formatPrimaryKey(metadata, row.id),
          key: reference,
          detail: outcome.detail,
        }
        report.problemCount++
        if (report.problems.length < keep) report.problems.push(problem)
        options.onProblem?.(problem)
      }
      options.onProgress?.({ task, unit: 'rows', done: result.rows, total, bytes: result.bytes })
      if (options.signal?.aborted) {
        report.complete = false
        break
      }
    }
    options.onProgress?.({
      task,
      unit: 'rows',
      done: result.rows,
      total,
      bytes: result.bytes,
      finished: true,
    })
    if (!report.complete) break
  }
  return report
}
