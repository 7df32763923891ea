// What the benchmarks send and how the gateway under test is configured, shared by the HTTP
// benchmark (bench/run.ts, bench/server.ts) and the in-process comparison (bench/compare.ts).

/** The query of issue 10, as sent in the main comparison. */
export const BOARD_QUERY = `query Board($id: ID!) {
  board(id: $id) {
    id
    name
    items(first: 20) {
      edges { node { id name status } }
    }
  }
}`;

/** High enough that no limit ever refuses the benchmark, while every limit still runs. */
export const UNREFUSING_LIMITS = {
  RATE_LIMIT_TOKEN_PER_MINUTE: '100000000',
  RATE_LIMIT_ANONYMOUS_PER_MINUTE: '100000000',
  RATE_LIMIT_LOGIN_FAILURES_PER_MINUTE: '100000000',
  RATE_LIMIT_SIGNUP_PER_MINUTE: '100000000',
  BUDGET_DEFAULT_PER_MINUTE: '100000000',
  BUDGET_MAX_PER_MINUTE: '100000000',
};
