/**
 * Direct uploads to a filesystem storage through @attrstore/http's upload endpoint, claimed
 * into TypeORM rows (SQLite; the concurrent claims also on PostgreSQL): the happy paths
 * (PUT and multipart POST), every refusal, rollback, and gc of abandoned uploads.
 */
import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DataSource } from 'typeorm'
import { existingObject, UploadClaimError, type UploadClaimRefusal } from '@attrstore/core'
import { BytesFileSystemStorage } from '@attrstore/fs'
import { withUploadEndpoint, type UploadEndpointStorage } from '@attrstore/http'
import { startDatabaseServer, type DatabaseServer } from '@attrstore/testing/world'
import {
  claimUpload,
  createUpload,
  MAX_UPLOAD_TOKEN_LIFETIME_MS,
  StoredContent,
  UploadTokens,
} from '@attrstore/typeorm'
import { collectGarbage } from '@attrstore/cli'
import { DEFAULT_GRACE_MS } from '../../packages/cli/src/gc.js'
import {
  Attachment,
  Photo,
  png,
  SECRET,
  sendUpload,
  startCountingServer,
  uploadWorld,
  type CountingServer,
} from './support.js'

const HOUR = 60 * 60 * 1000
const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex')

async function refusal(work: Promise<unknown>): Promise<UploadClaimRefusal> {
  const error = await work.then(
    () => undefined,
    (caught: unknown) => caught,
  )
  expect(error, 'the claim was not refused').toBeInstanceOf(UploadClaimError)
  return (error as UploadClaimError).reason
}

let root: string
let server: CountingServer
let storages: Record<'PUT' | 'POST', UploadEndpointStorage>
let handler: UploadEndpointStorage | undefined

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'attrstore-uploads-'))
  server = await startCountingServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://x')
    const storage = url.pathname === '/post' ? storages.POST : storages.PUT
    return (handler ?? storage).handleUpload(request, response)
  })
  const files = new BytesFileSystemStorage({ root })
  storages = {
    PUT: withUploadEndpoint(files, { baseUrl: `${server.url}/put`, secret: SECRET }),
    POST: withUploadEndpoint(files, {
      baseUrl: `${server.url}/post`,
      secret: SECRET,
      method: 'POST',
    }),
  }
})

afterAll(async () => {
  await server?.close()
  await rm(root, { recursive: true, force: true })
})

