/** MinIO in a container, through testcontainers; never pulled in auto mode. */
import {
  loadEnginePackage,
  S3EngineUnavailableError,
  s3EngineFromEnv,
  TEST_REGION,
  type Running,
  type StartS3Options,
} from './engines.js'

/** The MinIO image used unless `minioImage` or `S3_TEST_MINIO_IMAGE` names another. */
export const DEFAULT_MINIO_IMAGE = 'minio/minio:RELEASE.2025-04-22T22-12-26Z'

// What MinIO runs on. testcontainers is imported here too, so it is a peer of its own.
const MINIO_PACKAGES = ['testcontainers', '@testcontainers/minio'] as const

const MINIO_CREDENTIALS = { accessKeyId: 'attrstore', secretAccessKey: 'attrstore-secret' }

function minioImage(options: StartS3Options, env: Record<string, string | undefined>): string {
  return options.minioImage ?? env.S3_TEST_MINIO_IMAGE ?? DEFAULT_MINIO_IMAGE
}

/**
 * Whether a container runtime answers and already has the MinIO image (false, too, when
 * testcontainers is not installed). Never pulls.
 */
export async function minioAvailable(
  options: StartS3Options,
  env: Record<string, string | undefined>,
): Promise<boolean> {
  try {
    const { getContainerRuntimeClient, ImageName } = await import('testcontainers')
    const runtime = await getContainerRuntimeClient()
    return await runtime.image.exists(ImageName.fromString(minioImage(options, env)))
  } catch {
    return false
  }
}

export async function startMinio(
  options: StartS3Options,
  env: Record<string, string | undefined>,
): Promise<Running> {
  const image = minioImage(options, env)
  const { getContainerRuntimeClient, ImageName } = await loadEnginePackage(
    'minio',
    'testcontainers',
    () => import('testcontainers'),
    MINIO_PACKAGES,
  )
  const { MinioContainer } = await loadEnginePackage(
    'minio',
    '@testcontainers/minio',
    () => import('@testcontainers/minio'),
    MINIO_PACKAGES,
  )
  let runtime
  try {
    runtime = await getContainerRuntimeClient()
  } catch (error) {
    throw new S3EngineUnavailableError(
      'minio',
      `no container runtime (${(error as Error).message}). Start Docker or Podman, or use S3_TEST_ENGINE=fauxqs.`,
      { cause: error },
    )
  }
  // Pull only when MinIO was asked for by name (option or S3_TEST_ENGINE), never in auto
  // mode; S3_TEST_MINIO_PULL=1 forces it, =0 forbids it.
  const explicit = options.engine === 'minio' || s3EngineFromEnv(env) === 'minio'
  const pull =
    options.pull ?? (env.S3_TEST_MINIO_PULL === '1' || (explicit && env.S3_TEST_MINIO_PULL !== '0'))
  let present: boolean
  try {
    present = await runtime.image.exists(ImageName.fromString(image))
  } catch (error) {
    throw new S3EngineUnavailableError(
      'minio',
      `cannot query images: ${(error as Error).message}`,
      {
        cause: error,
      },
    )
  }
  if (!present && !pull) {
    throw new S3EngineUnavailableError(
      'minio',
      `the image ${image} is not present and pulling is off. Run "docker pull ${image}", or set S3_TEST_MINIO_PULL=1.`,
    )
  }
  let container
  try {
    container = await new MinioContainer(image)
      .withUsername(MINIO_CREDENTIALS.accessKeyId)
      .withPassword(MINIO_CREDENTIALS.secretAccessKey)
      .start()
  } catch (error) {
    throw new S3EngineUnavailableError(
      'minio',
      `the container did not start (${(error as Error).message})`,
      { cause: error },
    )
  }
  const started = container
  return {
    endpoint: `http://${started.getHost()}:${started.getPort()}`,
    region: TEST_REGION,
    credentials: MINIO_CREDENTIALS,
    async stop() {
      await started.stop()
    },
  }
}
