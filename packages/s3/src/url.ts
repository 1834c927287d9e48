import { ConfigurationError } from '@attrstore/core'
import { bucketNameProblem, normalizePrefix } from './bucket.js'

/** What a storage URL says: where the bucket is and which part of it the storage uses. */
export interface S3Location {
  bucket: string
  /** Key prefix inside the bucket, without leading or trailing "/" ("" for the whole bucket). */
  prefix: string
  /** A custom endpoint (S3-compatible servers, R2); absent for AWS. */
  endpoint?: string
  region?: string
  /** Path-style addressing (`https://host/bucket/key`), set for custom endpoints. */
  forcePathStyle?: boolean
}

const FORMS = [
  's3://<bucket>/<prefix>',
  's3a://<bucket>/<prefix>',
  's3+http://<host>[:port]/<bucket>/<prefix>',
  's3+https://<host>[:port]/<bucket>/<prefix>',
  'https://s3.<region>.amazonaws.com/<bucket>/<prefix>',
  'https://<bucket>.s3.<region>.amazonaws.com/<prefix>',
  'https://<account>.r2.cloudflarestorage.com/<bucket>/<prefix>',
]

const QUERY_PARAMETERS = new Set(['region'])

/** The URL as an error may quote it: any `user:password@` replaced, since errors end up in logs. */
function redacted(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1<credentials>@')
}

function fail(url: string, problem: string): never {
  throw new ConfigurationError(
    `Invalid S3 storage URL ${JSON.stringify(redacted(url))}: ${problem}. Accepted forms: ${FORMS.join(', ')}.`,
  )
}

// AWS hosts: s3.amazonaws.com, s3.<region>.amazonaws.com, s3-<region>.amazonaws.com,
// s3.dualstack.<region>.amazonaws.com, and the .amazonaws.com.cn twins.
const AWS_SUFFIX = /\.amazonaws\.com(?:\.cn)?$/
const AWS_PATH_STYLE_HOST = /^s3(?:\.dualstack)?(?:[.-]([a-z0-9-]+))?\.amazonaws\.com(?:\.cn)?$/
const AWS_VIRTUAL_HOST = /^(.+)\.s3(?:\.dualstack)?(?:[.-]([a-z0-9-]+))?\.amazonaws\.com(?:\.cn)?$/
const R2_HOST = /^([a-f0-9]{32})(?:\.(eu|fedramp))?\.r2\.cloudflarestorage\.com$/

/** Splits a URL path into a bucket (first segment, when `withBucket`) and a prefix. */
function splitPath(url: string, pathname: string, withBucket: boolean): [string, string] {
  // Decoded, "buck%2Fet/x" would read as bucket "buck" and prefix "et/x".
  if (/%2f/i.test(pathname)) {
    fail(
      url,
      'its path has a percent-encoded "/" (%2F): bucket names cannot contain one, and a "/" of the prefix is written as "/"',
    )
  }
  let decoded: string
  try {
    decoded = decodeURIComponent(pathname)
  } catch {
    fail(url, 'its path is not valid percent-encoding')
  }
  const path = decoded.replace(/^\/+/, '')
  if (!withBucket) return ['', path]
  const slash = path.indexOf('/')
  return slash === -1 ? [path, ''] : [path.slice(0, slash), path.slice(slash + 1)]
}

function checkRegion(url: string, region: string | undefined): string | undefined {
  if (region === undefined) return undefined
  if (!/^[a-z0-9][a-z0-9-]*$/.test(region)) fail(url, `${JSON.stringify(region)} is not a region`)
  return region
}

/**
 * Parses a storage URL into a bucket, a prefix and, for S3-compatible servers, an endpoint.
 * Throws a `ConfigurationError` that names the accepted forms for anything else.
 *
 * - `s3://bucket/prefix`, `s3a://bucket/prefix`: AWS, or whatever endpoint the options
 *   and environment name (`AWS_S3_ENDPOINT_URL`...).
 * - `s3+http://host:port/bucket/prefix`, `s3+https://...`: an S3-compatible server at
 *   `http(s)://host:port`, path-style (the bucket is the first path segment; for a
 *   virtual-hosted server, pass `endpoint` and `forcePathStyle: false` instead).
 * - `https://s3.<region>.amazonaws.com/<bucket>/<prefix>` and
 *   `https://<bucket>.s3.<region>.amazonaws.com/<prefix>` (also `s3.amazonaws.com`,
 *   `s3-<region>`, dualstack and `.amazonaws.com.cn` hosts): AWS in that region.
 * - `https://<account>.r2.cloudflarestorage.com/<bucket>/<prefix>`: Cloudflare R2.
 *
 * A `?region=` query parameter sets the region of any form. Credentials in the URL are
 * refused (URLs end up in logs); give them as options or environment variables.
 */
