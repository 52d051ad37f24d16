/**
 * The circuit breaker's state machine as pure functions of (state, time, config), so every
 * transition is property-tested without a clock.
 */

export interface Config {
  /** Consecutive failures that open the circuit (0 disables the rule). */
  readonly consecutiveFailures: number
  /** Failure rate in [0, 1] over the window that opens the circuit (1 disables the rule). */
  readonly failureRate: number
  readonly window:
    { readonly _tag: "Count"; readonly size: number } | { readonly _tag: "Time"; readonly millis: number }
  /** Calls the window must hold before the rate rule applies. */
  readonly minimumCalls: number
  /** A successful call slower than this counts as a failure (Infinity disables). */
  readonly slowCallMillis: number
  /** How long the circuit stays open before allowing trial calls. */
  readonly openMillis: number
  /** Trial calls allowed at once in half-open. */
  readonly halfOpenMaxCalls: number
  /** Successful trials that close the circuit. */
  readonly successThreshold: number
}

export interface Call {
  readonly at: number
  readonly failed: boolean
}

/**
 * The window of a Closed state: the calls `log[start]` to `log[end - 1]`, oldest first. States that
 * grew from one another share one `log`: a state appends in place only when its calls end the log
 * (an older state's calls, before its own `end`, never change), so states stay values and recording
 * a call costs O(1) amortised instead of a copy of the window.
 */
export interface Closed {
  readonly _tag: "Closed"
  readonly log: ReadonlyArray<Call>
  readonly start: number
  readonly end: number
  /** How many of the window's calls failed. */
  readonly failures: number
  /** The window's times never decrease, so a time window drops a prefix (a clock set back breaks it). */
  readonly ordered: boolean
  readonly consecutive: number
}

export type State =
  | Closed
  | { readonly _tag: "Open"; readonly openedAt: number; readonly until: number }
  | { readonly _tag: "HalfOpen"; readonly inFlight: number; readonly successes: number }

export type Decision =
  | { readonly _tag: "Admit"; readonly trial: boolean }
  | { readonly _tag: "Reject"; readonly retryAfterMillis: number }

export type Outcome = "success" | "failure" | "ignored"

export const closed: State = {
  _tag: "Closed",
  log: [],
  start: 0,
  end: 0,
  failures: 0,
  ordered: true,
  consecutive: 0
}

/** The window's calls, oldest first. */
export const calls = (state: Closed): ReadonlyArray<Call> => state.log.slice(state.start, state.end)

const countFailures = (calls: ReadonlyArray<Call>, from: number, to: number): number => {
  let failures = 0
  for (let i = from; i < to; i++) if (calls[i]!.failed) failures++
  return failures
}

/**
 * The window after `call`: the last `size` calls of a count window, or the calls later than
 * `now - millis` of a time window (kept in order, as `Array.prototype.filter` would).
 */
const append = (
  state: Closed,
  call: Call,
  now: number,
  config: Config
): Pick<Closed, "log" | "start" | "end" | "failures" | "ordered"> => {
  let log = state.log as Array<Call>
  let start = state.start
  let end = state.end
  // a fresh log when another state has appended past this one, or when the dropped calls outnumber the kept ones
  if (end === 0 || end !== log.length || (start >= 64 && start > end - start)) {
    log = log.slice(start, end)
    end -= start
    start = 0
  }
  const ordered = state.ordered && (end === start || call.at >= log[end - 1]!.at)
  log.push(call)
  end++
  let failures = state.failures + (call.failed ? 1 : 0)
  if (config.window._tag === "Count") {
    // as `calls.slice(Math.max(0, calls.length - size))`
    const k = Math.max(0, end - start - config.window.size)
    const drop = Number.isNaN(k) ? 0 : Math.min(end - start, Math.trunc(k))
    failures -= countFailures(log, start, start + drop)
    return { log, start: start + drop, end, failures, ordered }
  }
  const cutoff = now - config.window.millis
  if (ordered) {
    // in order, the calls kept by `c.at > cutoff` are a suffix
    let from = start
    while (from < end && !(log[from]!.at > cutoff)) from++
    failures -= countFailures(log, start, from)
    return { log, start: from, end, failures, ordered }
  }
  const kept = log.slice(start, end).filter((c) => c.at > cutoff)
  let inOrder = true
  for (let i = 1; i < kept.length; i++) if (!(kept[i]!.at >= kept[i - 1]!.at)) inOrder = false
  return {
    log: kept,
    start: 0,
    end: kept.length,
    failures: countFailures(kept, 0, kept.length),
    ordered: inOrder
  }
}

