import { isAttrstoreError } from '@attrstore/core'
import { runBounded } from '@attrstore/core/driver'
import type { ContentHashes } from './content-hashes.js'
import type { ContinuationTokens } from './continuation-token.js'
import type { ListingEntry, ListingSnapshots, SnapshotPage } from './listing-snapshots.js'
import { parameter, type QueryParameters } from './request-target.js'
import { invalidArgument } from './s3-error.js'
import type { ServedBucket } from './served-buckets.js'
import { compareUtf8 } from './utf8-order.js'
import { document, element, isoDate, text, type XmlChild } from './xml.js'
import { entityTagOf } from '../entity-tag.js'

/** S3's largest page, and its default. */
const MAX_KEYS = 1000
/** Objects statted at once for their ETags. */
const STAT_CONCURRENCY = 16
/** ListObjects (v1) pages remembered by the marker that continues them. */
const V1_RESUMES = 1000

/** The owner every object and bucket reports: the gateway serves for one owner. */
export const OWNER = {
  id: '45bd8f25ba8efac835b317add7acfa68a08685799585dc9f642a64cb7d90127a',
  name: 'attrstore',
}

export const ownerElement = (): string =>
  element('Owner', [text('ID', OWNER.id), text('DisplayName', OWNER.name)])

interface ListingParameters {
  prefix: string
  delimiter: string | undefined
  maxKeys: number
  encode: (value: string) => string
  encodingType: string | undefined
}

function readParameters(query: QueryParameters): ListingParameters {
  const maxKeysValue = parameter(query, 'max-keys')
  const maxKeys = maxKeysValue === undefined ? MAX_KEYS : Number(maxKeysValue)
  if (!/^\d+$/.test(maxKeysValue ?? '0') || !Number.isSafeInteger(maxKeys))
    throw invalidArgument(
      'Provided max-keys not an integer or within integer range',
      'max-keys',
      maxKeysValue,
    )
  const encodingType = parameter(query, 'encoding-type')
  if (encodingType !== undefined && encodingType !== 'url')
    throw invalidArgument(
      'Invalid Encoding Method specified in Request',
      'encoding-type',
      encodingType,
    )
  const delimiter = parameter(query, 'delimiter')
  return {
    prefix: parameter(query, 'prefix') ?? '',
    delimiter: delimiter === '' ? undefined : delimiter,
    maxKeys: Math.min(maxKeys, MAX_KEYS),
    // encodeURIComponent writes `+` as %2B and spaces as %20: right for the clients that
    // decode with unquote_plus (botocore) and for those that decode with decodeURIComponent.
    encode: encodingType === 'url' ? encodeURIComponent : (value) => value,
    encodingType,
  }
}

/** An object of a page, with what its `<Contents>` needs. */
interface ListedContent {
  key: string
  size: number
  lastModified: Date
  etag: string
}

/**
 * ListObjectsV2 and ListObjects (v1) over a storage's unordered `list()`: the entries
 * under the prefix, hidden ones dropped, rolled up into common prefixes at the delimiter,
 * sorted in UTF-8 byte order and paginated through {@link ListingSnapshots}.
 */
export class Listings {
  /** v1 markers are keys, not tokens: the page a marker continues, when it was served here. */
  private readonly v1Resumes = new Map<string, { snapshot: string; offset: number }>()

  constructor(
    private readonly snapshots: ListingSnapshots,
    private readonly tokens: ContinuationTokens,
    private readonly hashes: ContentHashes,
  ) {}

  async listV2(bucket: ServedBucket, query: QueryParameters): Promise<string> {
    const p = readParameters(query)
    const listing = `${bucket.name}\n${p.prefix}\n${p.delimiter ?? ''}`
    const token = parameter(query, 'continuation-token')
    const startAfter = parameter(query, 'start-after')
    let page: SnapshotPage | undefined
    if (token !== undefined) {
      const continuation = this.tokens.read(token, listing)
      if (continuation.snapshot !== undefined)
        page = await this.snapshots.page(continuation.snapshot, continuation.offset ?? 0, p.maxKeys)
      // The snapshot expired, or another gateway process issued the token: list again
      // after the last entry served.
      page ??= await this.snapshots.first(this.entries(bucket, p, continuation.after), p.maxKeys)
    } else {
      page = await this.snapshots.first(this.entries(bucket, p, startAfter || undefined), p.maxKeys)
    }
    const last = page.entries.at(-1)?.[0]
    const next =
      page.truncated && last !== undefined
        ? this.tokens.issue({
            listing,
            after: last,
            snapshot: page.resume?.snapshot,
            offset: page.resume?.offset,
          })
        : undefined
    const { contents, prefixes } = await this.split(bucket, page.entries)
    const withOwner = parameter(query, 'fetch-owner') === 'true'
    return document('ListBucketResult', [
      text('Name', bucket.name),
      text('Prefix', p.encode(p.prefix)),
      startAfter !== undefined && text('StartAfter', p.encode(startAfter)),
      token !== undefined && text('ContinuationToken', token),
      text('KeyCount', contents.length + prefixes.length),
      text('MaxKeys', p.maxKeys),
      p.delimiter !== undefined && text('Delimiter', p.encode(p.delimiter)),
      p.encodingType !== undefined && text('EncodingType', p.encodingType),
      text('IsTruncated', page.truncated),
      next !== undefined && text('NextContinuationToken', next),
      ...contents.map((content) => contentsElement(content, p, withOwner)),
      ...prefixes.map((prefix) => element('CommonPrefixes', [text('Prefix', p.encode(prefix))])),
    ])
  }