describe('direct uploads through @attrstore/http to the filesystem (sqlite)', () => {
  let databases: DatabaseServer
  let dataSource: DataSource
  let clock = 0
  const tokens = new UploadTokens({ secret: SECRET, now: () => Date.now() + clock })
  beforeAll(async () => {
    databases = await startDatabaseServer('sqlite')
    dataSource = await uploadWorld(databases, storages.PUT, tokens)
  })
  afterAll(async () => {
    await dataSource?.destroy()
    await databases?.stop()
  })
  const photos = () => dataSource.getRepository(Photo)

  for (const method of ['PUT', 'POST'] as const) {
    it(`${method}: the upload is stored under the key, and a claim references it with its SHA-256, nothing copied`, async () => {
      handler = storages[method]
      try {
        // PUT: for the attribute (its rules apply); POST: for the storage (any attribute on it).
        const upload =
          method === 'PUT'
            ? await createUpload(dataSource, Photo, 'image', {
                maxSize: 4096,
                contentType: 'image/png',
              })
            : await createUpload(storages.POST, { tokens, maxSize: 4096, contentType: 'image/png' })
        expect(upload.method).toBe(method)
        expect(upload.claimableUntil.getTime()).toBeGreaterThan(upload.expiresAt.getTime())
        const content = png(500)
        const sent = await sendUpload(upload, content, 'image/png')
        expect(sent).toMatchObject({ status: 201 })
        const listedBefore = await countObjects()

        const photo = photos().create({ title: 'a', image: claimUpload(upload.token) })
        await photos().save(photo)
        expect(photo.image).toBeInstanceOf(StoredContent)
        expect((photo.image as StoredContent).sha256).toBe(sha256(content))
        const row = await photos().findOneByOrFail({ id: photo.id })
        expect((row.image as StoredContent).key).toBe(upload.key)
        expect((await (row.image as StoredContent).buffer()).equals(content)).toBe(true)
        expect(await countObjects()).toBe(listedBefore) // referenced, not copied
      } finally {
        handler = undefined
      }
    })
  }

  async function countObjects(): Promise<number> {
    let count = 0
    for await (const _ of storages.PUT.list()) count++
    return count
  }

  async function uploaded(
    attribute: 'image' | 'content' = 'image',
    content = png(10),
    contentType = 'image/png',
  ) {
    const upload =
      attribute === 'image'
        ? await createUpload(dataSource, Photo, 'image', { maxSize: 4096 })
        : await createUpload(dataSource, Attachment, 'content', { maxSize: 4096 })
    expect(await sendUpload(upload, content, contentType)).toMatchObject({ status: 201 })
    return upload
  }

  it('refuses a tampered token, saving nothing', async () => {
    const upload = await uploaded()
    const [version, payload, signature] = upload.token.split('.') as [string, string, string]
    const grant = JSON.parse(Buffer.from(payload, 'base64url').toString()) as { m: number }
    grant.m = 10 ** 9 // a larger limit
    const forged = `${version}.${Buffer.from(JSON.stringify(grant)).toString('base64url')}.${signature}`
    const before = await photos().count()
    expect(await refusal(photos().save({ title: 't', image: claimUpload(forged) }))).toBe(
      'tampered',
    )
    expect(await refusal(photos().save({ title: 't', image: claimUpload('junk') }))).toBe(
      'malformed',
    )
    expect(await photos().count()).toBe(before)
    expect(await storages.PUT.exists(upload.key)).toBe(true) // left for gc
  })

  it('refuses an expired token', async () => {
    const upload = await uploaded()
    clock = upload.claimableUntil.getTime() - Date.now() + 1000
    try {
      expect(await refusal(photos().save({ title: 'e', image: claimUpload(upload.token) }))).toBe(
        'expired',
      )
    } finally {
      clock = 0
    }
  })

  it('refuses a claim for another attribute than the token was made for', async () => {
    const upload = await uploaded()
    expect(
      await refusal(
        photos().save({ title: 'o', image: null, thumbnail: claimUpload(upload.token) }),
      ),
    ).toBe('other-target')
    expect(
      await refusal(
        dataSource.getRepository(Attachment).save({ content: claimUpload(upload.token) }),
      ),
    ).toBe('other-target')
  })

  it('refuses a second claim of one token, after the first committed and within one transaction', async () => {
    const upload = await uploaded()
    await photos().save({ title: 'first', image: claimUpload(upload.token) })
    expect(await refusal(photos().save({ title: 'again', image: claimUpload(upload.token) }))).toBe(
      'claimed',
    )
    const other = await uploaded()
    const twice = dataSource.transaction(async (manager) => {
      await manager.save(Photo, { title: 'x', image: claimUpload(other.token) })
      await manager.save(Photo, { title: 'y', image: claimUpload(other.token) })
    })
    expect(await refusal(twice)).toBe('claim-in-progress')
    expect(await photos().countBy({ title: 'x' })).toBe(0)
    expect(await storages.PUT.exists(other.key)).toBe(true) // the rollback kept the upload
  })

  it('refuses to claim a key a row already references', async () => {
    const upload = await uploaded('content')
    await dataSource.getRepository(Attachment).save({ content: existingObject(upload.key) })
    expect(
      await refusal(
        dataSource.getRepository(Attachment).save({ content: claimUpload(upload.token) }),
      ),
    ).toBe('claimed')
  })

  it('the endpoint refuses a body over maxSize (413, nothing stored) and a wrong declared type (415)', async () => {
    const upload = await createUpload(dataSource, Photo, 'image', {
      maxSize: 1000,
      contentType: 'image/png',
    })
    const big = await sendUpload(upload, png(5000), 'image/png')
    if ('status' in big) expect(big.status).toBe(413)
    expect(await storages.PUT.exists(upload.key)).toBe(false)
    const typed = await createUpload(dataSource, Photo, 'image', {
      maxSize: 1000,
      contentType: 'image/png',
    })
    const wrong = await sendUpload({ ...typed, headers: {} }, png(10), 'text/plain')
    expect(wrong).toMatchObject({ status: 415 })
    const liar = await sendUpload(typed, Buffer.from('not a png at all'), 'image/png')
    expect(liar).toMatchObject({ status: 415 })
    expect(await storages.PUT.exists(typed.key)).toBe(false)
    expect(await refusal(photos().save({ title: 'm', image: claimUpload(typed.token) }))).toBe(
      'missing',
    )
  })

  it('refuses at claim a content of a media type the attribute does not accept', async () => {
    const upload = await uploaded('image', Buffer.from('plain text, not a PNG'), 'text/plain')
    expect(await refusal(photos().save({ title: 'txt', image: claimUpload(upload.token) }))).toBe(
      'media-type',
    )
    const narrowed = await createUpload(dataSource, Attachment, 'content', {
      maxSize: 4096,
      accept: 'image/png',
    })
    await sendUpload(narrowed, Buffer.from('text again'), 'text/plain')
    expect(
      await refusal(
        dataSource.getRepository(Attachment).save({ content: claimUpload(narrowed.token) }),
      ),
    ).toBe('media-type')
  })

  it('refuses to claim an upload never sent', async () => {
    const upload = await createUpload(dataSource, Photo, 'image', { maxSize: 4096 })
    expect(await refusal(photos().save({ title: 'none', image: claimUpload(upload.token) }))).toBe(
      'missing',
    )
  })

  it('the tighter size limit wins: the attribute caps a larger request', async () => {
    const upload = await createUpload(dataSource, Photo, 'image', { maxSize: 10 ** 9 })
    const token = JSON.parse(Buffer.from(upload.token.split('.')[1]!, 'base64url').toString()) as {
      m: number
    }
    expect(token.m).toBe(1024 * 1024)
    await expect(
      createUpload(dataSource, Attachment, 'content', { expiresIn: 10 ** 6 }),
    ).rejects.toThrow(/maxExpiresIn/)
  })

  it("a request's accept is held to the decorator's rule: media ranges, or a list of them", async () => {
    for (const accept of ['image/png, image/jpeg', 'png', '*/png', [], ['image/png', '']]) {
      await expect(
        createUpload(dataSource, Attachment, 'content', { maxSize: 4096, accept }),
        JSON.stringify(accept),
      ).rejects.toThrow(/^createUpload: accept must be media types/)
    }
    const listed = await createUpload(dataSource, Attachment, 'content', {
      maxSize: 4096,
      accept: ['Image/PNG', 'image/jpeg'],
    })
    const token = JSON.parse(Buffer.from(listed.token.split('.')[1]!, 'base64url').toString()) as {
      a: string[]
    }
    expect(token.a).toEqual(['image/png', 'image/jpeg'])
  })

  it('a rollback after a claim keeps the upload; it can be claimed again', async () => {
    const upload = await uploaded()
    const failing = dataSource.transaction(async (manager) => {
      await manager.save(Photo, { title: 'rolled back', image: claimUpload(upload.token) })
      throw new Error('the application fails after the claim')
    })
    await expect(failing).rejects.toThrow('the application fails')
    expect(await storages.PUT.exists(upload.key)).toBe(true)
    const photo = await photos().save({ title: 'kept', image: claimUpload(upload.token) })
    expect((await photos().findOneByOrFail({ id: photo.id })).image).toMatchObject({
      key: upload.key,
    })
  })

  it('gc collects an abandoned upload only after the grace period, and keeps claimed ones', async () => {
    const abandoned = await uploaded()
    const claimed = await uploaded()
    await photos().save({ title: 'claimed', image: claimUpload(claimed.token) })
    const early = await collectGarbage(dataSource, { delete: true })
    expect(early.stores[0]?.orphans.count).toBe(0)
    expect(await storages.PUT.exists(abandoned.key)).toBe(true)
    const later = await collectGarbage(dataSource, {
      delete: true,
      now: () => Date.now() + DEFAULT_GRACE_MS + HOUR,
    })
    expect(later.stores[0]?.deleted.count).toBeGreaterThanOrEqual(1)
    expect(await storages.PUT.exists(abandoned.key)).toBe(false)
    expect(await storages.PUT.exists(claimed.key)).toBe(true)
  })

  it("tokens stay claimable for less than gc's default grace period, and longer lifetimes are refused", () => {
    expect(MAX_UPLOAD_TOKEN_LIFETIME_MS).toBeLessThan(DEFAULT_GRACE_MS)
    expect(new UploadTokens({ secret: SECRET }).lifetimeMs).toBeLessThanOrEqual(
      MAX_UPLOAD_TOKEN_LIFETIME_MS,
    )
    expect(
      () => new UploadTokens({ secret: SECRET, maxExpiresIn: 6 * 3600, claimWindow: 7 * 3600 }),
    ).toThrow(/gc/)
    expect(() => new UploadTokens({ secret: 'short' })).toThrow(/at least 32/)
  })

  it('a token signed with a rotated-out secret is refused; one signed with an older listed secret passes', async () => {
    const old = new UploadTokens({ secret: 'the previous secret, long enough' })
    const upload = await createUpload(storages.PUT, { tokens: old, maxSize: 4096 })
    await sendUpload(upload, png(10), 'image/png')
    expect(
      await refusal(
        dataSource.getRepository(Attachment).save({ content: claimUpload(upload.token) }),
      ),
    ).toBe('tampered')
    const rotated = new UploadTokens({ secrets: [SECRET, 'the previous secret, long enough'] })
    expect(rotated.read(upload.token).key).toBe(upload.key)
  })
})

