export { sendObject } from './send-object.js'
export type { SendObjectOptions, SendOutcome } from './send-object.js'
export { sendAttribute } from './send-attribute.js'
export type { AttributePath } from './send-attribute.js'
export { createUrlSigner, MIN_SECRET_BYTES, UrlSigner } from './url-signer.js'
export type {
  RejectionReason,
  SignedGrant,
  UrlSecret,
  UrlSignerOptions,
  Verification,
} from './url-signer.js'
export { serveSignedUrl, SignedUrlRejectedError } from './serve-signed-url.js'
export type { ServeSignedUrlOptions } from './serve-signed-url.js'
export { signedUrlFor } from './signed-url-for.js'
export type { SignedUrlForOptions } from './signed-url-for.js'
export { ACTIVE_CONTENT_POLICY, presentationOf } from './safe-disposition.js'
export { contentDispositionOf, safeFileName } from '@attrstore/core/driver'
export type { Disposition, Presentation, PresentationRequest } from './safe-disposition.js'
export { failureStatus } from './failure-response.js'
export type { FailureHook, SendFailure } from './failure-response.js'
export { readRangeRequest, contentRange, unsatisfiedContentRange } from './range.js'
export type { RangeRequest } from './range.js'
export { entityTagOf } from './entity-tag.js'
export { evaluatePreconditions, rangeStillValid } from './preconditions.js'
export type { ConditionalHeaders, PreconditionOutcome, Validators } from './preconditions.js'
export { createS3Gateway } from './gateway/s3-gateway.js'
export type { S3Gateway, S3GatewayOptions } from './gateway/s3-gateway.js'
export type { GatewayBucket } from './gateway/served-buckets.js'
export type { GatewayCredential } from './gateway/signature.js'
export type { GatewayCors } from './gateway/cors.js'
export { withUploadEndpoint } from './with-upload-endpoint.js'
export type { UploadEndpointOptions, UploadEndpointStorage } from './with-upload-endpoint.js'