  async listV1(bucket: ServedBucket, query: QueryParameters): Promise<string> {
    const p = readParameters(query)
    const listing = `${bucket.name}\n${p.prefix}\n${p.delimiter ?? ''}`
    const marker = parameter(query, 'marker') ?? ''
    const resume = marker ? this.v1Resumes.get(`${listing}\n${marker}`) : undefined
    const page =
      (resume && (await this.snapshots.page(resume.snapshot, resume.offset, p.maxKeys))) ||
      (await this.snapshots.first(this.entries(bucket, p, marker || undefined), p.maxKeys))
    const last = page.entries.at(-1)?.[0]
    if (page.truncated && last !== undefined && page.resume) {
      this.v1Resumes.set(`${listing}\n${last}`, page.resume)
      if (this.v1Resumes.size > V1_RESUMES)
        this.v1Resumes.delete(this.v1Resumes.keys().next().value!)
    }
    const { contents, prefixes } = await this.split(bucket, page.entries)
    return document('ListBucketResult', [
      text('Name', bucket.name),
      text('Prefix', p.encode(p.prefix)),
      text('Marker', p.encode(marker)),
      // S3 gives NextMarker with a delimiter only; without one, clients go on from the last key.
      page.truncated &&
        p.delimiter !== undefined &&
        last !== undefined &&
        text('NextMarker', p.encode(last)),
      text('MaxKeys', p.maxKeys),
      p.delimiter !== undefined && text('Delimiter', p.encode(p.delimiter)),
      p.encodingType !== undefined && text('EncodingType', p.encodingType),
      text('IsTruncated', page.truncated),
      ...contents.map((content) => contentsElement(content, p, true)),
      ...prefixes.map((prefix) => element('CommonPrefixes', [text('Prefix', p.encode(prefix))])),
    ])
  }

  /** The listing's entries, unsorted: visible keys under the prefix after `after`, rolled up. */
  private async *entries(
    bucket: ServedBucket,
    p: ListingParameters,
    after: string | undefined,
  ): AsyncIterable<ListingEntry> {
    let listed
    try {
      listed = bucket.storage.list(bucket.storageKey(p.prefix))
      for await (const object of listed) {
        if (!object.key.startsWith(bucket.base)) continue
        const key = object.key.slice(bucket.base.length)
        if (!key.startsWith(p.prefix) || bucket.isHidden(key)) continue
        const at = p.delimiter === undefined ? -1 : key.indexOf(p.delimiter, p.prefix.length)
        const entry: ListingEntry =
          at === -1
            ? [key, object.size, object.lastModified?.getTime()]
            : [key.slice(0, at + p.delimiter!.length)]
        if (after !== undefined && compareUtf8(entry[0], after) <= 0) continue
        yield entry
      }
    } catch (error) {
      // A prefix the storage refuses (`../`) can name no key of it: nothing to list.
      if (!isAttrstoreError(error, 'ATTRSTORE_INVALID_KEY')) throw error
    }
  }

  /** A page's entries as objects (with their ETags) and common prefixes. */
  private async split(
    bucket: ServedBucket,
    entries: ListingEntry[],
  ): Promise<{ contents: ListedContent[]; prefixes: string[] }> {
    const prefixes: string[] = []
    const found = new Map<string, ListedContent>()
    const objects = entries.filter((entry) => {
      if (entry[1] === undefined) prefixes.push(entry[0])
      return entry[1] !== undefined
    })
    await runBounded(objects, STAT_CONCURRENCY, async ([key, size, lastModified]) => {
      try {
        const stat = await bucket.storage.stat(bucket.storageKey(key))
        const sha256 = await this.hashes.of(bucket.storage, stat)
        found.set(key, {
          key,
          size: size!,
          lastModified: new Date(lastModified ?? stat.lastModified?.getTime() ?? 0),
          etag: entityTagOf(sha256),
        })
      } catch (error) {
        // Deleted since it was listed: no longer part of the listing.
        if (!isAttrstoreError(error, 'ATTRSTORE_NOT_FOUND')) throw error
      }
    })
    const contents = objects.flatMap(([key]) => found.get(key) ?? [])
    return { contents, prefixes }
  }
}

function contentsElement(
  content: ListedContent,
  p: ListingParameters,
  withOwner: boolean,
): XmlChild {
  return element('Contents', [
    text('Key', p.encode(content.key)),
    text('LastModified', isoDate(content.lastModified)),
    text('ETag', content.etag),
    text('Size', content.size),
    withOwner && ownerElement(),
    text('StorageClass', 'STANDARD'),
  ])
}
