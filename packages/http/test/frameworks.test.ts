// sendObject under Express 5 and Fastify 5: what each framework needs (nothing for
// Express; `reply.hijack()` and `reply.raw` for Fastify) and that neither alters a
// response: ranges, conditional requests, HEAD and failures come through as sent.
import type { AddressInfo } from 'node:net'
import express from 'express'
import Fastify from 'fastify'
import { MemoryStorage } from '@attrstore/core'
import { sha256Hex } from '@attrstore/core/driver'
import { afterAll, describe, expect, it } from 'vitest'
import { sendObject, type SendOutcome } from '../src/index.js'
import { checkServing, SERVED } from './support/serving-checks.js'

const storage = new MemoryStorage()
const { key } = await storage.write(SERVED, { contentType: 'text/plain' })
const etag = `"${sha256Hex(SERVED)}"`

describe('Express 5', () => {
  const outcomes: SendOutcome[] = []
  const app = express()
  app.get('/files/:key', async (request, response) => {
    outcomes.push(await sendObject(request, response, storage, request.params.key))
  })
  const server = app.listen(0, '127.0.0.1')
  afterAll(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  )

  it('serves 200, HEAD, 206, 304, 416 and 404 through a route handler', async () => {
    await new Promise<void>((resolve) =>
      server.listening ? resolve() : server.once('listening', resolve),
    )
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/files`
    await checkServing(`${base}/${encodeURIComponent(key)}`, `${base}/missing`, etag)
    // Express routes HEAD to the GET handler; sendObject answers it as a HEAD (no body).
    expect(outcomes.map((outcome) => outcome.status)).toEqual([200, 200, 206, 304, 416, 404])
  })
})

describe('Fastify 5', () => {
  const outcomes: SendOutcome[] = []
  const app = Fastify()
  app.get<{ Params: { key: string } }>('/files/:key', async (request, reply) => {
    // Fastify must not send a reply of its own: the raw response is sendObject's.
    reply.hijack()
    outcomes.push(await sendObject(request.raw, reply.raw, storage, request.params.key))
  })
  afterAll(() => app.close())

  it('serves 200, HEAD, 206, 304, 416 and 404 after reply.hijack(), on reply.raw', async () => {
    const address = await app.listen({ port: 0, host: '127.0.0.1' })
    await checkServing(
      `${address}/files/${encodeURIComponent(key)}`,
      `${address}/files/missing`,
      etag,
    )
    // Fastify's HEAD route (exposeHeadRoutes) runs the GET handler; the method stays HEAD.
    expect(outcomes.map((outcome) => outcome.status)).toEqual([200, 200, 206, 304, 416, 404])
  })
})
