// Shared by the fusion benchmark's AssemblyScript processors: a multinomial logistic regression's
// answer in the processor contract's form (docs/fusion.md), {"scores": [p0, ...]}.

/** softmax(W x + b) as the contract's JSON; W is row-major, one row of x.length weights per class. */
export function softmaxScores (W: StaticArray<f32>, B: StaticArray<f32>, x: Float64Array): string {
  const classes = B.length
  const n = x.length
  const z = new Float64Array(classes)
  let max = -Infinity
  for (let c = 0; c < classes; c++) {
    let s = <f64>B[c]
    for (let i = 0; i < n; i++) s += <f64>W[c * n + i] * x[i]
    z[c] = s
    if (s > max) max = s
  }
  let sum = 0.0
  for (let c = 0; c < classes; c++) { z[c] = Math.exp(z[c] - max); sum += z[c] }
  let out = '{"scores":['
  for (let c = 0; c < classes; c++) out += (c > 0 ? ',' : '') + (z[c] / sum).toString()
  return out + ']}'
}
