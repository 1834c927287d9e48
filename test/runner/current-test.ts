/**
 * A setup file that records, synchronously, which test each worker process is about to run,
 * for the stall watchdog (./stall-watchdog.ts): a worker whose thread is blocked never sends
 * vitest its batched progress, but the file written before the test started is on disk.
 */
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterEach, beforeEach } from 'vitest'
import { CURRENT_TEST_DIRECTORY_VARIABLE } from './current-test-record.js'

const directory = process.env[CURRENT_TEST_DIRECTORY_VARIABLE]

if (directory) {
  const record = path.join(directory, `${process.pid}.json`)
  const write = (test: string | undefined, file: string): void =>
    writeFileSync(record, JSON.stringify({ pid: process.pid, file, test, since: Date.now() }))
  beforeEach((context) => write(context.task.fullName, context.task.file.name))
  afterEach((context) => write(undefined, context.task.file.name))
}
