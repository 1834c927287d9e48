import { document, text } from './xml.js'

/**
 * An S3 error response: its status and code are S3's own for the same condition, so that
 * clients react as they do with S3 (boto3 retries on some, the aws CLI prints the code).
 */
export class S3Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Extra elements of the error document (`<Region>` for a wrong region...). */
    readonly details: Record<string, string> = {},
  ) {
    super(message)
    this.name = 'S3Error'
  }
}

/** The error document S3 sends: Code, Message, Resource, RequestId. */
export function errorDocument(error: S3Error, resource: string, requestId: string): string {
  return document(
    'Error',
    [
      text('Code', error.code),
      text('Message', error.message),
      ...Object.entries(error.details).map(([name, value]) => text(name, value)),
      text('Resource', resource),
      text('RequestId', requestId),
    ],
    false,
  )
}

export const noSuchBucket = (bucket: string): S3Error =>
  new S3Error(404, 'NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket })

export const noSuchKey = (key: string): S3Error =>
  new S3Error(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key })

export const notImplemented = (what: string): S3Error =>
  new S3Error(501, 'NotImplemented', `${what} is not implemented by this read-only gateway`)

export const readOnly = (): S3Error =>
  new S3Error(403, 'AccessDenied', 'Access Denied: this gateway is read-only')

export const invalidArgument = (message: string, name?: string, value?: string): S3Error =>
  new S3Error(
    400,
    'InvalidArgument',
    message,
    name === undefined ? {} : { ArgumentName: name, ArgumentValue: value ?? '' },
  )
