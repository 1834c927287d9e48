import { GetObjectCommand } from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { ConfigurationError, type SignedUrl, type SignedUrlOptions } from '@attrstore/core'
import { contentDispositionOf } from '@attrstore/core/driver'
import { assertMediaType } from './media-type-option.js'
import { assertCanSign, presignedSeconds, signingNow, withoutChecksums } from './presigning.js'
import type { S3Session } from './session.js'

/**
 * A presigned GetObject URL for `reference`: anyone holding it can GET the object until
 * `expiresAt`, without credentials.
 *
 * - A reference that pins a version (`key//versionId=…`, on a versioned bucket) signs
 *   that `versionId`: the URL keeps serving those bytes whatever is written to the key
 *   later.
 * - `disposition` and `fileName` become `response-content-disposition` (RFC 6266, with
 *   an RFC 8187 `filename*`: see `contentDispositionOf`); a `fileName` alone means
 *   `attachment`. `contentType` becomes `response-content-type`. The server answers with
 *   them in place of what was recorded, where it honours them (AWS, Ceph RGW, MinIO,
 *   s3rver; fauxqs ignores them).
 * - The URL has the client's addressing: path-style at a custom endpoint
 *   (`http://host:9000/bucket/key?...`), virtual-hosted on AWS
 *   (`https://bucket.s3.region.amazonaws.com/key?...`).
 *
 * No request is sent: signing is local, and a URL for a missing object answers 404 when
 * fetched. Throws `ConfigurationError` for an `expiresIn` outside 1 s..7 days, or on an
 * anonymous storage; `InvalidKeyError` for what is no reference of the storage.
 */
export async function signObjectUrl(
  session: S3Session,
  reference: string,
  options: SignedUrlOptions,
): Promise<SignedUrl> {
  assertCanSign(session, 'signedUrl')
  if (typeof options !== 'object' || options === null) {
    throw new ConfigurationError('signedUrl needs options: { expiresIn } at least')
  }
  const expiresIn = presignedSeconds(options.expiresIn)
  session.assertReference(reference)
  const { input } = session.address(reference)
  const { disposition, fileName, contentType } = options
  if (contentType !== undefined) assertMediaType(contentType, 'contentType')
  const command = withoutChecksums(
    new GetObjectCommand({
      ...input,
      ...(disposition !== undefined || fileName !== undefined
        ? {
            ResponseContentDisposition: contentDispositionOf(disposition ?? 'attachment', fileName),
          }
        : {}),
      ...(contentType === undefined ? {} : { ResponseContentType: contentType }),
    }),
  )
  const signingDate = signingNow()
  const url = await getSignedUrl(session.client, command, { expiresIn, signingDate })
  return { url, expiresAt: new Date(signingDate.getTime() + expiresIn * 1000) }
}
