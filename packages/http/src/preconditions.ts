import { entityTagMatches } from './entity-tag.js'

/** The validators of the selected representation (RFC 9110 §8.8). */
export interface Validators {
  /** Its strong entity tag, quoted (see `entityTagOf`), when known. */
  etag?: string | undefined
  lastModified?: Date | undefined
}

/** The conditional request headers, as Node gives them (lower-case names). */
export interface ConditionalHeaders {
  'if-match'?: string | undefined
  'if-none-match'?: string | undefined
  'if-modified-since'?: string | undefined
  'if-unmodified-since'?: string | undefined
  'if-range'?: string | undefined
}

/** What the preconditions of a request decide. */
export type PreconditionOutcome = 'proceed' | 'not-modified' | 'precondition-failed'

/** Whole seconds since the epoch: HTTP dates have no finer precision. */
function seconds(date: Date): number {
  return Math.floor(date.getTime() / 1000)
}

/** An HTTP-date header, or undefined when it is none (an invalid date is ignored, RFC 9110 §13.1.3). */
function httpDate(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined
  const time = Date.parse(value)
  return Number.isNaN(time) ? undefined : new Date(time)
}

/**
 * Evaluates a request's preconditions against an existing representation, in the order
 * RFC 9110 §13.2.2 prescribes: `If-Match`, else `If-Unmodified-Since`; then
 * `If-None-Match`, else (GET and HEAD) `If-Modified-Since`. A 304 only ever answers GET
 * and HEAD; any other method whose `If-None-Match` matches fails with 412.
 */
export function evaluatePreconditions(
  method: string,
  headers: ConditionalHeaders,
  validators: Validators,
): PreconditionOutcome {
  const safe = method === 'GET' || method === 'HEAD'
  const ifMatch = headers['if-match']
  if (ifMatch !== undefined) {
    // The representation exists, so `*` matches even without a known entity tag.
    if (ifMatch.trim() !== '*' && !entityTagMatches(ifMatch, validators.etag, 'strong'))
      return 'precondition-failed'
  } else {
    const since = httpDate(headers['if-unmodified-since'])
    if (since && validators.lastModified && seconds(validators.lastModified) > seconds(since))
      return 'precondition-failed'
  }
  const ifNoneMatch = headers['if-none-match']
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() === '*' || entityTagMatches(ifNoneMatch, validators.etag, 'weak'))
      return safe ? 'not-modified' : 'precondition-failed'
  } else if (safe) {
    const since = httpDate(headers['if-modified-since'])
    if (since && validators.lastModified && seconds(validators.lastModified) <= seconds(since))
      return 'not-modified'
  }
  return 'proceed'
}

/**
 * Whether a `Range` may be honoured given the request's `If-Range` (RFC 9110 §13.1.5): no
 * `If-Range`, or one that still names the representation: its strong entity tag (a weak
 * tag never matches), or exactly its `Last-Modified` date. Otherwise the client's partial
 * copy is stale and the whole representation is sent.
 */
export function rangeStillValid(ifRange: string | undefined, validators: Validators): boolean {
  if (ifRange === undefined) return true
  const value = ifRange.trim()
  if (value.startsWith('"') || value.startsWith('W/'))
    return entityTagMatches(value, validators.etag, 'strong')
  const date = httpDate(value)
  return (
    date !== undefined &&
    validators.lastModified !== undefined &&
    seconds(date) === seconds(validators.lastModified)
  )
}
