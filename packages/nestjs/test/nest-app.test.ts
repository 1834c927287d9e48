/**
 * A NestJS application as a user writes one, on both of Nest's HTTP platforms: SQLite
 * (better-sqlite3) through `TypeOrmModule`, a filesystem storage registered by
 * `AttrstoreModule`, a controller that takes uploads as a streamed raw body and serves
 * downloads with `sendStoredAttribute` (ranges, conditional requests, HEAD), and objects by
 * key with `sendStoredObject`.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { INestApplication } from '@nestjs/common'
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify'
import { Test } from '@nestjs/testing'
import { getDataSourceToken } from '@nestjs/typeorm'
import { BytesFileSystemStorage } from '@attrstore/fs'
import { storageBindings } from '@attrstore/typeorm'
import type { DataSource } from 'typeorm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AppModule } from './app/app.module.js'

/** A filesystem storage that notes whether the DataSource was still open when it was disposed. */
class ObservedStorage extends BytesFileSystemStorage {
  disposedWhileOpen: boolean[] = []
  dataSource: DataSource | undefined
  async dispose(): Promise<void> {
    this.disposedWhileOpen.push(this.dataSource?.isInitialized ?? false)
  }
}

const CONTENT = Buffer.from(
  Array.from({ length: 4096 }, (_, i) => String.fromCharCode(97 + (i % 26))).join(''),
)

const platforms = {
  express: async (module: Awaited<ReturnType<typeof compile>>) =>
    module.createNestApplication({ logger: false }),
  fastify: async (module: Awaited<ReturnType<typeof compile>>) => {
    const app = module.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), {
      logger: false,
    })
    // Fastify parses text/plain itself and answers 415 to a media type it has no parser
    // for: uploads of any type are handed on unread instead.
    const fastify = app.getHttpAdapter().getInstance()
    fastify.removeContentTypeParser('text/plain')
    fastify.addContentTypeParser('*', (_request, body, done) => done(null, body))
    return app
  },
} satisfies Record<
  string,
  (module: Awaited<ReturnType<typeof compile>>) => Promise<INestApplication>
>

function compile(database: string, storage: BytesFileSystemStorage) {
  return Test.createTestingModule({ imports: [AppModule.with({ database, storage })] }).compile()
}

