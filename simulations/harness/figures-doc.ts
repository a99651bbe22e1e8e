import { writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { benchMarkdown, type BenchFile } from './markdown.js'

/** docs/figures.md: the manual's table of the committed benchmark results. */
export const FIGURES_DOC = fileURLToPath(new URL('../../../docs/figures.md', import.meta.url))

/** Rewrite docs/figures.md from `bench` (the committed simulations/results/bench.json). */
export async function writeFiguresDoc (bench: BenchFile): Promise<string> {
  const intro = [
    '# Figures',
    '',
    'Every benchmark figure beside its baseline from the same run, the goals not met first. Rebuilt by a whole `npm run bench` and by `npm run sim:report` from `simulations/results/bench.json`; how each is measured: [development.md](development.md); the simulations: [SUMMARY.md](../simulations/results/SUMMARY.md).',
    ''
  ]
  await writeFile(FIGURES_DOC, [...intro, ...benchMarkdown(bench, '../simulations/results/bench.json')].join('\n'))
  return FIGURES_DOC
}
