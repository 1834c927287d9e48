/**
 * A web page on another origin reads a range through the gateway in headless Chromium, as
 * Neuroglancer does: the preflight (Range is no CORS-safelisted header) is answered
 * without credentials, and the page can read ETag and Content-Range. A page from an origin
 * not allowed is refused by the browser. Skipped, saying why, without Chromium (under
 * CI=true a missing Chromium fails: CI installs it).
 */
import {
  chromiumMissingFor,
  launchChromium,
  startHttpServer,
  type LoopbackServer,
} from '@attrstore/testing'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createS3Gateway } from '../src/index.js'
import { BLOB_KEY, startGatewayWorld, type GatewayWorld } from './gateway-fixture.js'

const missing = chromiumMissingFor('a browser page reading through the gateway')

describe.skipIf(missing !== undefined)(
  `a browser page reading through the gateway${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    let world: GatewayWorld
    let browser: Browser
    const servers: LoopbackServer[] = []
    let gatewayUrl: string
    let allowedPage: string
    let otherPage: string
    let closeGateway: () => Promise<void>
    beforeAll(async () => {
      world = await startGatewayWorld()
      const page = (): Promise<LoopbackServer> =>
        startHttpServer((_, response) => {
          response.setHeader('Content-Type', 'text/html')
          response.end('<!doctype html><title>viewer</title>')
        })
      const allowed = await page()
      const other = await page()
      servers.push(allowed, other)
      allowedPage = allowed.url
      // `localhost` and `127.0.0.1` are two origins.
      otherPage = other.url.replace('127.0.0.1', 'localhost')
      const gateway = createS3Gateway({
        buckets: world.storages,
        anonymous: true,
        cors: { origins: [allowedPage] },
      })
      closeGateway = () => gateway.close()
      const server = await startHttpServer(gateway)
      servers.push(server)
      gatewayUrl = server.url
      browser = await launchChromium()
    })
    afterAll(async () => {
      await browser?.close()
      for (const server of servers) await server.close()
      await closeGateway?.()
      await world?.stop()
    })

    it('a page of an allowed origin reads a range, with ETag and Content-Range', async () => {
      const tab = await browser.newPage()
      try {
        await tab.goto(allowedPage, { timeout: 30_000 })
        const url = `${gatewayUrl}/files/${BLOB_KEY}`
        const seen = await tab.evaluate(async (target) => {
          const response = await fetch(target, { headers: { Range: 'bytes=100-199' } })
          const bytes = new Uint8Array(await response.arrayBuffer())
          return {
            status: response.status,
            etag: response.headers.get('ETag'),
            contentRange: response.headers.get('Content-Range'),
            requestId: response.headers.get('x-amz-request-id'),
            bytes: Array.from(bytes),
          }
        }, url)
        const blob = world.contents.get(BLOB_KEY)!
        expect(seen).toMatchObject({
          status: 206,
          contentRange: `bytes 100-199/${blob.length}`,
          etag: expect.stringMatching(/^"[0-9a-f]{64}"$/),
          requestId: expect.stringMatching(/^[0-9A-F]{16}$/),
        })
        expect(Buffer.from(seen.bytes).equals(blob.subarray(100, 200))).toBe(true)
      } finally {
        await tab.close()
      }
    })

    it('a page of another origin is refused by the browser', async () => {
      const tab = await browser.newPage()
      try {
        await tab.goto(otherPage, { timeout: 30_000 })
        const outcome = await tab.evaluate(
          (target) =>
            fetch(target, { headers: { Range: 'bytes=0-9' } }).then(
              () => 'read',
              (error: Error) => `refused: ${error.name}`,
            ),
          `${gatewayUrl}/files/${BLOB_KEY}`,
        )
        expect(outcome).toBe('refused: TypeError')
      } finally {
        await tab.close()
      }
    })
  },
)