for (const [platform, createApp] of Object.entries(platforms)) {
  describe(`a NestJS application on platform-${platform}`, () => {
    let directory: string
    let storage: ObservedStorage
    let app: INestApplication
    let dataSource: DataSource
    let base: string
    let id: number
    let key: string
    let etag: string
    let closed = false

    beforeAll(async () => {
      directory = await mkdtemp(path.join(tmpdir(), `attrstore-nest-${platform}-`))
      storage = new ObservedStorage({ root: path.join(directory, 'files') })
      app = await createApp(await compile(path.join(directory, 'app.sqlite'), storage))
      await app.listen(0, '127.0.0.1')
      base = (await app.getUrl()).replace('[::1]', '127.0.0.1')
      dataSource = app.get<DataSource>(getDataSourceToken())
      storage.dataSource = dataSource
    })

    afterAll(async () => {
      if (!closed) await app?.close()
      await rm(directory, { recursive: true, force: true })
    })

    it('registered the storage on the DataSource TypeOrmModule built', () => {
      const bindings = storageBindings(dataSource)
      expect(bindings.map((binding) => binding.storage)).toEqual([storage])
    })

    it('uploads a raw body through the controller, streamed to the storage', async () => {
      const response = await fetch(`${base}/documents/letters.txt`, {
        method: 'PUT',
        headers: { 'content-type': 'text/plain' },
        body: CONTENT,
        signal: AbortSignal.timeout(10_000),
      })
      const body = (await response.json()) as { id: number; key: string }
      expect(response.status, JSON.stringify(body)).toBe(200)
      expect(body.id).toBeGreaterThan(0)
      expect(await storage.read(body.key)).toEqual(CONTENT)
      id = body.id
      key = body.key
    })

    it('refuses an upload whose body the platform parsed (JSON), storing nothing', async () => {
      const response = await fetch(`${base}/documents/data.json`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: '{"a":1}',
        signal: AbortSignal.timeout(10_000),
      })
      expect(response.status).toBe(500)
      const stored: string[] = []
      for await (const object of storage.list()) stored.push(object.key)
      expect(stored).toHaveLength(1)
    })

    it('downloads the whole content, with an ETag, nosniff and the recorded name', async () => {
      const response = await fetch(`${base}/documents/${id}`, {
        signal: AbortSignal.timeout(10_000),
      })
      expect(response.status).toBe(200)
      expect(Buffer.from(await response.arrayBuffer())).toEqual(CONTENT)
      expect(response.headers.get('content-type')).toMatch(/^text\/plain/)
      expect(response.headers.get('accept-ranges')).toBe('bytes')
      expect(response.headers.get('x-content-type-options')).toBe('nosniff')
      expect(response.headers.get('content-disposition')).toMatch(/letters\.txt/)
      etag = response.headers.get('etag')!
      expect(etag).toMatch(/^"[^"]+"$/)
    })

    it('answers a Range with 206 and exactly those bytes', async () => {
      const response = await fetch(`${base}/documents/${id}`, {
        headers: { range: 'bytes=1000-1099' },
        signal: AbortSignal.timeout(10_000),
      })
      expect(response.status).toBe(206)
      expect(response.headers.get('content-range')).toBe(`bytes 1000-1099/${CONTENT.length}`)
      expect(response.headers.get('content-length')).toBe('100')
      expect(Buffer.from(await response.arrayBuffer())).toEqual(CONTENT.subarray(1000, 1100))
    })

    it('answers 416 to a range past the end', async () => {
      const response = await fetch(`${base}/documents/${id}`, {
        headers: { range: `bytes=${CONTENT.length}-` },
        signal: AbortSignal.timeout(10_000),
      })
      expect(response.status).toBe(416)
      expect(response.headers.get('content-range')).toBe(`bytes */${CONTENT.length}`)
      await response.arrayBuffer()
    })

    it('answers If-None-Match with the current ETag with 304 and no body', async () => {
      const response = await fetch(`${base}/documents/${id}`, {
        headers: { 'if-none-match': etag },
        signal: AbortSignal.timeout(10_000),
      })
      expect(response.status).toBe(304)
      expect(response.headers.get('etag')).toBe(etag)
      expect((await response.arrayBuffer()).byteLength).toBe(0)
    })

    it('answers HEAD with the headers of a GET and no body', async () => {
      const response = await fetch(`${base}/documents/${id}`, {
        method: 'HEAD',
        signal: AbortSignal.timeout(10_000),
      })
      expect(response.status).toBe(200)
      expect(response.headers.get('content-length')).toBe(String(CONTENT.length))
      expect(response.headers.get('etag')).toBe(etag)
      expect((await response.arrayBuffer()).byteLength).toBe(0)
    })

    it('serves an object by its key from the registered storage (sendStoredObject)', async () => {
      const response = await fetch(`${base}/documents/by-key/${encodeURIComponent(key)}`, {
        headers: { range: 'bytes=-10' },
        signal: AbortSignal.timeout(10_000),
      })
      expect(response.status).toBe(206)
      expect(Buffer.from(await response.arrayBuffer())).toEqual(CONTENT.subarray(-10))
      const missing = await fetch(`${base}/documents/by-key/no-such-key`, {
        signal: AbortSignal.timeout(10_000),
      })
      expect(missing.status).toBe(404)
      expect(missing.headers.get('content-type')).toMatch(/^text\/plain/)
      await missing.arrayBuffer()
    })

    it("leaves a missing row to Nest's exception filters (404 as JSON)", async () => {
      const response = await fetch(`${base}/documents/999999`, {
        signal: AbortSignal.timeout(10_000),
      })
      expect(response.status).toBe(404)
      expect(await response.json()).toMatchObject({ message: 'no document 999999' })
    })

    it('unregisters and disposes the storage on close, before TypeOrmModule destroys the DataSource', async () => {
      closed = true
      await app.close()
      // Nest shuts global modules (TypeOrmModule's) down last: the DataSource was still open.
      expect(storage.disposedWhileOpen).toEqual([true])
      expect(dataSource.isInitialized).toBe(false)
      expect(storageBindings(dataSource)).toEqual([])
    })
  })
}
