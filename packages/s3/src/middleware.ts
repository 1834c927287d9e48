import { createHash } from 'node:crypto'

interface RequestLike {
  headers: Record<string, string>
  body?: unknown
}

interface StackLike {
  add(
    middleware: (
      next: (args: { request: unknown }) => Promise<unknown>,
    ) => (args: { request: unknown }) => Promise<unknown>,
    options: { step: 'build'; name: string; override?: boolean },
  ): void
}

function isRequest(value: unknown): value is RequestLike {
  return typeof value === 'object' && value !== null && 'headers' in value
}

function withHeaders<C extends { middlewareStack: unknown }>(
  command: C,
  name: string,
  headers: (request: RequestLike) => Record<string, string> | undefined,
): C {
  ;(command.middlewareStack as StackLike).add(
    (next) => async (args) => {
      if (isRequest(args.request)) {
        const extra = headers(args.request)
        if (extra) Object.assign(args.request.headers, extra)
      }
      return next(args)
    },
    { step: 'build', name, override: true },
  )
  return command
}

/**
 * Adds a `Content-MD5` header computed from the serialised body (DeleteObjects): some
 * servers require it and the SDK no longer sends it. Skipped where MD5 is unavailable
 * (FIPS builds).
 */
export function withContentMd5<C extends { middlewareStack: unknown }>(command: C): C {
  return withHeaders(command, 'attrstoreContentMd5', (request) => {
    const body = request.body
    if (typeof body !== 'string' && !(body instanceof Uint8Array)) return undefined
    try {
      return { 'content-md5': createHash('md5').update(body).digest('base64') }
    } catch {
      return undefined
    }
  })
}

/**
 * Sends the SHA-256 attrstore already computed as `x-amz-content-sha256`: the SigV4
 * signer then uses it instead of hashing the body a second time, and AWS and MinIO check
 * the received bytes against it (`XAmzContentSHA256Mismatch`), an end-to-end check for free.
 */
export function withPayloadSha256<C extends { middlewareStack: unknown }>(
  command: C,
  sha256Hex: string,
): C {
  return withHeaders(command, 'attrstorePayloadSha256', (request) =>
    Object.keys(request.headers).some((name) => name.toLowerCase() === 'x-amz-content-sha256')
      ? undefined
      : { 'x-amz-content-sha256': sha256Hex },
  )
}
