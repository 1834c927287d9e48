/**
 * The helpers for tests of real clients: the skip-or-fail decision for a missing Chromium,
 * the loopback HTTP server (a response still being sent does not hold up close()), and the
 * client runner (stdout, the stderr of a failure, the timeout).
 */
import { request } from 'node:http'
import { describe, expect, it, vi } from 'vitest'
import {
  ChromiumUnavailableError,
  chromiumMissingFor,
  runClient,
  startHttpServer,
  whyClientCannotRun,
} from '../src/index.js'

const NOWHERE = '/nonexistent/chromium'

describe('chromiumMissingFor', () => {
  it('says why and prints a skip line where Chromium is missing', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    try {
      const reason = chromiumMissingFor('a page', { executablePath: NOWHERE, env: {} })
      expect(reason).toContain(NOWHERE)
      expect(warn).toHaveBeenCalledWith(`[skip] a page: ${reason}`)
    } finally {
      warn.mockRestore()
    }
  })

  it('throws under CI, where a missing browser is a failure', () => {
    expect(() =>
      chromiumMissingFor('a page', { executablePath: NOWHERE, env: { CI: 'true' } }),
    ).toThrow(ChromiumUnavailableError)
  })

  it('is undefined where the executable exists', () => {
    expect(
      chromiumMissingFor('a page', { executablePath: process.execPath, env: { CI: 'true' } }),
    ).toBeUndefined()
  })
})

describe('startHttpServer', () => {
  it('serves on 127.0.0.1, and close() ends a response still being sent', async () => {
    const served = await startHttpServer((request, response) => {
      if (request.url === '/unfinished') response.writeHead(200).write('partial')
      else response.end('hello')
    })
    expect(served.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(await (await fetch(served.url)).text()).toBe('hello')
    const aborted = new Promise<void>((resolve, reject) => {
      request(`${served.url}/unfinished`, (response) => {
        response.on('data', () => {})
        response.on('error', () => resolve())
        response.on('aborted', () => resolve())
        response.on('end', () => reject(new Error('the unfinished response ended')))
      })
        .on('error', () => resolve())
        .end()
    })
    await new Promise((resolve) => setTimeout(resolve, 100))
    await served.close()
    await aborted
    expect(served.server.listening).toBe(false)
  }, 3_000)
})

describe('runClient', () => {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' }

  it('resolves to stdout; a failure rejects with its stderr', async () => {
    expect((await runClient('sh', ['-c', 'printf out'], env)).toString()).toBe('out')
    await expect(runClient('sh', ['-c', 'echo broken >&2; exit 3'], env)).rejects.toThrow(/broken/)
  })

  it('kills a client that outlives the timeout', async () => {
    await expect(runClient('sleep', ['30'], env, { timeoutMs: 200 })).rejects.toThrow(/failed/)
  })

  it('whyClientCannotRun names a missing client', async () => {
    expect(await whyClientCannotRun('sh', 'sh', ['-c', 'true'], env)).toBeUndefined()
    expect(await whyClientCannotRun('nothing', 'no-such-client-here', [], env)).toMatch(
      /^nothing cannot run here \(/,
    )
  })
})
