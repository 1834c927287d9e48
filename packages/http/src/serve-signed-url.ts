import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AttributeStorage } from '@attrstore/core'
import { sendPlainStatus, tellFailure } from './failure-response.js'
import { sendObject, type SendObjectOptions, type SendOutcome } from './send-object.js'
import type { RejectionReason, UrlSigner } from './url-signer.js'

/** A signed URL was refused (tampered with, signed with an unknown secret or for another storage, expired, malformed): answered 403. */
export class SignedUrlRejectedError extends Error {
  constructor(readonly reason: RejectionReason) {
    super(`signed URL refused: ${reason}`)
    this.name = 'SignedUrlRejectedError'
  }
}

/** Options of {@link serveSignedUrl}: those of `sendObject` the URL does not decide. */
export type ServeSignedUrlOptions = Pick<
  SendObjectOptions,
  'cacheControl' | 'allowActiveContentInline' | 'onError'
>

/**
 * The handler of the route a {@link UrlSigner} signs URLs for: verifies the request's URL
 * (its query) against `signer` and `storages`, then serves the object it grants with
 * {@link sendObject}, presented as the URL says (disposition, file name, media type,
 * still under sendObject's safety rules). A URL that was tampered with, signed for another
 * key or storage or with an unknown secret, or has expired answers 403 and reads nothing;
 * the refusal is told to `onError` as a {@link SignedUrlRejectedError}.
 */
export async function serveSignedUrl(
  request: IncomingMessage,
  response: ServerResponse,
  storages: AttributeStorage | readonly AttributeStorage[],
  signer: UrlSigner,
  options: ServeSignedUrlOptions = {},
): Promise<SendOutcome> {
  const verification = signer.verify(request.url ?? '/', storages)
  if ('rejected' in verification) {
    const error = new SignedUrlRejectedError(verification.rejected)
    sendPlainStatus(response, 403)
    tellFailure(options.onError, error, { key: undefined, status: 403, afterHeaders: false })
    return { status: 403, error }
  }
  const { storage, key, disposition, fileName, contentType } = verification.granted
  return sendObject(request, response, storage, key, {
    ...options,
    disposition,
    fileName,
    contentType,
  })
}
