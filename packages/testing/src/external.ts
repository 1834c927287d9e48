/** `external`: an S3 endpoint someone else runs, named by the AWS_* variables. */
import { S3EngineUnavailableError, TEST_REGION, type Running } from './engines.js'

export async function useExternal(env: Record<string, string | undefined>): Promise<Running> {
  const endpoint = env.AWS_S3_ENDPOINT_URL?.trim()
  if (!endpoint) {
    throw new S3EngineUnavailableError(
      'external',
      'AWS_S3_ENDPOINT_URL is not set: point it at the S3 endpoint to test against',
    )
  }
  const accessKeyId = env.AWS_ACCESS_KEY_ID
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY
  if (!accessKeyId || !secretAccessKey) {
    throw new S3EngineUnavailableError(
      'external',
      'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for the endpoint in AWS_S3_ENDPOINT_URL',
    )
  }
  return {
    endpoint: endpoint.replace(/\/+$/, ''),
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? TEST_REGION,
    credentials: { accessKeyId, secretAccessKey },
    stop: async () => {},
  }
}
