/**
 * Why `sendStoredObject` answers the request itself rather than returning Nest's
 * `StreamableFile` (the README's claim, checked on this Nest, on both platforms): a
 * `StreamableFile` never sees the request, so a `Range` is ignored (200, the whole body)
 * and nothing validates a cached copy (no `ETag`, no `Accept-Ranges`).
 */
import { Controller, Get, Module, StreamableFile, type INestApplication } from '@nestjs/common'
import { FastifyAdapter } from '@nestjs/platform-fastify'
import { Test } from '@nestjs/testing'
import { expect, it } from 'vitest'

const BODY = 'the whole file, every byte'

@Controller()
class FileController {
  @Get('file')
  file(): StreamableFile {
    return new StreamableFile(Buffer.from(BODY), { type: 'text/plain' })
  }
}

@Module({ controllers: [FileController] })
class FileModule {}

for (const platform of ['express', 'fastify'] as const) {
  it(`a StreamableFile ignores Range and gives no validators (platform-${platform})`, async () => {
    const module = await Test.createTestingModule({ imports: [FileModule] }).compile()
    const app: INestApplication =
      platform === 'express'
        ? module.createNestApplication({ logger: false })
        : module.createNestApplication(new FastifyAdapter(), { logger: false })
    try {
      await app.listen(0, '127.0.0.1')
      const url = (await app.getUrl()).replace('[::1]', '127.0.0.1')
      const response = await fetch(`${url}/file`, {
        headers: { range: 'bytes=4-8' },
        signal: AbortSignal.timeout(10_000),
      })
      expect(response.status).toBe(200)
      expect(await response.text()).toBe(BODY)
      expect(response.headers.get('content-range')).toBeNull()
      expect(response.headers.get('etag')).toBeNull()
      expect(response.headers.get('accept-ranges')).toBeNull()
    } finally {
      await app.close()
    }
  })
}
