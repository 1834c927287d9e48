/**
 * fauxqs needs `node:sqlite`: on a Node without it (before 22.13, or run with
 * `--no-experimental-sqlite`, as here) `startS3({ engine: 'fauxqs' })` throws the typed
 * engine-unavailable error, not a raw ERR_UNKNOWN_BUILTIN_MODULE.
 */
import { execFile } from 'node:child_process'
import path from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)

async function startWithoutSqlite(isolate: boolean) {
  const program = `
    import { startS3 } from '@attrstore/testing'
    try {
      const s3 = await startS3({ engine: 'fauxqs', isolate: ${isolate} })
      await s3.stop()
      console.log(JSON.stringify({ started: true }))
    } catch (error) {
      console.log(JSON.stringify({ name: error.name, engine: error.engine, message: error.message }))
    }`
  const { stdout } = await run(
    process.execPath,
    [
      '--no-experimental-sqlite',
      '--conditions=@attrstore/source',
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      program,
    ],
    { cwd: path.resolve(import.meta.dirname, '..'), timeout: 60_000 },
  )
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>
}

describe('fauxqs on a Node without node:sqlite', () => {
  for (const isolate of [false, true]) {
    it(`throws S3EngineUnavailableError naming node:sqlite (isolate: ${isolate})`, async () => {
      const outcome = await startWithoutSqlite(isolate)
      expect(outcome).toMatchObject({ name: 'S3EngineUnavailableError', engine: 'fauxqs' })
      expect(outcome.message).toMatch(/node:sqlite/)
    })
  }
})