export function parseS3Url(
  url: string,
  options: { strictBucketName?: boolean | undefined } = {},
): S3Location {
  if (typeof url !== 'string' || url.trim() === '') fail(String(url), 'it is empty')
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    fail(url, 'it is not a URL')
  }
  // new URL() resolves "." and ".." segments away: look at the path as written.
  const rawPath = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*([^?#]*)/i.exec(url)?.[1] ?? ''
  for (const segment of rawPath.split('/')) {
    if (/^(\.|%2e){1,2}$/i.test(segment)) {
      fail(url, `its path has a ${JSON.stringify(segment)} segment`)
    }
  }
  if (parsed.username || parsed.password) {
    fail(
      url,
      'credentials in the URL are not accepted (URLs end up in logs); pass `credentials` or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
    )
  }
  if (parsed.hash) {
    fail(url, 'it has a "#fragment"; write a "#" that belongs to the prefix as %23')
  }
  let region: string | undefined
  for (const [name, value] of parsed.searchParams) {
    if (!QUERY_PARAMETERS.has(name)) {
      fail(url, `unknown query parameter ${JSON.stringify(name)} (only "region" is accepted)`)
    }
    region = value
  }

  const protocol = parsed.protocol
  let location: S3Location
  if (protocol === 's3:' || protocol === 's3a:') {
    // new URL() lower-cases the host of special schemes only; s3: is not one, keep it as is.
    const [, prefix] = splitPath(url, parsed.pathname, false)
    location = { bucket: decodeHost(url, parsed.host), prefix }
  } else if (protocol === 's3+http:' || protocol === 's3+https:') {
    if (!parsed.host) fail(url, 'it names no host')
    const [bucket, prefix] = splitPath(url, parsed.pathname, true)
    location = {
      bucket,
      prefix,
      endpoint: `${protocol === 's3+http:' ? 'http' : 'https'}://${parsed.host}`,
      forcePathStyle: true,
    }
  } else if (protocol === 'https:' || protocol === 'http:') {
    location = parseHttpUrl(url, parsed)
  } else {
    fail(url, `the scheme ${JSON.stringify(protocol.slice(0, -1))} is not an S3 scheme`)
  }

  if (location.bucket === '') fail(url, 'it names no bucket')
  const problem = bucketNameProblem(location.bucket, options.strictBucketName ?? true)
  if (problem) fail(url, `the bucket name ${JSON.stringify(location.bucket)} ${problem}`)
  try {
    location.prefix = normalizePrefix(location.prefix)
  } catch (error) {
    fail(url, (error as Error).message)
  }
  const finalRegion = checkRegion(url, region ?? location.region)
  if (finalRegion !== undefined) location.region = finalRegion
  else delete location.region
  return location
}

function decodeHost(url: string, host: string): string {
  try {
    return decodeURIComponent(host)
  } catch {
    fail(url, 'its bucket is not valid percent-encoding')
  }
}

function parseHttpUrl(url: string, parsed: URL): S3Location {
  const host = parsed.hostname
  if (parsed.protocol === 'http:' && (AWS_SUFFIX.test(host) || R2_HOST.test(host))) {
    fail(url, 'AWS and R2 are reached over https')
  }
  const r2 = R2_HOST.exec(host)
  if (r2) {
    if (parsed.port) fail(url, 'an R2 URL has no port')
    const [bucket, prefix] = splitPath(url, parsed.pathname, true)
    return {
      bucket,
      prefix,
      endpoint: `https://${host}`,
      region: 'auto',
      forcePathStyle: true,
    }
  }
  if (AWS_SUFFIX.test(host)) {
    if (parsed.port) fail(url, 'an AWS URL has no port')
    const pathStyle = AWS_PATH_STYLE_HOST.exec(host)
    if (pathStyle) {
      const [bucket, prefix] = splitPath(url, parsed.pathname, true)
      return { bucket, prefix, region: pathStyle[1] ?? 'us-east-1' }
    }
    const virtual = AWS_VIRTUAL_HOST.exec(host)
    if (virtual) {
      const [, prefix] = splitPath(url, parsed.pathname, false)
      return { bucket: virtual[1]!, prefix, region: virtual[2] ?? 'us-east-1' }
    }
    fail(url, `${JSON.stringify(host)} is not an S3 host of AWS`)
  }
  fail(
    url,
    `${JSON.stringify(host)} is neither AWS nor R2; for another S3-compatible server write s3+${parsed.protocol}//${parsed.host}/<bucket>/<prefix>`,
  )
}

/**
 * The `location` of a bucket and prefix (see `AttributeStorage.location`): what two
 * storages addressing the same objects have in common, and storages addressing others do
 * not. Normalised: lower-case host, no default port, no trailing slash, prefix segments
 * percent-encoded, so that nesting is a prefix test.
 *
 * - `endpoint` undefined, or an AWS host: `s3://<bucket>/<prefix>` (bucket names are
 *   global on AWS: region, dualstack and addressing style do not matter).
 * - A custom endpoint: `s3+http(s)://<host>[:port][/path]/<bucket>/<prefix>` (the form
 *   `fromUrl` reads; path-style or virtual-hosted, the objects are the same).
 * - `'unknown'`: a custom endpoint that cannot be seen (an `S3Client` of the user's):
 *   `s3+custom://<bucket>/<prefix>`, shared by every such storage of that bucket and prefix,
 *   which errs on the side of "same objects" (kept rather than deleted).
 */
export function formatS3Location(
  bucket: string,
  prefix: string,
  endpoint: string | undefined | 'unknown',
): string {
  const path = [bucket, ...(prefix === '' ? [] : prefix.split('/').map(encodeURIComponent))]
  if (endpoint === 'unknown') return `s3+custom://${path.join('/')}`
  if (endpoint === undefined) return `s3://${path.join('/')}`
  const url = new URL(endpoint)
  if (AWS_SUFFIX.test(url.hostname)) return `s3://${path.join('/')}`
  const base = url.pathname.replace(/\/+$/, '')
  return `s3+${url.protocol}//${url.host}${base}/${path.join('/')}`
}
