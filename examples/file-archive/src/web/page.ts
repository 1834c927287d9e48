/**
 * The archive's one web page: the list, an upload field (each file is sent as the raw body
 * of a `PUT`, streamed into the storage), download links, and an inline preview of videos
 * and PDFs, played and shown from the same `/files/<id>` the downloads use.
 */
export const ARCHIVE_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>file archive</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; margin: 2em; max-width: 60em; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .3em .6em; border-bottom: 1px solid #ddd; }
  td.size { text-align: right; font-variant-numeric: tabular-nums; }
  #preview video, #preview iframe { width: 100%; height: 24em; border: 1px solid #ccc; }
</style>
</head>
<body>
<h1>file archive</h1>
<p>Rows in the database, bytes in the storage, served by <code>@attrstore/http</code>'s
<code>sendAttribute</code>: videos seek with range requests, PDFs show inline, anything a
browser would run (SVG, HTML) is downloaded.</p>
<form id="upload-form">
  <input type="file" id="picker" multiple>
  <button type="submit">Upload</button>
  <span id="status" role="status"></span>
</form>
<table>
  <thead><tr><th>name</th><th>type</th><th class="size">size</th><th></th></tr></thead>
  <tbody id="files"></tbody>
</table>
<section id="preview"></section>
<script>
'use strict'
const status = document.getElementById('status')

function fileUrl(id) { return '/files/' + id }

function formatSize(bytes) {
  const units = ['B', 'KiB', 'MiB', 'GiB']
  let value = bytes, unit = 0
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++ }
  return (unit === 0 ? value : value.toFixed(1)) + ' ' + units[unit]
}

function previewable(type) { return type.startsWith('video/') || type === 'application/pdf' }

function preview(file) {
  const area = document.getElementById('preview')
  area.replaceChildren()
  const heading = document.createElement('h2')
  heading.textContent = file.name
  const element = file.mediaType.startsWith('video/')
    ? Object.assign(document.createElement('video'), { controls: true, id: 'player' })
    : Object.assign(document.createElement('iframe'), { id: 'document', title: file.name })
  element.src = fileUrl(file.id)
  area.append(heading, element)
}

async function refresh() {
  const files = await (await fetch('/api/files')).json()
  const rows = files.map((file) => {
    const row = document.createElement('tr')
    row.dataset.name = file.name
    const cells = [file.name, file.mediaType, formatSize(file.size)].map((text) => {
      const cell = document.createElement('td')
      cell.textContent = text
      return cell
    })
    cells[2].className = 'size'
    const actions = document.createElement('td')
    const download = Object.assign(document.createElement('a'), {
      href: fileUrl(file.id) + '?download', textContent: 'download', className: 'download',
    })
    const open = previewable(file.mediaType)
      ? Object.assign(document.createElement('button'), { type: 'button', textContent: 'preview', className: 'preview' })
      : Object.assign(document.createElement('a'), { href: fileUrl(file.id), textContent: 'open', className: 'open' })
    if (open.tagName === 'BUTTON') open.addEventListener('click', () => preview(file))
    actions.append(download, ' ', open)
    row.append(...cells, actions)
    return row
  })
  document.getElementById('files').replaceChildren(...rows)
  return files
}

/** Sends one file as the raw body of a PUT; the server streams it into the storage. */
async function upload(file, name = file.name) {
  const response = await fetch('/files/' + encodeURIComponent(name), {
    method: 'PUT',
    headers: { 'content-type': file.type || 'application/octet-stream' },
    body: file,
  })
  const result = await response.json()
  if (!response.ok) throw new Error(result.error)
  return result
}

document.getElementById('upload-form').addEventListener('submit', async (event) => {
  event.preventDefault()
  const picked = [...document.getElementById('picker').files]
  try {
    for (const file of picked) {
      status.textContent = 'uploading ' + file.name + '...'
      await upload(file)
    }
    status.textContent = picked.length + ' file(s) uploaded'
  } catch (error) {
    status.textContent = 'upload failed: ' + error.message
  }
  await refresh()
})

window.archive = { refresh, upload, preview }
refresh()
</script>
</body>
</html>
`
