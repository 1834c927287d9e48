/**
 * How the archive fails: every error ends as ONE line on stderr and a non-zero exit code,
 * never a stack trace (set ARCHIVE_DEBUG=1 to get one).
 */
import { isAttrstoreError } from '@attrstore/core'

export const EXIT = { ok: 0, failure: 1, usage: 2, unavailable: 3 } as const

/** A refusal caused by the user's input: missing file, duplicate name, unknown file... */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failure,
  ) {
    super(message)
    this.name = 'UserError'
  }
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
])

function errnoCode(error: unknown): string | undefined {
  for (let at: unknown = error, depth = 0; at && depth < 5; depth++) {
    const code = (at as { code?: unknown }).code
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code
    const errors = (at as { errors?: unknown }).errors
    if (Array.isArray(errors)) {
      const inner = errors.map(errnoCode).find(Boolean)
      if (inner) return inner
    }
    at = (at as { cause?: unknown }).cause
  }
  return undefined
}

/** True when the error says a server (storage or database) could not be reached. */
export function isUnreachable(error: unknown): boolean {
  return isAttrstoreError(error, 'ATTRSTORE_UNAVAILABLE') || errnoCode(error) !== undefined
}

function firstLine(text: string): string {
  const line = text.split('\n').find((part) => part.trim() !== '') ?? text
  return line.trim()
}

/** The one line printed for an error, and the exit code that goes with it. */
export function describeFailure(error: unknown): { message: string; exitCode: number } {
  if (error instanceof UserError) return { message: error.message, exitCode: error.exitCode }
  const message = firstLine(error instanceof Error ? error.message || error.name : String(error))
  if (isUnreachable(error)) {
    const code = errnoCode(error)
    return {
      message: `storage or database unreachable${code ? ` (${code})` : ''}: ${message}; nothing was changed`,
      exitCode: EXIT.unavailable,
    }
  }
  return { message, exitCode: EXIT.failure }
}