// better-sqlite3 is one connection: TypeORM cannot run two of its transactions at once, so
// the concurrent claims run on PostgreSQL (the in-process claim lock is tested in
// packages/attacher/test/upload-claims.test.ts).
for (const kind of ['postgres'] as const) {
  describe(`two concurrent claims of one token (${kind})`, () => {
    let databases: DatabaseServer
    let dataSource: DataSource
    beforeAll(async () => {
      databases = await startDatabaseServer(kind)
      dataSource = await uploadWorld(databases, storages.PUT)
    })
    afterAll(async () => {
      await dataSource?.destroy()
      await databases?.stop()
    })

    it('exactly one commits; the other is refused', async () => {
      for (let round = 0; round < 5; round++) {
        const upload = await createUpload(dataSource, Photo, 'image', { maxSize: 4096 })
        await sendUpload(upload, png(100), 'image/png')
        const claims = await Promise.allSettled(
          [1, 2].map((n) =>
            dataSource.transaction((manager) =>
              manager.save(Photo, {
                title: `claim ${round}.${n}`,
                image: claimUpload(upload.token),
              }),
            ),
          ),
        )
        const committed = claims.filter((claim) => claim.status === 'fulfilled')
        expect(committed).toHaveLength(1)
        const refused = claims.find((claim) => claim.status === 'rejected')
        expect(refused?.reason).toBeInstanceOf(UploadClaimError)
        expect(['claimed', 'claim-in-progress']).toContain(
          (refused?.reason as UploadClaimError).reason,
        )
        const rows = await dataSource
          .getRepository(Photo)
          .createQueryBuilder('photo')
          .where('photo.image = :key', { key: upload.key })
          .getCount()
        expect(rows).toBe(1)
      }
    })
  })
}
