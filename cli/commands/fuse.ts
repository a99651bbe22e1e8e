import { readFile } from 'node:fs/promises'
import { dirname, extname, resolve } from 'node:path'
import type { Command } from 'commander'
import type { CalibrationReport, FuseAnswer, FusionRecord, FusionStats, FusionTask, ProcessorDescriptor } from '../../lib/fusion/index.js'
import { InvalidRequestError } from '../../lib/interface/errors.js'
import { timeoutSignal } from '../../lib/signals.js'
import { parseDurationMs } from '../duration.js'
import { table } from '../printer.js'
import { collect } from './repeatable.js'
import type { CommandRunner } from './types.js'

/** Media types by file extension, for `--input image=@digit.png`; `;type=...` names any other. */
const MEDIA_TYPES: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.pgm': 'image/x-portable-graymap',
  '.wav': 'audio/wav',
  '.txt': 'text/plain',
  '.json': 'application/json',
  '.csv': 'text/csv',
  '.bin': 'application/octet-stream'
}

/** The daemon's own request may take the fusion's deadline plus this. */
const API_MARGIN_MS = 5_000

interface Input { modality: string, mediaType: string, dataBase64: string }

async function readData (path: string): Promise<Buffer> {
  try {
    return await readFile(path)
  } catch (err: any) {
    throw new InvalidRequestError(`cannot read ${path}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`)
  }
}

/**
 * `modality=@file[;type=media/type]` (the file's bytes; the media type from
 * its extension unless given) or `modality=text` (text/plain).
 */
