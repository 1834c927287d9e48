// Serving stored attributes of TypeORM entities over HTTP: what attrstore recorded when it
// loaded or saved an entity (key, storage, the attribute's contentType and fileName
// options) is all sendAttribute and signedUrlFor need; nothing ORM-specific in between.
import 'reflect-metadata'
import { randomBytes } from 'node:crypto'
import { Column, DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm'
import {
  ConfigurationError,
  MemoryStorage,
  type SignedUrl,
  type SignedUrlOptions,
} from '@attrstore/core'
import {
  createUrlSigner,
  sendAttribute,
  serveSignedUrl,
  signedUrlFor,
  type SendFailure,
} from '@attrstore/http'
import { startHttpServer, type LoopbackServer } from '@attrstore/testing'
import {
  attachedAttribute,
  AttributeNotAttachedError,
  NullAttributeError,
  setStorage,
  StoredAttribute,
} from '@attrstore/typeorm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

@Entity()
class Upload {
  @PrimaryGeneratedColumn() id!: number
  @Column({ type: 'varchar' }) name!: string
  @Column({ type: 'varchar' }) mimeType!: string
  @StoredAttribute<Upload>({ contentType: (upload) => upload.mimeType, fileName: (u) => u.name })
  data!: unknown
  @StoredAttribute({ load: 'lazy', nullable: true }) preview!: unknown
  @StoredAttribute({ load: 'none', nullable: true }) original!: unknown
}

/**
 * A storage that declares `signedUrl` (as S3 does) by handing out URLs of its own made-up
 * CDN: what signedUrlFor must prefer to the application's signer.
 */
class PresigningStorage extends MemoryStorage {
  readonly asked: Array<{ key: string; options: SignedUrlOptions }> = []
  async signedUrl(key: string, options: SignedUrlOptions): Promise<SignedUrl> {
    this.asked.push({ key, options })
    const expiresAt = new Date(Date.now() + options.expiresIn * 1000)
    return { url: `https://cdn.invalid/${encodeURIComponent(key)}`, expiresAt }
  }
}

const storage = new MemoryStorage()
const presigning = new PresigningStorage()
const dataSource = new DataSource({
  type: 'better-sqlite3',
  database: ':memory:',
  entities: [Upload],
  synchronize: true,
})
setStorage(dataSource, Upload, 'data', storage)
setStorage(dataSource, Upload, 'preview', presigning)
setStorage(dataSource, Upload, 'original', storage)

const signer = createUrlSigner({ secrets: randomBytes(32), baseUrl: 'http://placeholder.invalid' })
let failures: SendFailure[] = []
let server: LoopbackServer
let base: string
let routeSigner = signer

beforeAll(async () => {
  await dataSource.initialize()
  server = await startHttpServer((request, response) => {
    const url = new URL(request.url!, 'http://x')
    if (url.pathname === '/signed') {
      void serveSignedUrl(request, response, [storage, presigning], routeSigner)
      return
    }
    const [, id, attribute] = url.pathname.split('/')
    void dataSource
      .getRepository(Upload)
      .findOneByOrFail({ id: Number(id) })
      .then((upload) =>
        sendAttribute(request, response, upload, attribute as 'data', {
          onError: (_error, failure) => failures.push(failure),
        }),
      )
  })
  base = server.url
  routeSigner = createUrlSigner({ secrets: randomBytes(32), baseUrl: `${base}/signed` })
})
afterAll(async () => {
  await server.close()
  await dataSource.destroy()
})

const get = (path: string) => fetch(`${base}${path}`, { signal: AbortSignal.timeout(10_000) })

async function saved(fields: Partial<Upload>): Promise<Upload> {
  const repository = dataSource.getRepository(Upload)
  return repository.save(
    repository.create({ name: 'report.pdf', mimeType: 'application/pdf', ...fields }),
  )
}

describe('attachedAttribute', () => {
  it('tells the key, storage, media type and file name of a saved and of a loaded entity', async () => {
    const upload = await saved({ data: Buffer.from('%PDF-1.7'), name: 'rapport été.pdf' })
    const loaded = await dataSource.getRepository(Upload).findOneByOrFail({ id: upload.id })
    for (const entity of [upload, loaded]) {
      const object = attachedAttribute(entity, 'data')
      expect(object.storage).toBe(storage)
      expect(await storage.read(object.key)).toEqual(Buffer.from('%PDF-1.7'))
      expect(object).toMatchObject({ contentType: 'application/pdf', fileName: 'rapport été.pdf' })
    }
    // Lazy and key-only attributes are recorded alike.
    const withAll = await saved({ data: 'a', preview: 'b', original: 'c' })
    const again = await dataSource.getRepository(Upload).findOneByOrFail({ id: withAll.id })
    expect(attachedAttribute(again, 'preview').storage).toBe(presigning)
    expect(attachedAttribute(again, 'original').key).toBe(again.original)
  })

  it('throws NullAttributeError for a null attribute, AttributeNotAttachedError for an entity attrstore never saw', async () => {
    const upload = await saved({ data: 'x', preview: null })
    const loaded = await dataSource.getRepository(Upload).findOneByOrFail({ id: upload.id })
    expect(() => attachedAttribute(loaded, 'preview')).toThrow(NullAttributeError)
    const built = dataSource.getRepository(Upload).create({ name: 'a', mimeType: 'b' })
    expect(() => attachedAttribute(built, 'data')).toThrow(AttributeNotAttachedError)
    expect(() => attachedAttribute(built, 'data')).toThrow(/Upload\.data was not loaded or saved/)
    expect(() => attachedAttribute(loaded, 'name')).toThrow(AttributeNotAttachedError)
  })
})

describe('sendAttribute', () => {
  it("serves the attribute with the entity's media type and file name", async () => {
    const upload = await saved({ data: Buffer.from('%PDF-1.7 body'), name: 'scan.pdf' })
    const response = await get(`/${upload.id}/data`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('application/pdf')
    expect(response.headers.get('content-disposition')).toBe('inline; filename=scan.pdf')
    expect(await response.text()).toBe('%PDF-1.7 body')
  })

  it("an HTML upload named page.html is an attachment, whatever the entity's mimeType says", async () => {
    const upload = await saved({
      data: '<script>1</script>',
      name: 'page.html',
      mimeType: 'text/html',
    })
    const response = await get(`/${upload.id}/data`)
    expect(response.headers.get('content-type')).toBe('text/html')
    expect(response.headers.get('content-disposition')).toBe('attachment; filename=page.html')
    await response.arrayBuffer()
  })

  it('a null attribute: 404; an attribute that is not stored: 500, both told to onError', async () => {
    failures = []
    const upload = await saved({ data: 'x', preview: null })
    const missing = await get(`/${upload.id}/preview`)
    expect(missing.status).toBe(404)
    expect(await missing.text()).toBe('Not Found\n')
    const notStored = await get(`/${upload.id}/name`)
    expect(notStored.status).toBe(500)
    expect(await notStored.text()).toBe('Internal Server Error\n')
    expect(failures).toEqual([
      { key: undefined, status: 404, afterHeaders: false },
      { key: undefined, status: 500, afterHeaders: false },
    ])
  })
})

describe('signedUrlFor', () => {
  it("uses the storage's own signedUrl where it declares one, with the entity's type and name", async () => {
    const upload = await saved({ data: 'x', preview: Buffer.from('png'), name: 'thumb.png' })
    const loaded = await dataSource.getRepository(Upload).findOneByOrFail({ id: upload.id })
    const signed = await signedUrlFor(loaded, 'preview', {
      expiresIn: 300,
      signer,
      disposition: 'inline',
      contentType: 'image/png',
    })
    expect(signed.url).toMatch(/^https:\/\/cdn\.invalid\//)
    expect(presigning.asked.at(-1)).toEqual({
      key: attachedAttribute(loaded, 'preview').key,
      options: { expiresIn: 300, disposition: 'inline', contentType: 'image/png' },
    })
    // Active content is never granted inline by a presigned URL; unknown types neither.
    await signedUrlFor(loaded, 'preview', {
      expiresIn: 1,
      disposition: 'inline',
      contentType: 'image/svg+xml',
    })
    expect(presigning.asked.at(-1)!.options.disposition).toBe('attachment')
    await signedUrlFor(loaded, 'preview', { expiresIn: 1, disposition: 'inline' })
    expect(presigning.asked.at(-1)!.options.disposition).toBe('attachment')
    // The rule sendObject applies: bytes of no declared kind are saved, not shown...
    await signedUrlFor(loaded, 'preview', {
      expiresIn: 1,
      disposition: 'inline',
      contentType: 'application/octet-stream',
    })
    expect(presigning.asked.at(-1)!.options.disposition).toBe('attachment')
    // ...and a passive type the file name registers is shown, with that type in the URL.
    await signedUrlFor(loaded, 'preview', {
      expiresIn: 1,
      disposition: 'inline',
      fileName: 'a.pdf',
    })
    expect(presigning.asked.at(-1)!.options).toEqual({
      expiresIn: 1,
      disposition: 'inline',
      fileName: 'a.pdf',
      contentType: 'application/pdf',
    })
  })

  it("signs with the application's signer where the storage cannot presign; its route serves it", async () => {
    const upload = await saved({ data: Buffer.from('%PDF-1.7 signed'), name: 'signed.pdf' })
    const signed = await signedUrlFor(upload, 'data', {
      expiresIn: 60,
      signer: routeSigner,
      disposition: 'inline',
    })
    expect(signed.url.startsWith(`${base}/signed?`)).toBe(true)
    const response = await fetch(signed.url, { signal: AbortSignal.timeout(10_000) })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('application/pdf')
    expect(response.headers.get('content-disposition')).toBe('inline; filename=signed.pdf')
    expect(await response.text()).toBe('%PDF-1.7 signed')
    // The same URL with another key: refused.
    const other = await saved({ data: 'other' })
    const replayed = new URL(signed.url)
    replayed.searchParams.set('key', attachedAttribute(other, 'data').key)
    expect((await fetch(replayed, { signal: AbortSignal.timeout(10_000) })).status).toBe(403)
  })

  it('without a signer, for a storage that cannot presign: ConfigurationError', async () => {
    const upload = await saved({ data: 'x' })
    await expect(signedUrlFor(upload, 'data', { expiresIn: 60 })).rejects.toThrow(
      ConfigurationError,
    )
  })
})
