import {
  AbortMultipartUploadCommand,
  ListMultipartUploadsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
} from '@aws-sdk/client-s3'
import { type ListedObject, type StaleWritesOptions, type StaleWritesReport } from '@attrstore/core'
import { emptyStaleWritesReport, staleWritesCutoff } from '@attrstore/core/driver'
import type { Capabilities } from './capabilities.js'
import { isNotFound, isServerFault, isUnsupported } from './errors.js'
import { formatReference, parseReference } from './reference.js'
import type { S3Session } from './session.js'

interface ListPage {
  contents: Array<{
    Key?: string | undefined
    Size?: number | undefined
    LastModified?: Date | undefined
  }>
  truncated: boolean
  /** v2 continuation token. */
  token?: string
  /** v1 NextMarker, when the server gives one. */
  nextMarker?: string
}

/**
 * What is under the prefix, for the garbage collector and verification: objects
 * (ListObjectsV2, falling back to ListObjects v1 for servers that only have it or whose v2
 * is broken; current versions on a versioned bucket), and multipart uploads a killed
 * process left behind.
 */
export class Listings {
  private readonly session: S3Session
  private readonly capabilities: Capabilities
  /** The server's ListObjectsV2 failed or cannot paginate: v1 from then on. */
  private v1Only = false

  constructor(session: S3Session, capabilities: Capabilities) {
    this.session = session
    this.capabilities = capabilities
  }

  /** Every object under `prefix` (relative to the storage's), as references. */
  async *list(prefix: string): AsyncIterable<ListedObject> {
    const s3Prefix = this.session.keyPrefix + prefix
    if (await this.capabilities.versioned()) yield* this.listVersions(s3Prefix)
    else yield* this.listCurrent(s3Prefix)
  }

  /** The relative key of a listed S3 key, or undefined for what is not ours to list. */
  private relativeKey(objectKey: string | undefined): string | undefined {
    const { keyPrefix } = this.session
    if (objectKey === undefined || !objectKey.startsWith(keyPrefix)) return undefined
    const key = objectKey.slice(keyPrefix.length)
    try {
      this.session.assertReference(key)
      parseReference(key)
      // A key with "//" would read back as a versioned reference: not addressable.
      if (key.includes('//')) return undefined
    } catch {
      return undefined
    }
    return key
  }

  private async *listCurrent(s3Prefix: string): AsyncIterable<ListedObject> {
    const { session } = this
    let token: string | undefined
    // The last S3 key listed: where a v1 listing (Marker) goes on from.
    let lastKey: string | undefined
    let v1 = this.v1Only
    while (true) {
      let page: ListPage
      if (!v1) {
        try {
          page = await this.listPage('v2', s3Prefix, token)
        } catch (v2Error) {
          // Servers that only have ListObjects (v1), or whose v2 is broken (s3rver cannot
          // make continuation tokens on OpenSSL 3): the same page in v1, then v1 only.
          if (!isUnsupported(v2Error) && !isServerFault(v2Error)) {
            throw session.fail(v2Error, 'list')
          }
          try {
            page = await this.listPage('v1', s3Prefix, lastKey)
          } catch {
            throw session.fail(v2Error, 'list')
          }
          v1 = this.v1Only = true
        }
        // A v1-only server may answer a v2 request with a v1 page (no continuation token).
        if (page.truncated && page.token === undefined) v1 = this.v1Only = true
      } else {
        try {
          page = await this.listPage('v1', s3Prefix, lastKey)
        } catch (error) {
          throw session.fail(error, 'list')
        }
      }
      session.bucketSeen = true
      for (const entry of page.contents) {
        const key = this.relativeKey(entry.Key)
        if (key === undefined) continue
        yield {
          key,
          size: entry.Size ?? 0,
          ...(entry.LastModified === undefined ? {} : { lastModified: entry.LastModified }),
        }
      }
      const last = page.contents.at(-1)?.Key
      if (!page.truncated || (last === undefined && page.token === undefined)) return
      lastKey = page.nextMarker ?? last ?? lastKey
      token = page.token
    }
  }

