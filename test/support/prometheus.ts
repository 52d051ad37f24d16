/**
 * A strict reader of the Prometheus text exposition format (version 0.0.4), for tests: every line
 * must be blank, a `# HELP`/`# TYPE` comment, or a sample `name{label="value",...} number`;
 * anything else is an error naming the line.
 */
export interface Sample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*"
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})?\\s+(\\S+)(?:\\s+-?\\d+)?$`)
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(?:,|$)/y
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"])

export const parse = (text: string): ReadonlyArray<Sample> => {
  const samples: Array<Sample> = []
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return
    if (line.startsWith("#")) {
      const type = /^# TYPE (\S+) (\S+)$/.exec(line)
      if (type !== null && !TYPES.has(type[2]!)) throw new Error(`line ${i + 1}: unknown type ${type[2]}`)
      if (type === null && !/^# HELP \S+/.test(line) && !/^# /.test(line))
        throw new Error(`line ${i + 1}: bad comment`)
      return
    }
    const m = SAMPLE.exec(line)
    if (m === null) throw new Error(`line ${i + 1}: not a sample: ${line}`)
    const labels: Record<string, string> = {}
    const raw = m[2] ?? ""
    LABEL.lastIndex = 0
    while (LABEL.lastIndex < raw.length) {
      const at = LABEL.lastIndex
      const l = LABEL.exec(raw)
      if (l === null || LABEL.lastIndex === at) throw new Error(`line ${i + 1}: bad labels: ${raw}`)
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c))
    }
    const value = m[3] === "+Inf" ? Infinity : m[3] === "-Inf" ? -Infinity : Number(m[3])
    if (Number.isNaN(value) && m[3] !== "NaN") throw new Error(`line ${i + 1}: bad value ${m[3]}`)
    samples.push({ name: m[1]!, labels, value })
  })
  return samples
}

/** The sum of the samples named `name` whose labels include `labels`. */
export const total = (
  samples: ReadonlyArray<Sample>,
  name: string,
  labels: Readonly<Record<string, string>> = {}
): number =>
  samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0)