async function parseInput (spec: string, base = '.'): Promise<Input> {
  const eq = spec.indexOf('=')
  if (eq < 1) throw new InvalidRequestError(`--input is modality=@file or modality=text (got "${spec}")`)
  const modality = spec.slice(0, eq)
  let value = spec.slice(eq + 1)
  let mediaType: string | undefined
  const typed = /;type=([^;]+)$/.exec(value)
  if (typed != null) {
    mediaType = typed[1]!
    value = value.slice(0, typed.index)
  }
  if (!value.startsWith('@')) return { modality, mediaType: mediaType ?? 'text/plain', dataBase64: Buffer.from(value, 'utf8').toString('base64') }
  const path = resolve(base, value.slice(1))
  const type = mediaType ?? MEDIA_TYPES[extname(path).toLowerCase()]
  if (type == null) throw new InvalidRequestError(`no media type known for ${path}: add ;type=<media/type> (e.g. ${modality}=@${value.slice(1)};type=application/octet-stream)`)
  return { modality, mediaType: type, dataBase64: (await readData(path)).toString('base64') }
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`

function answerText (a: FuseAnswer): string {
  const head = a.label == null
    ? `no answer: nothing arrived by the ${a.deadlineMs} ms deadline`
    : `${a.label}  (confidence ${pct(a.confidence)}, rule ${a.rule}${a.partial ? ', partial' : ''}, ${a.elapsedMs} ms of ${a.deadlineMs})`
  const rows = a.processors.map(p => [p.processor, p.modality, p.status + (p.hedged ? ` (hedged${p.answeredBy === 'hedge' ? ', hedge won' : ''})` : ''), p.label != null ? `${p.label} ${pct(p.confidence ?? 0)}` : '', p.latencyMs != null ? `${p.latencyMs} ms` : '', p.instance ?? '', p.error ?? ''])
  const ctx = a.context != null ? `\ncontext ${a.context.id}: ${a.context.status}${a.context.previous !== '' ? ` after "${a.context.previous}"` : ''}${a.context.error != null ? ` (${a.context.error})` : ''}` : ''
  return `${head}\n${table(rows, ['PROCESSOR', 'MODALITY', 'STATUS', 'SAYS', 'LATENCY', 'INSTANCE', 'ERROR'])}${ctx}\nid ${a.id}`
}

function processorsText (list: Array<{ task: FusionTask, processors: ProcessorDescriptor[] }>): string {
  const rows = list.flatMap(({ task, processors }) => processors.length === 0
    ? [[task.name, '(none)', '', '', '', '', '', '']]
    : processors.map(p => [task.name, p.name, p.modality, p.service, p.mediaTypes.join(' '), p.calibrated ? 'yes' : 'no', p.accuracy != null ? pct(p.accuracy) : '', p.latencyP95Ms != null ? `${p.latencyP95Ms} ms` : '']))
  if (rows.length === 0) return 'no fusion tasks in the mesh'
  return table(rows, ['TASK', 'PROCESSOR', 'MODALITY', 'SERVICE', 'MEDIA TYPES', 'CALIBRATED', 'ACCURACY', 'P95'])
}

function tasksText (list: Array<{ task: FusionTask, processors: ProcessorDescriptor[] }>): string {
  if (list.length === 0) return 'no fusion tasks in the mesh'
  return table(list.map(({ task, processors }) => [task.name, task.modalities.join(' '), String(task.labels.length), String(processors.length), task.rule ?? 'auto', task.model?.validation != null ? `${task.model.rule} (${task.model.validation.samples} items)` : 'no', task.context != null ? 'yes' : 'no']),
    ['TASK', 'MODALITIES', 'LABELS', 'PROCESSORS', 'RULE', 'CALIBRATED', 'CONTEXT'])
}

function explainText (r: FusionRecord): string {
  const lines = [
    `fusion ${r.id} of task ${r.task} on ${r.by}`,
    `  ${r.startedAt} .. ${r.endedAt}: ${r.elapsedMs} ms of ${r.deadlineMs}`,
    `  answer ${r.label === '' ? '(none)' : r.label} at ${pct(r.confidence)}${r.partial ? ', partial' : ''}, rule ${r.rule}, weights ${Object.entries(r.weights).map(([k, v]) => `${k}=${v}`).join(' ') || '(learned stacker)'}`,
    ...r.inputs.map(i => `  input ${i.modality} ${i.mediaType} ${i.bytes} bytes sha256 ${i.sha256.slice(0, 16)}`),
    ...r.processors.map(p => `  ${p.processor} (${p.service}${p.module != null ? `, module ${p.module}` : ''}) ${p.status}${p.hedged ? ' hedged' : ''}${p.latencyMs != null ? ` ${p.latencyMs} ms` : ''}${p.instance != null ? ` on ${p.instance}` : ''}${p.error != null ? `: ${p.error}` : ''}`),
    ...(r.context != null ? [`  context ${r.context.id}: ${r.context.status}${r.context.used ? ', used' : ''}${r.context.previous !== '' ? ` after "${r.context.previous}"` : ''}`] : [])
  ]
  return lines.join('\n')
}

function calibrationText (r: CalibrationReport): string {
  const rules = Object.entries(r.model.validation?.rules ?? {}).map(([rule, s]) => [rule, pct(s.accuracy), s.nll.toFixed(3), rule === r.model.rule ? 'auto' : ''])
  const sources = Object.entries(r.sources).map(([name, s]) => [name, String(s.answered), pct(s.accuracy), JSON.stringify(r.model.calibration[name] ?? { kind: 'none' })])
  return [
    `task ${r.task} calibrated on ${r.items} items; auto is now ${r.model.rule}`,
    table(sources, ['SOURCE', 'ANSWERED', 'ACCURACY', 'CALIBRATION']),
    'held-out (two-fold) accuracy by rule:',
    table(rules, ['RULE', 'ACCURACY', 'NLL', ''])
  ].join('\n')
}

function statsText (s: FusionStats): string {
  return [
    `fusions ${s.fusions} (partial ${s.partial}); not answered: ready after the deadline ${s.deadlineMissed}, refused as overloaded ${s.shed}`,
    `hedges ${s.hedges} (won ${s.hedgeWins}; not sent, over the budget: ${s.hedgesDenied})`,
    `recorded ${s.recorded} (failed ${s.recordFailures}), sessions ${s.sessions}`
  ].join('\n')
}

interface RunOptions {
  input?: string[]
  deadline?: string
  rule?: string
  context?: string
  useContext?: boolean
  hedge?: boolean
}

export function fuseCommand (program: Command, run: CommandRunner): void {
  const fuse = program.command('fuse').description('cross-modal fusion: one input, every modality, one answer by the deadline (docs/fusion.md)')

  fuse.command('run <task>', { isDefault: true })
    .description('fuse one input (the default: noodled fuse <task> --input ...)')
    .option('--input <modality=@file>', 'one modality of the input: modality=@file[;type=media/type] or modality=text (repeat per modality)', collect)
    .option('--deadline <duration>', 'answer by then, e.g. 200ms (default: the task\'s, else 200ms)')
    .option('--rule <rule>', 'auto, sum, product, max, majority, borda, ds or stacker (default: the task\'s)')
    .option('--context <id>', 'a session id: earlier answers under it, and the graph\'s context for it, inform this one')
    .option('--no-use-context', 'leave the context source out (the ablation)')
    .option('--no-hedge', 'do not hedge slow processors')
    .option('--json', 'print the whole answer as JSON')
    .action(run(async (ctx, task: string, opts: RunOptions) => {
      if (opts.input == null || opts.input.length === 0) throw new InvalidRequestError('give the input with --input modality=@file (one per modality)')
      const inputs = await Promise.all(opts.input.map(async s => await parseInput(s)))
      const deadlineMs = opts.deadline != null ? parseDurationMs(opts.deadline, '--deadline') : undefined
      const body = {
        inputs,
        ...(deadlineMs != null ? { deadlineMs } : {}),
        ...(opts.rule != null ? { rule: opts.rule } : {}),
        ...(opts.context != null ? { context: opts.context } : {}),
        ...(opts.useContext === false ? { useContext: false } : {}),
        ...(opts.hedge === false ? { hedge: false } : {})
      }
      ctx.print(await ctx.client.fuse(task, body, { signal: timeoutSignal((deadlineMs ?? 60_000) + API_MARGIN_MS) }), answerText)
    }))

  fuse.command('tasks')
    .description('the fusion tasks of the mesh')
    .option('--json', 'print JSON')
    .action(run(async (ctx) => { ctx.print(await ctx.client.fuseTasks(), tasksText) }))

  const task = fuse.command('task').description('define fusion tasks')
  task.command('add <file>')
    .description('define (or redefine) a task from a JSON file (- for stdin): { name, labels, modalities, deadlineMs?, rule?, context? }')
    .option('--json', 'print JSON')
    .action(run(async (ctx, file: string) => {
      const text = file === '-' ? (await ctx.stdin()).toString('utf8') : (await readData(file)).toString('utf8')
      let value: any
      try {
        value = JSON.parse(text)
      } catch (err: any) {
        throw new InvalidRequestError(`${file} is not JSON: ${err.message}`)
      }
      if (typeof value?.name !== 'string') throw new InvalidRequestError(`${file}: a task needs a "name"`)
      ctx.print(await ctx.client.fuseDefineTask(value), (r) => `task ${r.task.name} defined (${r.task.labels.length} labels, modalities ${r.task.modalities.join(', ')})`)
    }))

  const processors = fuse.command('processors')
    .description('the modality processors of every task (or of one)')
    .argument('[task]')
    .option('--json', 'print JSON')
    .action(run(async (ctx, name: string | undefined) => {
      const all = await ctx.client.fuseTasks()
      ctx.print(name == null ? all : all.filter(t => t.task.name === name), processorsText)
    }))
  processors.command('add <task> <name>')
    .description('register a mesh service as a processor of one modality of a task')
    .requiredOption('--service <service>', 'the mesh service that classifies')
    .requiredOption('--modality <modality>', 'the modality it takes')
    .requiredOption('--media-type <type>', 'a media type it accepts (repeatable)', collect)
    .option('--fn <fn>', 'the function to call (default classify)')
    .option('--calibrated', 'its scores are probabilities')
    .option('--accuracy <x>', 'its measured accuracy on the task (0-1)', Number)
    .option('--latency-p95 <duration>', 'its measured p95 latency: slower calls are hedged until the engine has its own')
    .option('--json', 'print JSON')
    .action(run(async (ctx, taskName: string, name: string, opts: { service: string, modality: string, mediaType: string[], fn?: string, calibrated?: boolean, accuracy?: number, latencyP95?: string }) => {
      const body = {
        task: taskName,
        name,
        service: opts.service,
        modality: opts.modality,
        mediaTypes: opts.mediaType,
        calibrated: opts.calibrated === true,
        ...(opts.fn != null ? { fn: opts.fn } : {}),
        ...(opts.accuracy != null ? { accuracy: opts.accuracy } : {}),
        ...(opts.latencyP95 != null ? { latencyP95Ms: parseDurationMs(opts.latencyP95, '--latency-p95') } : {})
      }
      ctx.print(await ctx.client.fuseRegisterProcessor(body), (r) => `processor ${r.processor.name} of ${r.processor.task} registered: ${r.processor.modality} -> ${r.processor.service}`)
    }))
  processors.command('remove <task> <name>')
    .description('remove a processor registered through this daemon')
    .option('--json', 'print JSON')
    .action(run(async (ctx, taskName: string, name: string) => {
      ctx.print(await ctx.client.fuseDeregisterProcessor(taskName, name), () => `processor ${name} of ${taskName} removed`)
    }))

  fuse.command('calibrate <task> <data>')
    .description('fit calibration, rule weights and the stacker on a labelled set: JSON lines { label, inputs: [{ modality, mediaType?, file }], previous?, context? } (files relative to <data>)')
    .option('--json', 'print JSON')
    .action(run(async (ctx, name: string, data: string) => {
      const text = (await readData(data)).toString('utf8')
      const base = dirname(resolve(data))
      const items = await Promise.all(text.split('\n').filter(l => l.trim() !== '').map(async (line, i) => {
        let item: any
        try {
          item = JSON.parse(line)
        } catch (err: any) {
          throw new InvalidRequestError(`${data} line ${i + 1} is not JSON: ${err.message}`)
        }
        if (typeof item?.label !== 'string' || !Array.isArray(item.inputs)) throw new InvalidRequestError(`${data} line ${i + 1}: needs "label" and "inputs"`)
        const inputs = await Promise.all(item.inputs.map(async (x: any) => x.dataBase64 != null
          ? { modality: x.modality, mediaType: x.mediaType, dataBase64: x.dataBase64 }
          : await parseInput(`${String(x.modality)}=@${String(x.file)}${x.mediaType != null ? `;type=${String(x.mediaType)}` : ''}`, base)))
        return { label: item.label, inputs, ...(typeof item.previous === 'string' ? { previous: item.previous } : {}), ...(typeof item.context === 'string' ? { context: item.context } : {}) }
      }))
      ctx.print(await ctx.client.fuseCalibrate(name, items, { signal: timeoutSignal(30 * 60_000) }), calibrationText)
    }))

  fuse.command('explain <id>')
    .description('how a fusion made on this daemon was reached: inputs, processors, rule, weights, context')
    .option('--json', 'print JSON')
    .action(run(async (ctx, id: string) => { ctx.print(await ctx.client.fuseExplain(id), explainText) }))

  fuse.command('stats')
    .description('fusions, partial answers, answers after the deadline, hedges')
    .option('--json', 'print JSON')
    .action(run(async (ctx) => { ctx.print(await ctx.client.fuseStats(), statsText) }))
}
