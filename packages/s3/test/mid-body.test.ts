import { randomBytes, randomUUID } from 'node:crypto'
import { StorageUnavailableError } from '@attrstore/core'
import { S3Storage } from '@attrstore/s3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startCuttingProxy, type CuttingProxy } from './cutting-proxy.js'
import { startS3OrSkip } from '@attrstore/testing'
import { connection } from './support.js'

// A connection lost in the middle of a body (a server killed, a network cut) must fail
// reads with StorageUnavailableError, the network error as its cause, and never hand back
// the bytes that came as if they were the object.
const started = await startS3OrSkip({ engine: 'fauxqs' })

describe.skipIf(!started.s3)(
  `a connection cut mid-body fails reads with StorageUnavailableError${started.skip ? ` (skipped: ${started.skip})` : ''}`,
  () => {
    const content = randomBytes(4 * 1024 * 1024)
    let proxy: CuttingProxy
    let direct: S3Storage
    let cutting: S3Storage
    let key: string

    beforeAll(async () => {
      const s3 = started.s3!
      proxy = await startCuttingProxy(s3.endpoint)
      const prefix = `mid-body-${randomUUID()}`
      direct = new S3Storage({ ...connection(s3), prefix })
      cutting = new S3Storage({ ...connection(s3), prefix, endpoint: proxy.endpoint })
      key = (await direct.write(content)).key
    })
    afterAll(async () => {
      direct?.destroy()
      cutting?.destroy()
      await proxy?.close()
      await started.s3?.stop()
    })

    /** Runs `read` with connections cut 256 KiB into their answers, and returns its error. */
    async function failure(read: () => Promise<unknown>): Promise<unknown> {
      proxy.cutAfter(256 * 1024)
      const cutsBefore = proxy.cuts
      try {
        const result = await read().then(
          (value) => ({ value }),
          (error: unknown) => ({ error }),
        )
        expect(proxy.cuts).toBeGreaterThan(cutsBefore)
        if ('value' in result) throw new Error(`the read succeeded: ${String(result.value)}`)
        return result.error
      } finally {
        proxy.cutAfter(undefined)
      }
    }

    function expectUnavailable(error: unknown): void {
      expect(error).toBeInstanceOf(StorageUnavailableError)
      expect((error as StorageUnavailableError).cause).toBeDefined()
      expect((error as Error).message).toMatch(/read/)
    }

    it('reads through the proxy when nothing is cut', async () => {
      expect((await cutting.read(key)).equals(content)).toBe(true)
    })

    it('an eager read', async () => {
      expectUnavailable(await failure(() => cutting.read(key)))
    })

    it('a lazy stream (readStream) errors with it', async () => {
      expectUnavailable(
        await failure(async () => {
          const stream = await cutting.readStream(key)
          return (await stream.toArray()).length
        }),
      )
    })

    it('open(): its stream errors with it', async () => {
      expectUnavailable(
        await failure(async () => {
          const opened = await cutting.open(key)
          return (await opened.stream.toArray()).length
        }),
      )
    })

    it('read({ verify: true })', async () => {
      expectUnavailable(await failure(() => cutting.read(key, { verify: true })))
    })

    it('a range read', async () => {
      expectUnavailable(
        await failure(() => cutting.read(key, { range: { start: 1, end: content.length - 2 } })),
      )
    })

    it('verify()', async () => {
      expectUnavailable(await failure(() => cutting.verify(key)))
    })
  },
)
