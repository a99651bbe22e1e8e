export { FusionEngine, fusion, type FuseAnswer, type FuseInput, type FuseOptions, type FusionComponents, type FusionInit, type FusionStats, type CalibrationItem, type CalibrationReport, type ProcessorAnswerView, type ContextView } from './engine.js'
export { RULES, type RuleName } from './rules.js'
export { parseTask, parseProcessor, type FusionTask, type ProcessorDescriptor, DEFAULT_DEADLINE_MS } from './task.js'
export type { FusionRecord } from './rdf.js'
