// The abuse limits, per caller: a request rate and a complexity budget per token (per user
// for sessions, per client address without a credential), a stricter count of failed logIn
// attempts per address and per email, of signUps and leaked-token reports per address, and of refused bearer tokens
// per address (each costs an argon2id verification). Counts live in `Counters`.
import type { AbuseLimits } from '../env';
import { rateLimited } from '../errors';
import type { Principal } from '../auth/principal';
import type { CounterKind, Counters, CountersHealth, Take } from './counters';
import { all, then, type MaybePromise } from '../maybePromise';

/** Which limit refused a request (HTTP 429); the metrics count refusals by it. */
export type LimitRefusal = 'token_rate' | 'address_rate' | 'budget' | 'login_failures' | 'signup_rate' | 'leak_report_rate' | 'refused_credentials';

/** Whom a request counts against. */
export interface Caller {
  key: string;
  /** The request-rate limit that applies: per token (or user, for sessions) or per address. */
  rateLimit: 'token_rate' | 'address_rate';
  /** Complexity points per minute. */
  budget: number;
  requestsPerMinute: number;
  /** How the refusal names the caller. */
  label: string;
  /**
   * The budgets of the tokens up the chain that minted this token, nearest first: each request
   * counts against them too, so minting never multiplies a budget.
   */
  minterBudgets: { key: string; budget: number }[];
}

export interface BudgetCharge {
  /** What the response held (charged). */
  cost: number;
  /** The estimate before execution: every connection full (`first`/`last`, default 50). */
  requestedCost: number;
  budget: number;
  remaining: number;
  resetInSeconds: number;
}

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

export class AbuseLimiter {
  /**
   * Each credential's Caller, by the token row (or user) its principal was loaded with: a
   * cached credential is the same object on every request until something changes, and a
   * change brings new objects (src/auth/credentialCache.ts).
   */
  private readonly callers = new WeakMap<object, Caller>();

  constructor(
    private readonly counters: Counters,
    readonly config: AbuseLimits,
    /** Told of each refusal, before it is thrown (the metrics count them). */
    private readonly onRefusal: (limit: LimitRefusal) => void = () => undefined,
  ) {}

  callerOf(principal: Principal, address: string): Caller {
    if (principal.kind === 'anonymous') return this.newCaller(principal, address);
    const by = principal.kind === 'session' ? principal.user : principal.token;
    let caller = this.callers.get(by);
    if (!caller) this.callers.set(by, (caller = this.newCaller(principal, address)));
    return caller;
  }

  private newCaller(principal: Principal, address: string): Caller {
    const perToken = this.config.tokenRequestsPerMinute;
    switch (principal.kind) {
      case 'personal':
      case 'service':
        return {
          key: `token:${principal.token.id}`,
          rateLimit: 'token_rate',
          budget: this.budgetOf(principal.token),
          requestsPerMinute: perToken,
          label: 'this token',
          minterBudgets: principal.minters.map((minter) => ({ key: `token:${minter.id}`, budget: this.budgetOf(minter) })),
        };
      case 'session':
        return {
          key: `user:${principal.user.id}`,
          rateLimit: 'token_rate',
          budget: this.config.budgetDefaultPerMinute,
          requestsPerMinute: perToken,
          label: 'your sessions',
          minterBudgets: [],
        };
      case 'anonymous':
        return {
          key: `address:${address}`,
          rateLimit: 'address_rate',
          budget: this.config.budgetDefaultPerMinute,
          requestsPerMinute: this.config.anonymousRequestsPerMinute,
          label: 'unauthenticated requests from your address',
          minterBudgets: [],
        };
    }
  }

  // The methods a request always calls answer synchronously when the counters are in memory
  // (src/maybePromise.ts); they throw their refusal, or reject with it.

  /** One request against the caller's request rate; RATE_LIMITED once it is used up. */
  admitRequest(caller: Caller): MaybePromise<void> {
    return then(this.counters.take('requests', caller.key, 1, caller.requestsPerMinute), (taken) => {
      if (taken.allowed) return;
      this.onRefusal(caller.rateLimit);
      throw rateLimited(`Too many requests: ${caller.label} may send ${caller.requestsPerMinute} per minute. Try again in ${seconds(taken.resetMs)} s.`, taken.resetMs / 1000);
    });
  }

  private budgetOf(token: { complexityBudget: number | null }): number {
    return token.complexityBudget ?? this.config.budgetDefaultPerMinute;
  }

  /**
   * Before execution: RATE_LIMITED once the caller's budget, or that of a token up its minting
   * chain, is exhausted (nothing left).
   */
  admitBudget(caller: Caller, requestedCost: number): MaybePromise<void> {
    const states = this.alongChain(caller, (key, budget) => this.counters.reached('budget', key, budget));
    return then(states, ([own, ...minters]) => this.refuseExhaustedBudget(caller, requestedCost, own, minters));
  }

