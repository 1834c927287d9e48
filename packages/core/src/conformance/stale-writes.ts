import { expect } from 'vitest'
import type { StaleWritesReport } from '../contract.js'
import { ConfigurationError } from '../errors.js'
import { capabilityCheck, type StorageWith } from './capability-check.js'
import { listAll, type SuiteContext } from './context.js'
import { writeRandomObject } from './fixtures.js'

const CENTURY_MS = 100 * 365 * 24 * 60 * 60 * 1000

/** Leftovers a report says a real run would remove. */
const stale = (report: StaleWritesReport): number => report.found - report.kept - report.failed

function expectReportShape(report: StaleWritesReport, dryRun: boolean): void {
  expect(typeof report.kind).toBe('string')
  expect(report.kind).not.toBe('')
  expect(typeof report.supported).toBe('boolean')
  for (const count of [report.found, report.removed, report.kept, report.failed]) {
    expect(Number.isSafeInteger(count) && count >= 0, `${count} is a count`).toBe(true)
  }
  if (report.bytes !== undefined) {
    expect(Number.isSafeInteger(report.bytes) && report.bytes >= 0).toBe(true)
  }
  if (!report.supported) {
    expect([report.found, report.removed, report.kept, report.failed]).toEqual([0, 0, 0, 0])
  }
  if (dryRun) {
    expect([report.removed, report.failed]).toEqual([0, 0])
    expect(report.kept).toBeLessThanOrEqual(report.found)
  } else {
    expect(report.removed + report.kept + report.failed).toBe(report.found)
  }
}

/**
 * `cleanStaleWrites`: the report's shape, dry runs and long cut-offs that keep, committed
 * objects never touched. With `leaveStaleWrite`, also that a leftover is found and removed.
 */
export function describeStaleWrites(context: SuiteContext): void {
  const { leaveStaleWrite } = context.options
  /** Leaves a stale leftover when the suite was told how; whether it did. */
  const leave = async (storage: StorageWith<'cleanStaleWrites'>): Promise<boolean> => {
    if (!leaveStaleWrite) return false
    await leaveStaleWrite(storage)
    return true
  }

  capabilityCheck(
    context,
    'cleanStaleWrites',
    'reports in the report shape, and refuses an olderThanMs that is no duration',
    async (storage) => {
      const left = await leave(storage)
      const dry = await storage.cleanStaleWrites({ olderThanMs: 0, dryRun: true })
      expectReportShape(dry, true)
      const real = await storage.cleanStaleWrites({ olderThanMs: 0 })
      expectReportShape(real, false)
      if (left && real.supported) expect(real.removed).toBeGreaterThanOrEqual(1)
      for (const olderThanMs of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
        await expect(storage.cleanStaleWrites({ olderThanMs })).rejects.toBeInstanceOf(
          ConfigurationError,
        )
      }
    },
  )

  capabilityCheck(context, 'cleanStaleWrites', 'a dry run removes nothing', async (storage) => {
    const left = await leave(storage)
    const first = await storage.cleanStaleWrites({ olderThanMs: 0, dryRun: true })
    expectReportShape(first, true)
    const second = await storage.cleanStaleWrites({ olderThanMs: 0, dryRun: true })
    if (left && first.supported) {
      expect(stale(first)).toBeGreaterThanOrEqual(1)
      // Still there: the first dry run removed nothing.
      expect(stale(second)).toBe(stale(first))
    }
  })

  capabilityCheck(
    context,
    'cleanStaleWrites',
    'with a huge olderThanMs nothing is removed',
    async (storage) => {
      const left = await leave(storage)
      const report = await storage.cleanStaleWrites({ olderThanMs: CENTURY_MS })
      expectReportShape(report, false)
      expect(report.removed).toBe(0)
      if (left && report.supported) {
        expect(report.kept).toBeGreaterThanOrEqual(1)
        const after = await storage.cleanStaleWrites({ olderThanMs: 0, dryRun: true })
        expect(stale(after)).toBeGreaterThanOrEqual(1)
      }
    },
  )

  capabilityCheck(
    context,
    'cleanStaleWrites',
    'removes stale leftovers, and never touches a committed object',
    async (storage) => {
      const { key, content } = await writeRandomObject(storage, 3000)
      const left = await leave(storage)
      const report = await storage.cleanStaleWrites({ olderThanMs: 0 })
      expectReportShape(report, false)
      if (left && report.supported) {
        expect(report.removed).toBeGreaterThanOrEqual(1)
        const after = await storage.cleanStaleWrites({ olderThanMs: 0, dryRun: true })
        expect(stale(after)).toBe(0)
      }
      expect((await storage.read(key)).equals(content)).toBe(true)
      const listed = await listAll(storage, `${context.run}/cleanStaleWrites/`)
      expect(listed.map((entry) => entry.key)).toContain(key)
    },
  )
}
