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

export type State =
  | {
      readonly _tag: "Closed"
      readonly calls: ReadonlyArray<Call>
      /** How many of `calls` failed (kept so that no call has to count them). */
      readonly failures: number
      readonly consecutive: number
    }
  | { readonly _tag: "Open"; readonly openedAt: number; readonly until: number }
  | { readonly _tag: "HalfOpen"; readonly inFlight: number; readonly successes: number }

export type Decision =
  | { readonly _tag: "Admit"; readonly trial: boolean }
  | { readonly _tag: "Reject"; readonly retryAfterMillis: number }

export type Outcome = "success" | "failure" | "ignored"

export const closed: State = { _tag: "Closed", calls: [], failures: 0, consecutive: 0 }

const trim = (calls: ReadonlyArray<Call>, now: number, config: Config): ReadonlyArray<Call> =>
  config.window._tag === "Count"
    ? calls.slice(Math.max(0, calls.length - config.window.size))
    : calls.filter((c) => c.at > now - (config.window as { millis: number }).millis)

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
          state.calls.length >= config.window.size &&
          // the rate rule fires at a 0 % failure rate only when the threshold is 0
          !(
            state.calls.length >= Math.max(1, config.minimumCalls) &&
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
      const calls = trim([...state.calls, { at: now, failed }], now, config)
      const consecutive = failed ? state.consecutive + 1 : 0
      if (config.consecutiveFailures > 0 && consecutive >= config.consecutiveFailures)
        return open(now, config)
      let failures = 0
      for (const c of calls) if (c.failed) failures++
      if (calls.length >= Math.max(1, config.minimumCalls)) {
        const rate = failures / calls.length
        if (config.failureRate < 1 && rate >= config.failureRate) return open(now, config)
      }
      return { _tag: "Closed", calls, failures, consecutive }
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
        calls: state.calls.length,
        failures: state.failures,
        consecutive: state.consecutive
      }
    : { calls: 0, failures: 0, consecutive: 0 }
