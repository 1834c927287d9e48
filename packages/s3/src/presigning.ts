import { ConfigurationError } from '@attrstore/core'
import type { S3Session } from './session.js'

/** The longest a SigV4 presigned request may live: 7 days, in seconds. */
export const MAX_PRESIGNED_SECONDS = 7 * 24 * 60 * 60

/**
 * Checks the `expiresIn` of a signed URL or a direct upload: a whole number of seconds
 * from 1 to 7 days (SigV4 refuses longer). Throws `ConfigurationError` otherwise.
 */
export function presignedSeconds(value: unknown, what = 'expiresIn'): number {
  if (
    typeof value !== 'number' ||
    !Number.isInteger(value) ||
    value < 1 ||
    value > MAX_PRESIGNED_SECONDS
  ) {
    throw new ConfigurationError(
      `${what} must be a whole number of seconds from 1 to ${MAX_PRESIGNED_SECONDS} (7 days, ` +
        `the longest a SigV4 signature lives), got ${String(value)}`,
    )
  }
  return value
}

/**
 * The signing date of a presigned request, to the second (SigV4's `X-Amz-Date` has no
 * milliseconds), so that `expiresAt` is exactly when the server stops honouring it.
 */
export function signingNow(): Date {
  return new Date(Math.floor(Date.now() / 1000) * 1000)
}

/** Refuses to presign with a storage that sends unsigned requests: there is no key to sign with. */
export function assertCanSign(session: S3Session, what: string): void {
  if (session.config.anonymous) {
    throw new ConfigurationError(
      `${what} needs credentials: this storage is anonymous (\`anonymous: true\` or ` +
        'AWS_SKIP_SIGNATURE), so it has nothing to sign with',
    )
  }
}

/** Headers of the SDK's flexible checksums: what a presigned URL must not carry. */
const CHECKSUM_HEADER = /^x-amz-(checksum-|sdk-checksum-algorithm$)/i

interface PresignableCommand {
  middlewareStack: {
    addRelativeTo(
      middleware: (
        next: (args: { request: unknown }) => Promise<unknown>,
      ) => (args: { request: unknown }) => Promise<unknown>,
      options: { name: string; relation: 'after'; toMiddleware: string; override: boolean },
    ): void
  }
}

/**
 * Drops the flexible-checksum headers the SDK adds on AWS (`requestChecksumCalculation`
 * and `responseChecksumValidation` `WHEN_SUPPORTED`) before the presigner hoists them
 * into the URL: a PUT URL would carry the CRC32 of an empty body (`x-amz-checksum-crc32=
 * AAAAAA==`), which S3 checks against the upload and refuses; a GET URL would carry
 * `x-amz-checksum-mode` for no reader's benefit.
 */
export function withoutChecksums<C extends object>(command: C): C {
  ;(command as unknown as PresignableCommand).middlewareStack.addRelativeTo(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string> } | undefined
      for (const name of Object.keys(request?.headers ?? {})) {
        if (CHECKSUM_HEADER.test(name)) delete request!.headers![name]
      }
      return next(args)
    },
    {
      name: 'attrstorePresignWithoutChecksums',
      relation: 'after',
      toMiddleware: 'flexibleChecksumsMiddleware',
      override: true,
    },
  )
  return command
}
