import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import { DaemonProcess, killAll, json, untilResolvedHealthy } from '../utils/daemon-process.js'
import { tmpDir } from '../utils/tmp-repo.js'
import { waitFor } from '../utils/wait-for.js'

/**
 * Two processors as one external HTTP service: /img/classify reads the
 * first byte of a PNG-typed input as the digit it shows, /snd/classify
 * answers the label the text says with 0.6. What they get is recorded.
 */
async function processors (): Promise<{ server: Server, url: string, got: Array<{ path: string, body: string }> }> {
  const got: Array<{ path: string, body: string }> = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      got.push({ path: req.url ?? '', body: body.toString('utf8') })
      res.setHeader('content-type', 'application/json')
      if (req.url === '/img/classify') {
        const scores = [0.1, 0.1, 0.1, 0.1]
        scores[Number(body.toString('utf8').trim()) % 4] = 0.7
        res.end(JSON.stringify({ scores }))
      } else if (req.url === '/snd/classify') {
        res.end(JSON.stringify({ label: body.toString('utf8').trim(), confidence: 0.6 }))
      } else {
        res.writeHead(404).end('{}')
      }
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, got }
}

describe('fusion on a daemon process (noodled fuse, the gateway\'s POST /fuse/<task>)', function () {
  this.timeout(120_000)
  let dir: Awaited<ReturnType<typeof tmpDir>>
  const daemons: DaemonProcess[] = []
  let svc: Awaited<ReturnType<typeof processors>>
  before(async () => {
    dir = await tmpDir()
    svc = await processors()
  })
  after(async () => {
    await killAll(daemons)
    svc?.server.closeAllConnections()
    svc?.server.close()
    await dir?.cleanup()
  })

  it('defines a task and its processors from the CLI, fuses files, explains the answer, and serves multipart on the gateway', async () => {
    const d = await DaemonProcess.start(join(dir.path, 'fuse'), ['--gateway', '127.0.0.1:0'])
    daemons.push(d)
    const gateway = /gateway: +(http:\/\/\S+)/.exec(d.stdout)![1]!
    await json(d, 'service', 'register', '--name', 'img', '--endpoint', `${svc.url}/img`)
    await json(d, 'service', 'register', '--name', 'snd', '--endpoint', `${svc.url}/snd`)
    await untilResolvedHealthy(d, 'img')
    await untilResolvedHealthy(d, 'snd')

    const taskFile = join(dir.path, 'digits.json')
    await writeFile(taskFile, JSON.stringify({ name: 'digits', labels: ['0', '1', '2', '3'], modalities: ['image', 'audio'] }))
    expect((await d.cli('fuse', 'task', 'add', taskFile)).stdout).to.include('task digits defined')
    const added = await d.cli('fuse', 'processors', 'add', 'digits', 'image-lr', '--service', 'img', '--modality', 'image', '--media-type', 'image/png', '--calibrated', '--accuracy', '0.9', '--latency-p95', '20ms')
    expect(added.code, added.stderr).to.equal(0)
    await json(d, 'fuse', 'processors', 'add', 'digits', 'audio-mfcc', '--service', 'snd', '--modality', 'audio', '--media-type', 'audio/wav')
    const listed = await d.cli('fuse', 'processors', 'digits')
    expect(listed.stdout).to.match(/digits +audio-mfcc +audio +snd +audio\/wav +no/).and.to.match(/digits +image-lr +image +img +image\/png +yes +90\.0% +20 ms/)

    const png = join(dir.path, 'two.png')
    const wav = join(dir.path, 'two.wav')
    await writeFile(png, '2')
    await writeFile(wav, '2')
    const answer = await json<{ id: string, label: string, partial: boolean, processors: Array<{ processor: string, status: string }> }>(d, 'fuse', 'digits', '--input', `image=@${png}`, '--input', `audio=@${wav}`, '--deadline', '2s')
    expect(answer.label).to.equal('2')
    expect(answer.partial).to.equal(false)
    expect(answer.processors.map(p => p.status)).to.deep.equal(['ok', 'ok'])
    // the media type came from the extension, the bytes as they were
    expect(svc.got.filter(g => g.path === '/img/classify').at(-1)!.body).to.equal('2')

    const human = await d.cli('fuse', 'digits', '--input', `image=@${png}`, '--rule', 'product', '--deadline', '2s')
    expect(human.code, human.stderr).to.equal(0)
    expect(human.stdout).to.match(/^2 +\(confidence [\d.]+%, rule product, partial/).and.to.include('audio-mfcc').and.to.include('missing')

    const explained = await d.cli('fuse', 'explain', answer.id)
    expect(explained.stdout).to.include(`fusion ${answer.id} of task digits`).and.to.match(/image-lr \(img\) ok/).and.to.match(/input image image\/png 1 bytes/)
    // the decision is in the graph: the same SPARQL that queries the graph queries decisions
    // (written in batches, within a second)
    const q = await waitFor(async () => {
      const r = await d.cli('kg', 'query', `PREFIX prov: <http://www.w3.org/ns/prov#> SELECT ?label WHERE { <urn:noodle:fusion:${answer.id}> prov:generated ?r . ?r <urn:noodle:vocab:label> ?label }`)
      return r.stdout.startsWith('LABEL') ? r : undefined
    }, { what: 'the decision in the graph' })
    expect(q.stdout).to.match(/^LABEL\n2$/m)

    // the gateway: multipart, one file part per modality
    const form = new FormData()
    form.append('image', new Blob(['3'], { type: 'image/png' }), 'three.png')
    form.append('audio', new Blob(['3'], { type: 'audio/wav' }), 'three.wav')
    form.append('deadlineMs', '2000')
    const res = await fetch(`${gateway}/fuse/digits`, { method: 'POST', body: form })
    expect(res.status).to.equal(200)
    expect(((await res.json()) as any).label).to.equal('3')
    // and JSON with base64
    const viaJson = await fetch(`${gateway}/fuse/digits`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: [{ modality: 'image', mediaType: 'image/png', dataBase64: Buffer.from('1').toString('base64') }], deadlineMs: 2000 }) })
    expect(((await viaJson.json()) as any).label).to.equal('1')

    // bad input gets a named error, on the CLI and the gateway
    const unknown = await d.cli('fuse', 'nope', '--input', `image=@${png}`)
    expect(unknown.code).to.equal(1)
    expect(unknown.stderr).to.include('TaskNotFoundError')
    const wrongType = await d.cli('fuse', 'digits', '--input', `image=@${wav}`)
    expect(wrongType.stderr).to.include('UnsupportedMediaTypeError')
    const noType = await d.cli('fuse', 'digits', '--input', `image=@${taskFile.replace('.json', '.xyz')}`)
    expect(noType.stderr).to.include('no media type known')
    const bad = await fetch(`${gateway}/fuse/digits`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"inputs": 3}' })
    expect(bad.status).to.equal(400)
    expect(((await bad.json()) as any).error.name).to.equal('InvalidRequestError')
    const missing = await fetch(`${gateway}/fuse/nope`, { method: 'POST', body: form })
    expect(missing.status).to.equal(404)

    const stats = await json<{ fusions: number, deadlineMissed: number }>(d, 'fuse', 'stats')
    expect(stats.fusions).to.equal(4)

    // calibration from a JSON-lines file whose inputs are files beside it: the model is stored with the task
    const lines: string[] = []
    for (let i = 0; i < 24; i++) {
      const digit = i % 4
      await writeFile(join(dir.path, `c${i}.png`), String(digit))
      await writeFile(join(dir.path, `c${i}.wav`), String(digit))
      lines.push(JSON.stringify({ label: String(digit), inputs: [{ modality: 'image', file: `c${i}.png` }, { modality: 'audio', file: `c${i}.wav` }] }))
    }
    const data = join(dir.path, 'validation.jsonl')
    await writeFile(data, lines.join('\n') + '\n')
    const calibrated = await d.cli('fuse', 'calibrate', 'digits', data)
    expect(calibrated.code, calibrated.stderr).to.equal(0)
    expect(calibrated.stdout).to.match(/task digits calibrated on 24 items; auto is now \w+/).and.to.match(/image-lr +24 +100\.0%/)
    const tasks = await d.cli('fuse', 'tasks')
    expect(tasks.stdout).to.match(/digits +image audio +4 +2 +auto +\w+ \(24 items\) +no/)
    const badData = join(dir.path, 'bad.jsonl')
    await writeFile(badData, '{"label": "1"}\n')
    expect((await d.cli('fuse', 'calibrate', 'digits', badData)).stderr).to.include('line 1: needs "label" and "inputs"')

    // a processor removed through this daemon is gone from the task
    await json(d, 'fuse', 'processors', 'remove', 'digits', 'audio-mfcc')
    expect((await d.cli('fuse', 'processors', 'digits')).stdout).to.not.include('audio-mfcc')
  })
})
