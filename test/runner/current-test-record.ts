/** Where the workers' current-test records go, shared by the setup file and the watchdog. */
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'

export const CURRENT_TEST_DIRECTORY_VARIABLE = 'ATTRSTORE_CURRENT_TEST_DIRECTORY'

export interface CurrentTestRecord {
  pid: number
  file: string
  /** The test's full name; undefined between tests. */
  test: string | undefined
  since: number
}

/** The records of the workers still alive. */
export function readCurrentTests(directory: string): CurrentTestRecord[] {
  const records: CurrentTestRecord[] = []
  for (const name of readdirSync(directory)) {
    try {
      const record = JSON.parse(
        readFileSync(path.join(directory, name), 'utf8'),
      ) as CurrentTestRecord
      process.kill(record.pid, 0) // throws when the worker is gone
      records.push(record)
    } catch {
      // a worker that exited, or a record being written
    }
  }
  return records
}