  /**
   * One page of ListObjectsV2 (going on from a continuation token) or of ListObjects v1
   * (going on after a key, the Marker).
   */
  private async listPage(
    api: 'v1' | 'v2',
    s3Prefix: string,
    after: string | undefined,
  ): Promise<ListPage> {
    const { session } = this
    const input = { Bucket: session.bucket, Prefix: s3Prefix, ...session.payer }
    if (api === 'v2') {
      const page = await session.client.send(
        new ListObjectsV2Command({ ...input, ContinuationToken: after }),
      )
      return {
        contents: page.Contents ?? [],
        truncated: page.IsTruncated === true,
        ...(page.NextContinuationToken ? { token: page.NextContinuationToken } : {}),
      }
    }
    const page = await session.client.send(new ListObjectsCommand({ ...input, Marker: after }))
    return {
      contents: page.Contents ?? [],
      truncated: page.IsTruncated === true,
      ...(page.NextMarker ? { nextMarker: page.NextMarker } : {}),
    }
  }

  /** The current version of every key, as pinned references. */
  private async *listVersions(s3Prefix: string): AsyncIterable<ListedObject> {
    const { session } = this
    let keyMarker: string | undefined
    let versionMarker: string | undefined
    while (true) {
      let page
      try {
        page = await session.client.send(
          new ListObjectVersionsCommand({
            Bucket: session.bucket,
            Prefix: s3Prefix,
            KeyMarker: keyMarker,
            VersionIdMarker: versionMarker,
            ...session.payer,
          }),
        )
      } catch (error) {
        throw session.fail(error, 'list (versions)')
      }
      for (const version of page.Versions ?? []) {
        if (!version.IsLatest) continue
        const key = this.relativeKey(version.Key)
        if (key === undefined) continue
        yield {
          key: formatReference(key, version.VersionId),
          size: version.Size ?? 0,
          ...(version.LastModified === undefined ? {} : { lastModified: version.LastModified }),
        }
      }
      if (!page.IsTruncated) return
      keyMarker = page.NextKeyMarker
      versionMarker = page.NextVersionIdMarker
      if (keyMarker === undefined) return
    }
  }

  /**
   * Aborts the multipart uploads under the prefix started before the cut-off: what a
   * process killed mid-upload leaves behind, billed by S3 until aborted.
   */
  async cleanStaleUploads(options: StaleWritesOptions): Promise<StaleWritesReport> {
    const { session } = this
    const cutoff = staleWritesCutoff(options)
    const report = emptyStaleWritesReport('multipart uploads')
    const { keyPrefix } = session
    let keyMarker: string | undefined
    let uploadIdMarker: string | undefined
    while (true) {
      options.signal?.throwIfAborted()
      let page
      try {
        page = await session.client.send(
          new ListMultipartUploadsCommand({
            Bucket: session.bucket,
            ...(keyPrefix === '' ? {} : { Prefix: keyPrefix }),
            KeyMarker: keyMarker,
            UploadIdMarker: uploadIdMarker,
            ...session.payer,
          }),
        )
      } catch (error) {
        if (isUnsupported(error)) return { ...report, supported: false }
        throw session.fail(error, 'ListMultipartUploads')
      }
      // A real ListMultipartUploadsResult names its bucket; fauxqs answers with an object
      // listing instead, which says nothing about uploads.
      if (page.Bucket === undefined) return { ...report, supported: false }
      for (const upload of page.Uploads ?? []) {
        if (!upload.Key?.startsWith(keyPrefix) || upload.UploadId === undefined) continue
        report.found++
        if (upload.Initiated === undefined || upload.Initiated.getTime() > cutoff) {
          report.kept++
          continue
        }
        if (options.dryRun) continue
        try {
          await session.client.send(
            new AbortMultipartUploadCommand({
              Bucket: session.bucket,
              Key: upload.Key,
              UploadId: upload.UploadId,
              ...session.payer,
            }),
          )
          report.removed++
        } catch (error) {
          if (isNotFound(error)) report.removed++
          else report.failed++
        }
      }
      if (!page.IsTruncated) return report
      keyMarker = page.NextKeyMarker
      uploadIdMarker = page.NextUploadIdMarker
      if (keyMarker === undefined && uploadIdMarker === undefined) return report
    }
  }
}