const open = (now: number, config: Config): State => ({
  _tag: "Open",
  openedAt: now,
  until: now + config.openMillis
})

/** Whether a call may run now; moves Open to HalfOpen once the open timeout has passed. */
export const admit = (state: State, now: number, config: Config): readonly [Decision, State] => {
  switch (state._tag) {
    case "Closed":
      return [{ _tag: "Admit", trial: false }, state]
    case "Open":
      if (now < state.until) return [{ _tag: "Reject", retryAfterMillis: state.until - now }, state]
      return admit({ _tag: "HalfOpen", inFlight: 0, successes: 0 }, now, config)
    case "HalfOpen":
      return state.inFlight < config.halfOpenMaxCalls
        ? [
            { _tag: "Admit", trial: true },
            { ...state, inFlight: state.inFlight + 1 }
          ]
        : [{ _tag: "Reject", retryAfterMillis: 0 }, state]
  }
}

/**
 * The state as a caller sees it at `now`: an Open breaker past its timeout admits the next call as
 * a trial, so it reads HalfOpen, even though the transition itself happens on that call. (Reading
 * it as Open would let a router skip the gateway for ever: no call, no transition.)
 */
export const observe = (state: State, now: number): State =>
  state._tag === "Open" && now >= state.until ? { _tag: "HalfOpen", inFlight: 0, successes: 0 } : state

/**
 * Whether recording `outcome` leaves `state` as it is, so that `record` returns `state` itself and
 * needs no time: an ignored outcome or a trial call in Closed, anything in Open, a non-trial call in
 * HalfOpen, and (the hot path of a healthy breaker) a success when the count window is full of
 * successes and no rule fires on it. A time window always needs the call's time.
 */
export const unchangedBy = (state: State, outcome: Outcome, trial: boolean, config: Config): boolean => {
  switch (state._tag) {
    case "Closed":
      return (
        outcome === "ignored" ||
        trial ||
        (outcome === "success" &&
          config.window._tag === "Count" &&
          state.failures === 0 &&
          state.consecutive === 0 &&
          // the new call pushes an older success out: the window keeps its length
          state.end - state.start >= config.window.size &&
          // the rate rule fires at a 0 % failure rate only when the threshold is 0
          !(
            state.end - state.start >= Math.max(1, config.minimumCalls) &&
            config.failureRate < 1 &&
            0 >= config.failureRate
          ))
      )
    case "Open":
      return true
    case "HalfOpen":
      return !trial
  }
}

/** Records the outcome of an admitted call. */
export const record = (
  state: State,
  outcome: Outcome,
  trial: boolean,
  now: number,
  config: Config
): State => {
  switch (state._tag) {
    case "Closed": {
      if (unchangedBy(state, outcome, trial, config)) return state
      const failed = outcome === "failure"
      const consecutive = failed ? state.consecutive + 1 : 0
      if (config.consecutiveFailures > 0 && consecutive >= config.consecutiveFailures)
        return open(now, config)
      const window = append(state, { at: now, failed }, now, config)
      const length = window.end - window.start
      if (length >= Math.max(1, config.minimumCalls)) {
        const rate = window.failures / length
        if (config.failureRate < 1 && rate >= config.failureRate) return open(now, config)
      }
      return { _tag: "Closed", ...window, consecutive }
    }
    case "Open":
      return state
    case "HalfOpen": {
      if (!trial) return state
      const inFlight = Math.max(0, state.inFlight - 1)
      if (outcome === "ignored") return { ...state, inFlight }
      if (outcome === "failure") return open(now, config)
      const successes = state.successes + 1
      return successes >= config.successThreshold ? closed : { _tag: "HalfOpen", inFlight, successes }
    }
  }
}

/** The window's current figures, for metrics. */
export const stats = (state: State) =>
  state._tag === "Closed"
    ? {
        calls: state.end - state.start,
        failures: state.failures,
        consecutive: state.consecutive
      }
    : { calls: 0, failures: 0, consecutive: 0 }
