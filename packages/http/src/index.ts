export { sendObject } from './send-object.js'
export type { SendFailure, SendObjectOptions, SendOutcome } from './send-object.js'
export {
  ACTIVE_CONTENT_POLICY,
  contentDispositionOf,
  presentationOf,
  safeFileName,
} from './safe-disposition.js'
export type { Disposition, Presentation, PresentationRequest } from './safe-disposition.js'
export { failureStatus } from './failure-response.js'
export { readRangeRequest, contentRange, unsatisfiedContentRange } from './range.js'
export type { RangeRequest } from './range.js'
export { entityTagOf } from './entity-tag.js'
export { evaluatePreconditions, rangeStillValid } from './preconditions.js'
export type { ConditionalHeaders, PreconditionOutcome, Validators } from './preconditions.js'
