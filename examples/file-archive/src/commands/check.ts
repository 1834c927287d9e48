/**
 * `check`: is the archive consistent? Every row's object must exist with the row's size
 * (and, with --deep, its SHA-256, re-reading every byte); objects no row references are
 * orphans, which attrstore may leave after a crash and a garbage collector removes.
 */
import { isAttrstoreError } from '@attrstore/core'
import type { StoredContent } from '@attrstore/typeorm'
import { keyOf, type CommandContext } from './shared.js'

export interface CheckReport {
  rows: number
  objects: number
  /** Rows whose object is missing: data loss, what attrstore must never cause. */
  missing: string[]
  /** Rows whose object differs from the recorded size or SHA-256. */
  mismatched: string[]
  /** Objects no row references. */
  orphans: string[]
  consistent: boolean
}

export async function checkCommand(
  context: CommandContext,
  options: { deep?: boolean | undefined; json?: boolean | undefined } = {},
): Promise<CheckReport> {
  const { archive, print } = context
  const files = await archive.files.find({ order: { name: 'ASC' } })
  const referenced = new Set<string>()
  const missing: string[] = []
  const mismatched: string[] = []
  for (const file of files) {
    const key = keyOf(file)
    referenced.add(key)
    const content = file.data as StoredContent
    try {
      if (options.deep) {
        const verified = await archive.storage.verify(key)
        if (verified.size !== file.size || verified.sha256 !== file.sha256)
          mismatched.push(file.name)
      } else if ((await content.size()) !== file.size) mismatched.push(file.name)
    } catch (error) {
      if (isAttrstoreError(error, 'ATTRSTORE_NOT_FOUND')) missing.push(file.name)
      else if (isAttrstoreError(error, 'ATTRSTORE_INTEGRITY')) mismatched.push(file.name)
      else throw error
    }
  }
  const orphans: string[] = []
  let objects = 0
  for await (const object of archive.storage.list()) {
    objects++
    if (!referenced.has(object.key)) orphans.push(object.key)
  }
  const report: CheckReport = {
    rows: files.length,
    objects,
    missing,
    mismatched,
    orphans,
    consistent: missing.length === 0 && mismatched.length === 0,
  }
  if (options.json) {
    print(JSON.stringify(report, null, 2))
    return report
  }
  print(
    `${report.rows} row(s), ${report.objects} object(s)${options.deep ? ', every byte re-hashed' : ''}`,
  )
  for (const name of missing) print(`MISSING   ${name}: its object is gone`)
  for (const name of mismatched) print(`MISMATCH  ${name}: its object differs from the row`)
  for (const key of orphans)
    print(`orphan    ${key}: no row references it (left for garbage collection)`)
  print(report.consistent ? 'consistent: every row has its object' : 'NOT consistent')
  return report
}
