import type { ServerResponse } from 'node:http'
import type { AttrstoreErrorCode } from '@attrstore/core'

/** What {@link SendObjectOptions.onError} is told with an error. */
export interface SendFailure {
  /** The key asked for; undefined when none was known (an entity attribute that is null or not attached). */
  key: string | undefined
  /** The status the client got (403, 404, 500, 503), or the one of the response that was cut. */
  status: number
  /** True when the failure came after the headers were sent: the client got a truncated body. */
  afterHeaders: boolean
}

/** The hook that is told of every failure to serve (`SendObjectOptions.onError`). */
export type FailureHook = (error: unknown, failure: SendFailure) => void

/** Tells `hook` of a failure. A hook that throws must not take the server down: ignored. */
export function tellFailure(
  hook: FailureHook | undefined,
  error: unknown,
  failure: SendFailure,
): void {
  try {
    hook?.(error, failure)
  } catch {
    // ignored, see above
  }
}

/**
 * Answers the failure `error` before anything was sent: its status (see
 * {@link failureStatus}) with a plain body, and tells `hook`. Returns the status.
 */
export function answerFailure(
  response: ServerResponse,
  error: unknown,
  key: string | undefined,
  hook: FailureHook | undefined,
): number {
  const status = failureStatus(error)
  sendPlainStatus(response, status)
  tellFailure(hook, error, { key, status, afterHeaders: false })
  return status
}

/**
 * The status a failure to serve an object answers: what the client may know, nothing of
 * why. Compared by `code`, which survives two copies of `@attrstore/core` in one process.
 * - a missing object, or a key that is none of this storage's (a client-supplied key
 *   must not tell "malformed" from "absent"): 404;
 * - a storage that cannot be reached now: 503;
 * - anything else: 500.
 */
export function failureStatus(error: unknown): 404 | 500 | 503 {
  const code = (error as { code?: AttrstoreErrorCode } | null)?.code
  if (code === 'ATTRSTORE_NOT_FOUND' || code === 'ATTRSTORE_INVALID_KEY') return 404
  if (code === 'ATTRSTORE_UNAVAILABLE') return 503
  return 500
}

const REASONS: Record<number, string> = {
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  412: 'Precondition Failed',
  416: 'Range Not Satisfiable',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
}

/**
 * Answers `status` with a short plain-text body (its reason phrase: never an error
 * message, a stack or a path) and `headers`. Not cached: the failure may be gone on retry.
 */
export function sendPlainStatus(
  response: ServerResponse,
  status: number,
  headers: Record<string, string> = {},
): void {
  const body = `${REASONS[status] ?? 'Error'}\n`
  response.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-store',
    ...headers,
  })
  response.end(body) // Node sends no body to a HEAD request
}