  private refuseExhaustedBudget(caller: Caller, requestedCost: number, own: Take, minters: Take[]): void {
    const exhausted = own.allowed ? minters.find((state) => !state.allowed) : own;
    if (!exhausted) return;
    this.onRefusal('budget');
    const charge = { cost: 0, requestedCost, budget: caller.budget, remaining: 0, resetInSeconds: seconds(exhausted.resetMs) };
    const whose = exhausted === own ? `all ${caller.budget} points of this minute are spent` : `the token that minted this one (directly or further up) has spent all ${exhausted.limit} points of its minute`;
    throw rateLimited(
      `Complexity budget exhausted: ${whose} (this query may cost up to ${requestedCost}). Try again in ${charge.resetInSeconds} s.`,
      exhausted.resetMs / 1000,
      budgetHeaders(charge),
    );
  }

  /**
   * After execution: takes what the response held from the budget (and from the budgets up the
   * minting chain), in full even past what was left (the budget then shows 0 left and the next
   * operation waits for the window). `remaining` is what the caller can still spend: the least
   * left anywhere on its chain.
   */
  chargeBudget(caller: Caller, cost: number, requestedCost: number): MaybePromise<BudgetCharge> {
    const takes = this.alongChain(caller, (key, budget) => this.counters.add('budget', key, cost, budget));
    return then(takes, ([own, ...minters]) => {
      const remaining = Math.min(own.remaining, ...minters.map((taken) => taken.remaining));
      return { cost, requestedCost, budget: caller.budget, remaining, resetInSeconds: seconds(own.resetMs) };
    });
  }

  /** `count` on the caller's budget, then on each budget up its minting chain, nearest first. */
  private alongChain(caller: Caller, count: (key: string, budget: number) => MaybePromise<Take>): MaybePromise<Take[]> {
    return all([count(caller.key, caller.budget), ...caller.minterBudgets.map((minter) => count(minter.key, minter.budget))]);
  }

  /** Before a bearer token is verified: an address that sent too many bad ones waits. */
  admitCredential(address: string): MaybePromise<void> {
    return then(this.counters.reached('authFailures', `address:${address}`, this.config.anonymousRequestsPerMinute), (state) => {
      if (!state.allowed) throw this.refusedCredentials(state);
    });
  }

  /** A bearer token was refused (it counts like an unauthenticated request of its address). */
  async credentialRefused(address: string): Promise<void> {
    await this.counters.take('authFailures', `address:${address}`, 1, this.config.anonymousRequestsPerMinute);
  }

  private refusedCredentials(state: Take) {
    this.onRefusal('refused_credentials');
    return rateLimited(
      `Too many requests with an invalid credential from your address. Try again in ${seconds(state.resetMs)} s.`,
      state.resetMs / 1000,
    );
  }

  /**
   * Counts a logIn attempt as failed for its address and its email, before the password is
   * checked (so that parallel guesses cannot overtake the count). Unknown and known emails are
   * counted alike, so a refusal tells nothing about accounts. Returns `succeeded`, which
   * gives the attempt back.
   */
  async logInAttempt(address: string, emailKey: string): Promise<{ succeeded(): Promise<void> }> {
    const limit = this.config.logInFailuresPerMinute;
    const keys = [`address:${address}`, `email:${emailKey}`];
    const taken: string[] = [];
    for (const key of keys) {
      const result = await this.counters.take('logInFailures', key, 1, limit);
      if (!result.allowed) {
        for (const done of taken) await this.counters.giveBack('logInFailures', done, 1);
        this.onRefusal('login_failures');
        throw rateLimited(`Too many failed logIn attempts. Try again in ${seconds(result.resetMs)} s.`, result.resetMs / 1000);
      }
      taken.push(key);
    }
    return {
      succeeded: async () => {
        for (const key of taken) await this.counters.giveBack('logInFailures', key, 1);
      },
    };
  }

  /** One signUp from this address. */
  async signUpAttempt(address: string): Promise<void> {
    await this.takePerAddress('signUps', 'signup_rate', address, this.config.signUpsPerMinute, 'signUps');
  }

  /** One revokeLeakedTokens call from this address (each may queue 1,000 argon2id verifications). */
  async leakReportAttempt(address: string): Promise<void> {
    await this.takePerAddress('leakReports', 'leak_report_rate', address, this.config.leakReportsPerMinute, 'leaked-token reports');
  }

  /** One action of a kind limited per client address; RATE_LIMITED once the address used them up. */
  private async takePerAddress(kind: CounterKind, reason: LimitRefusal, address: string, limit: number, what: string): Promise<void> {
    const result = await this.counters.take(kind, `address:${address}`, 1, limit);
    if (!result.allowed) {
      this.onRefusal(reason);
      throw rateLimited(`Too many ${what} from your address: ${limit} per minute. Try again in ${seconds(result.resetMs)} s.`, result.resetMs / 1000);
    }
  }

  health(): CountersHealth {
    return this.counters.health();
  }

  close(): Promise<void> {
    return this.counters.close();
  }
}

/** The budget as headers (IETF draft RateLimit fields): points per minute, what remains, seconds to reset. */
export function budgetHeaders(charge: BudgetCharge): Record<string, string> {
  return {
    'RateLimit-Limit': String(charge.budget),
    'RateLimit-Remaining': String(charge.remaining),
    'RateLimit-Reset': String(charge.resetInSeconds),
    'RateLimit-Policy': `${charge.budget};w=60`,
  };
}
