import type { ConformanceOptions } from '@attrstore/core/conformance'

/**
 * What each test server does with presigned requests, as measured by
 * presigned.servers.test.ts (which fails when a server changes) and recorded in the
 * README. The emulators are for functional tests: they check no POST policy, and fauxqs
 * no query signature at all.
 */
export interface PresignFindings {
  /** Accepts a POST Object form upload. */
  acceptsPost: boolean
  /** Refuses a form upload against its policy: content-length-range, key, Content-Type. */
  enforcesPostPolicy: boolean
  /** Refuses a presigned PUT whose body differs from its signed Content-Length. */
  enforcesSignedContentLength: boolean
  /** Refuses a presigned URL edited to name another key. */
  checksSignatures: boolean
  /** Refuses a presigned URL past its expiry. */
  checksExpiry: boolean
  /** Answers with `response-content-disposition` / `response-content-type`. */
  honoursResponseHeaders: boolean
  /** Keeps versions on a versioned bucket (PutObject returns a VersionId). */
  versioning: boolean
}

export const FINDINGS: Record<'fauxqs' | 's3rver' | 'ceph', PresignFindings> = {
  fauxqs: {
    acceptsPost: true,
    enforcesPostPolicy: false,
    enforcesSignedContentLength: false,
    checksSignatures: false,
    checksExpiry: false,
    honoursResponseHeaders: false,
    versioning: false,
  },
  s3rver: {
    acceptsPost: true,
    enforcesPostPolicy: false,
    enforcesSignedContentLength: false,
    checksSignatures: false,
    checksExpiry: true,
    honoursResponseHeaders: true,
    versioning: false,
  },
  ceph: {
    acceptsPost: true,
    enforcesPostPolicy: true,
    enforcesSignedContentLength: true,
    checksSignatures: true,
    checksExpiry: true,
    honoursResponseHeaders: true,
    versioning: true,
  },
}

/** The conformance suite's `unenforced` for a server, from its findings. */
export function unenforcedBy(
  name: string,
  findings: PresignFindings,
): NonNullable<ConformanceOptions['unenforced']> {
  const unenforced: NonNullable<ConformanceOptions['unenforced']> = {}
  if (!findings.checksSignatures) unenforced.signatures = `${name} checks no presigned signature`
  if (!findings.checksExpiry) unenforced.expiry = `${name} serves presigned URLs past their expiry`
  if (!findings.honoursResponseHeaders) {
    unenforced.responseHeaders = `${name} ignores response-content-disposition and -type`
  }
  if (!findings.enforcesPostPolicy) {
    unenforced.uploadPolicy = `${name} enforces no POST policy (content-length-range, key, type)`
  }
  return unenforced
}
