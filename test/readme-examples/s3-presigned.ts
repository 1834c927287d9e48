import { S3Storage } from '@attrstore/s3'

const storage = new S3Storage({ bucket: 'files', prefix: 'app' })

// A download link for a browser: valid 10 minutes, saved as "Résumé.pdf".
const { key } = await storage.write('%PDF-1.7 …', { contentType: 'application/pdf' })
const link = await storage.signedUrl(key, {
  expiresIn: 600,
  disposition: 'attachment',
  fileName: 'Résumé.pdf',
})
const downloaded = await (await fetch(link.url)).text()

// An upload a browser sends straight to the bucket: at most 5 MB of image/png.
const upload = await storage.createDirectUpload({
  context: { fileName: 'avatar.png' },
  maxSize: 5_000_000,
  contentType: 'image/png',
  expiresIn: 300,
})
const form = new FormData() // what the browser's <form method="post"> sends
for (const [name, value] of Object.entries(upload.fields ?? {})) form.append(name, value)
form.append('file', new Blob(['\x89PNG…']), 'avatar.png') // the file goes last
const answer = await fetch(upload.url, { method: upload.method, body: form })
const stored = await storage.stat(upload.key) // keep upload.key in the column once this passes

console.log(`downloaded ${downloaded.length} chars until ${link.expiresAt.toISOString()}`)
console.log(
  `upload ${answer.status}: ${stored.size} bytes of ${stored.contentType} under ${upload.key}`,
)
storage.destroy()
