/**
 * What the direct-upload tests share: entities with content rules, a DataSource per test
 * with UploadTokens, an application server that counts the bytes it receives, and a
 * minimal PNG.
 */
import 'reflect-metadata'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { randomBytes } from 'node:crypto'
import { Column, Entity, PrimaryGeneratedColumn, type DataSource } from 'typeorm'
import type { AttributeStorage, DirectUpload } from '@attrstore/core'
import { directUploadRequest } from '@attrstore/core/conformance'
import { listenOnLoopback } from '@attrstore/testing'
import type { DatabaseServer } from '@attrstore/testing/world'
import { setStorage, setUploadTokens, StoredAttribute, UploadTokens } from '@attrstore/typeorm'

@Entity()
export class Photo {
  @PrimaryGeneratedColumn() id!: number
  @Column({ type: 'varchar' }) title!: string
  @StoredAttribute({ load: 'lazy', maxSize: 1024 * 1024, accept: 'image/png' }) image!: unknown
  @StoredAttribute({ load: 'lazy' }) thumbnail!: unknown
}

@Entity()
export class Attachment {
  @PrimaryGeneratedColumn() id!: number
  @StoredAttribute({ load: 'lazy', maxSize: 64 * 1024 * 1024 }) content!: unknown
}

export const ENTITIES = [Photo, Attachment]
export const SECRET = 'a test secret of at least thirty-two bytes'

/** A 1x1 PNG, then `extra` random bytes (still a PNG to a sniffer: the signature leads). */
export function png(extra = 0): Buffer {
  const pixel = Buffer.from(
    'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
    'base64',
  )
  return Buffer.concat([pixel, randomBytes(extra)])
}

/** A DataSource on a new database whose stored attributes all use `storage`. */
export async function uploadWorld(
  databases: DatabaseServer,
  storage: AttributeStorage,
  tokens = new UploadTokens({ secret: SECRET }),
): Promise<DataSource> {
  const dataSource = await databases.createDataSource({ entities: ENTITIES })
  setStorage(dataSource, Photo, 'image', storage)
  setStorage(dataSource, Photo, 'thumbnail', storage)
  setStorage(dataSource, Attachment, 'content', storage)
  setUploadTokens(dataSource, tokens)
  await dataSource.initialize()
  return dataSource
}

/** Sends `body` the way a browser does: a form (fields, file last) for POST, the bare body for PUT. */
export async function sendUpload(
  upload: DirectUpload,
  body: Buffer,
  contentType: string,
): Promise<{ status: number; text: string } | { failed: string }> {
  try {
    const response = await fetch(upload.url, {
      ...directUploadRequest(upload, body, contentType),
      signal: AbortSignal.timeout(30_000),
    })
    return { status: response.status, text: await response.text() }
  } catch (error) {
    // A server may cut a refused body short.
    return { failed: String((error as Error).cause ?? error) }
  }
}

/** An HTTP server on 127.0.0.1 that counts the bytes it receives (requests, headers included). */
export interface CountingServer {
  url: string
  /** Bytes read from every connection so far. */
  bytesReceived(): number
  close(): Promise<void>
}

export async function startCountingServer(
  handle: (request: IncomingMessage, response: ServerResponse) => void | Promise<void>,
): Promise<CountingServer> {
  let closedBytes = 0
  const open = new Set<Socket>()
  const server = createServer((request, response) => {
    Promise.resolve(handle(request, response)).catch(() => {
      if (!response.headersSent) response.writeHead(500).end()
    })
  })
  server.on('connection', (socket) => {
    open.add(socket)
    socket.on('close', () => {
      open.delete(socket)
      closedBytes += socket.bytesRead
    })
  })
  const listening = await listenOnLoopback(server)
  return {
    url: listening.url,
    bytesReceived: () => [...open].reduce((sum, socket) => sum + socket.bytesRead, closedBytes),
    close: listening.close,
  }
}
