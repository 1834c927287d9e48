import { createHash, randomUUID } from 'node:crypto'
import path from 'node:path'
import { Readable } from 'node:stream'
import {
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3'
import {
  ConfigurationError,
  KeyConflictError,
  ObjectNotFoundError,
  RangeNotSatisfiableError,
} from '@attrstore/core'
import { failingBody } from '@attrstore/core/conformance'
import { S3Storage, type S3StorageOptions } from '@attrstore/s3'
import { parseReference } from '../src/reference.js'
import { spawnFixture, type TestS3 } from '@attrstore/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connection } from './support.js'

// Cases only a real S3 server shows (MinIO, Ceph RGW): versioned buckets, multipart
// uploads a killed process left, write-once of custom keys under races, error mapping.

const MiB = 1024 * 1024

/** Creates a bucket with versioning enabled and returns its name. */
export async function createVersionedBucket(s3: TestS3, raw: S3Client): Promise<string> {
  const bucket = await s3.createBucket(`versioned-${randomUUID().slice(0, 8)}`)
  await raw.send(
    new PutBucketVersioningCommand({
      Bucket: bucket,
      VersioningConfiguration: { Status: 'Enabled' },
    }),
  )
  return bucket
}

/** Every version and delete marker under `prefix`. */
async function versionsUnder(raw: S3Client, bucket: string, prefix: string) {
  const page = await raw.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix }))
  return { versions: page.Versions ?? [], deleteMarkers: page.DeleteMarkers ?? [] }
}

/** A stream of `parts` chunks of 3 MiB filled with `fill`: more than one 5 MiB part. */
function partsBody(fill: number, chunks = 3): { stream: Readable; sha256: string } {
  const chunk = Buffer.alloc(3 * MiB, fill)
  const hash = createHash('sha256')
  for (let index = 0; index < chunks; index++) hash.update(chunk)
  return {
    stream: Readable.from(Array.from({ length: chunks }, () => chunk)),
    sha256: hash.digest('hex'),
  }
}

