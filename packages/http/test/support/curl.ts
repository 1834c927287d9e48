// curl, the real client, run with its answer written to files: the status, the headers
// and the body as curl received them.
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'

export const CURL = '/usr/bin/curl'
const run = promisify(execFile)

export interface CurlAnswer {
  status: number
  /** Lower-case names. */
  headers: Record<string, string>
  body: Buffer
}

/** Runs curl with `args` (at most 10 s), its output files in `directory`. */
export async function runCurl(args: string[], directory: string): Promise<CurlAnswer> {
  const headersFile = path.join(directory, `headers-${Math.random()}`)
  const bodyFile = path.join(directory, `body-${Math.random()}`)
  await run(CURL, [
    '--silent',
    '--show-error',
    '--max-time',
    '10',
    '-D',
    headersFile,
    '-o',
    bodyFile,
    ...args,
  ])
  const lines = (await readFile(headersFile, 'utf8')).trim().split('\r\n')
  const status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(lines[0]!)![1])
  const headers = Object.fromEntries(
    lines.slice(1).map((line) => {
      const colon = line.indexOf(':')
      return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()]
    }),
  )
  const body = existsSync(bodyFile) ? await readFile(bodyFile) : Buffer.alloc(0)
  return { status, headers, body }
}
