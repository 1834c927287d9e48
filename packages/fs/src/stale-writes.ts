import { opendir, rm, stat } from 'node:fs/promises'
import path from 'node:path'
import { type StaleWritesOptions, type StaleWritesReport } from '@attrstore/core'
import { emptyStaleWritesReport, staleWritesCutoff } from '@attrstore/core/driver'

const MISSING = new Set(['ENOENT', 'ENOTDIR'])

/**
 * Removes the `*.tmp` files of `directory` (the storage's temporary directory) last
 * modified before the cut-off: what writes that never finished (a crash, a kill) left.
 * Their bodies were never linked into place, so no reference names them.
 */
export async function cleanTemporaryFiles(
  directory: string,
  options: StaleWritesOptions,
): Promise<StaleWritesReport> {
  const cutoff = staleWritesCutoff(options)
  const report = emptyStaleWritesReport('temporary files', { countsBytes: true })
  let entries
  try {
    entries = await opendir(directory)
  } catch (error) {
    if (MISSING.has((error as NodeJS.ErrnoException).code ?? '')) return report
    throw error
  }
  for await (const entry of entries) {
    options.signal?.throwIfAborted()
    if (!entry.isFile() || !entry.name.endsWith('.tmp')) continue
    const full = path.join(directory, entry.name)
    const info = await stat(full).catch(() => undefined)
    if (!info) continue // finished (or removed) since it was listed
    report.found++
    if (info.mtimeMs > cutoff) {
      report.kept++
      continue
    }
    if (options.dryRun) continue
    try {
      await rm(full, { force: true })
      report.removed++
      report.bytes += info.size
    } catch {
      report.failed++
    }
  }
  return report
}