/** The shared cases, on the server `started` runs (skipped, saying why, without one). */
export function describeRealServerCases(
  label: string,
  started: { s3?: TestS3 | undefined; skip?: string | undefined },
) {
  describe.skipIf(!started.s3)(
    `S3Storage on ${label}: what emulators cannot show${started.skip ? ` (skipped: ${started.skip})` : ''}`,
    () => {
      const s3 = started.s3!
      let raw: S3Client
      let versioned: string
      beforeAll(async () => {
        raw = new S3Client(s3.clientConfig)
        versioned = await createVersionedBucket(s3, raw)
      })
      afterAll(() => raw?.destroy())
      const storageOn = (bucket: string, extra: Partial<S3StorageOptions> = {}) =>
        new S3Storage({
          ...connection(s3),
          bucket,
          prefix: `cases-${randomUUID()}`,
          partSize: 5 * MiB,
          ...extra,
        })

      it('on a versioned bucket, references pin versions, even once another writer put a newer one', async () => {
        const storage = storageOn(versioned)
        const written = await storage.write('v1')
        const { key, versionId } = parseReference(written.key)
        expect(versionId).toBeDefined()
        await raw.send(
          new PutObjectCommand({
            Bucket: versioned,
            Key: `${storage.prefix}/${key}`,
            Body: 'v2, by someone else',
          }),
        )
        expect(String(await storage.read(written.key))).toBe('v1')
        expect(await storage.stat(written.key)).toMatchObject({ key: written.key, size: 2 })
        await storage.delete(written.key)
        const left = await versionsUnder(raw, versioned, `${storage.prefix}/${key}`)
        expect(left.versions.map((version) => version.VersionId)).not.toContain(versionId)
        expect(left.versions).toHaveLength(1)
        storage.destroy()
      })

      it("on a versioned bucket, the copy that records a stream's SHA-256 leaves exactly one version", async () => {
        const storage = storageOn(versioned)
        const body = partsBody(7)
        const written = await storage.write(body.stream)
        expect(written.sha256).toBe(body.sha256)
        const { key, versionId } = parseReference(written.key)
        const { versions, deleteMarkers } = await versionsUnder(
          raw,
          versioned,
          `${storage.prefix}/${key}`,
        )
        expect(versions.map((version) => version.VersionId)).toEqual([versionId])
        expect(deleteMarkers).toEqual([])
        expect((await storage.stat(written.key)).sha256).toBe(body.sha256)
        expect(await storage.verify(written.key)).toMatchObject({
          recordedSha256: body.sha256,
          verified: true,
        })
        storage.destroy()
      })

      it("on an unversioned bucket, a stream's SHA-256 goes in a hash record that stat and verify find, and delete removes", async () => {
        const storage = storageOn(s3.bucket)
        const body = partsBody(5)
        const written = await storage.write(body.stream)
        expect(written.sha256).toBe(body.sha256)
        expect(parseReference(written.key).versionId).toBeUndefined()
        const under = async () =>
          (
            await raw.send(
              new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${storage.prefix}/` }),
            )
          ).Contents?.map((entry) => entry.Key) ?? []
        expect(await under()).toEqual([
          `${storage.prefix}/.attrstore/sha256/${written.key}`,
          `${storage.prefix}/${written.key}`,
        ])
        expect((await storage.stat(written.key)).sha256).toBe(body.sha256)
        expect(await storage.verify(written.key)).toMatchObject({
          recordedSha256: body.sha256,
          verified: true,
        })
        await storage.delete(written.key)
        expect(await under()).toEqual([])
        storage.destroy()
      })

      it('on a versioned bucket, list gives pinned references, and deleting what it listed leaves no version behind', async () => {
        const storage = storageOn(versioned)
        const written = [
          await storage.write('a'),
          await storage.write(partsBody(3).stream),
          await storage.write('c'),
        ]
        const listed = []
        for await (const entry of storage.list()) listed.push(entry)
        expect(listed.map((entry) => entry.key).sort()).toEqual(
          written.map((entry) => entry.key).sort(),
        )
        for (const entry of listed) {
          expect(parseReference(entry.key).versionId).toBeDefined()
          expect(entry.lastModified).toBeInstanceOf(Date)
        }
        // What the garbage collector does with orphans: delete the listed references.
        await storage.deleteMany(listed.map((entry) => entry.key))
        const left = await versionsUnder(raw, versioned, `${storage.prefix}/`)
        expect(left).toEqual({ versions: [], deleteMarkers: [] })
        storage.destroy()
      })

      for (const kind of ['unversioned', 'versioned'] as const) {
        const bucketOf = () => (kind === 'versioned' ? versioned : s3.bucket)

        it(`on ${kind === 'versioned' ? 'a' : 'an'} ${kind} bucket, a custom key is never overwritten by writes in parts racing for it`, async () => {
          const storage = storageOn(bucketOf(), { keyGenerator: () => 'custom/raced-in-parts' })
          const bodies = [partsBody(1), partsBody(2), partsBody(3)]
          const results = await Promise.allSettled(bodies.map((body) => storage.write(body.stream)))
          const won = results.flatMap((result) =>
            result.status === 'fulfilled' ? [result.value] : [],
          )
          expect(won).toHaveLength(1)
          for (const result of results) {
            if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(KeyConflictError)
          }
          const stored = await storage.read(won[0]!.key)
          expect(createHash('sha256').update(stored).digest('hex')).toBe(won[0]!.sha256)
          const { versions } = await versionsUnder(
            raw,
            bucketOf(),
            `${storage.prefix}/custom/raced-in-parts`,
          )
          expect(versions).toHaveLength(1)
          storage.destroy()
        })

        it(`on ${kind === 'versioned' ? 'a' : 'an'} ${kind} bucket, a custom key is never overwritten by a single PUT and a write in parts racing, nor later`, async () => {
          const storage = storageOn(bucketOf(), { keyGenerator: () => 'custom/mixed' })
          const inParts = partsBody(9)
          const results = await Promise.allSettled([
            storage.write(inParts.stream),
            storage.write('one small PUT'),
          ])
          const won = results.flatMap((result) =>
            result.status === 'fulfilled' ? [result.value] : [],
          )
          expect(won).toHaveLength(1)
          const before = await storage.read(won[0]!.key)
          await expect(storage.write('again')).rejects.toBeInstanceOf(KeyConflictError)
          await expect(storage.write(partsBody(4).stream)).rejects.toBeInstanceOf(KeyConflictError)
          expect((await storage.read(won[0]!.key)).equals(before)).toBe(true)
          const { versions } = await versionsUnder(
            raw,
            bucketOf(),
            `${storage.prefix}/custom/mixed`,
          )
          expect(versions).toHaveLength(1)
          storage.destroy()
        })
      }

      it('a failed multipart upload leaves nothing in ListMultipartUploads', async () => {
        const storage = storageOn(s3.bucket)
        await expect(storage.write(failingBody(48, 256 * 1024))).rejects.toThrow(
          /failed on purpose/,
        )
        const uploads = await raw.send(
          new ListMultipartUploadsCommand({ Bucket: s3.bucket, Prefix: `${storage.prefix}/` }),
        )
        expect(uploads.Uploads ?? []).toEqual([])
        expect(await storage.cleanStaleWrites({ olderThanMs: 0 })).toMatchObject({
          supported: true,
          found: 0,
        })
        storage.destroy()
      })

      it('the upload a process killed mid-write left is listed, kept while young, aborted once stale', async () => {
        const prefix = `killed-${randomUUID()}`
        const options = { ...connection(s3), prefix }
        const child = spawnFixture(
          path.join(import.meta.dirname, 'fixtures', 'multipart-until-killed.ts'),
          [JSON.stringify(options)],
          { stderr: 'pipe' },
        )
        let stderr = ''
        child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
        const listUploads = async () =>
          (
            await raw.send(
              new ListMultipartUploadsCommand({ Bucket: s3.bucket, Prefix: `${prefix}/` }),
            )
          ).Uploads ?? []
        try {
          const deadline = Date.now() + 30_000
          while ((await listUploads()).length === 0) {
            if (child.exitCode !== null) throw new Error(`the writer exited early: ${stderr}`)
            if (Date.now() > deadline) throw new Error(`no upload started within 30 s: ${stderr}`)
            await new Promise((resolve) => setTimeout(resolve, 100))
          }
        } finally {
          child.kill('SIGKILL')
        }
        await new Promise((resolve) =>
          child.exitCode !== null ? resolve(null) : child.once('exit', resolve),
        )
        expect(await listUploads()).toHaveLength(1)
        const storage = new S3Storage(options)
        expect(await storage.cleanStaleWrites({ olderThanMs: 24 * 60 * 60 * 1000 })).toEqual({
          kind: 'multipart uploads',
          supported: true,
          found: 1,
          removed: 0,
          kept: 1,
          failed: 0,
        })
        expect(await storage.cleanStaleWrites({ olderThanMs: 0 })).toEqual({
          kind: 'multipart uploads',
          supported: true,
          found: 1,
          removed: 1,
          kept: 0,
          failed: 0,
        })
        expect(await listUploads()).toEqual([])
        const listed = []
        for await (const entry of storage.list()) listed.push(entry.key)
        expect(listed).toEqual([])
        storage.destroy()
      })

      it('errors are typed, and their messages say what happened', async () => {
        const storage = storageOn(s3.bucket)
        const { key } = await storage.write('five!')
        const notFound = await storage.read('missing').catch((error: unknown) => error)
        expect(notFound).toBeInstanceOf(ObjectNotFoundError)
        await expect(storage.stat('missing')).rejects.toBeInstanceOf(ObjectNotFoundError)
        const range = await storage.read(key, { range: { start: 100 } }).catch((e: unknown) => e)
        expect(range).toBeInstanceOf(RangeNotSatisfiableError)
        expect((range as Error).message).toMatch(/past the end/)
        expect((range as Error).message).not.toMatch(/UnknownError/)

        const wrongSecret = new S3Storage({
          ...connection(s3),
          credentials: { accessKeyId: s3.credentials.accessKeyId, secretAccessKey: 'wrong' },
        })
        const refused = await wrongSecret.read(key).catch((error: unknown) => error)
        expect(refused).toBeInstanceOf(ConfigurationError)
        expect((refused as Error).message).toMatch(
          /refused the credentials.*SignatureDoesNotMatch.*HTTP 403/,
        )
        expect((refused as Error).message).not.toMatch(/UnknownError/)
        wrongSecret.destroy()

        const unknownKey = new S3Storage({
          ...connection(s3),
          credentials: { accessKeyId: 'NO-SUCH-KEY', secretAccessKey: 'wrong' },
        })
        const unknown = await unknownKey.write('x').catch((error: unknown) => error)
        expect(unknown).toBeInstanceOf(ConfigurationError)
        expect((unknown as Error).message).toMatch(/InvalidAccessKeyId.*HTTP 403/)
        expect((unknown as Error).message).not.toMatch(/UnknownError/)
        unknownKey.destroy()

        const noBucket = new S3Storage({
          ...connection(s3),
          bucket: `missing-${randomUUID().slice(0, 8)}`,
        })
        const missingBucket = await noBucket.write('x').catch((error: unknown) => error)
        expect(missingBucket).toBeInstanceOf(ConfigurationError)
        expect((missingBucket as Error).message).toMatch(/does not exist/)
        noBucket.destroy()
        storage.destroy()
      })
    },
  )
}
