/** A snapshot of what the emulator has answered since start or the last reset. */
export interface EmulatorStats {
  /** API requests (token, discovery and Web API; admin calls excluded). */
  total: number;
  /** By route, e.g. `GET contacts`, `PATCH contacts(id)`, `POST $batch`, `POST token`. */
  byRoute: Record<string, number>;
  /** By HTTP status. */
  byStatus: Record<string, number>;
  /** By route and status, e.g. `GET contacts 429`. */
  byRouteAndStatus: Record<string, number>;
  /** Answers with 429 (service protection and injected bursts). */
  throttled: number;
  /** Web API requests counted like the 24-hour entitlement: each `$batch` part counts. */
  entitlementRequests: number;
  /** Tokens issued by the token endpoint. */
  tokensIssued: number;
  /** Injected faults. */
  faults: { dropped: number; hung: number; errors: number; delayed: number };
  /** Highest number of Web API requests in flight at once. */
  peakConcurrency: number;
  /** Execution time charged against the service-protection window (real time plus the per-write cost), ms. */
  executionMs: number;
}

function increment(map: Map<string, number>, key: string, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by);
}

export class RequestStatistics {
  private total = 0;
  private readonly byRoute = new Map<string, number>();
  private readonly byStatus = new Map<string, number>();
  private readonly byRouteAndStatus = new Map<string, number>();
  private throttled = 0;
  private entitlement = 0;
  private tokens = 0;
  private readonly faults = { dropped: 0, hung: 0, errors: 0, delayed: 0 };
  private inFlight = 0;
  private peak = 0;
  private executionMs = 0;

  record(route: string, status: number): void {
    this.total++;
    increment(this.byRoute, route);
    increment(this.byStatus, String(status));
    increment(this.byRouteAndStatus, `${route} ${status}`);
    if (status === 429) this.throttled++;
  }

  countEntitlement(requests: number): void {
    this.entitlement += requests;
  }

  countExecution(ms: number): void {
    this.executionMs += ms;
  }

  countToken(): void {
    this.tokens++;
  }

  countFault(kind: keyof EmulatorStats['faults']): void {
    this.faults[kind]++;
  }

  /** Track Web API concurrency; returns the function to call when the request ends. */
  enter(): () => void {
    this.inFlight++;
    this.peak = Math.max(this.peak, this.inFlight);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.inFlight--;
    };
  }

  snapshot(): EmulatorStats {
    return {
      total: this.total,
      byRoute: Object.fromEntries(this.byRoute),
      byStatus: Object.fromEntries(this.byStatus),
      byRouteAndStatus: Object.fromEntries(this.byRouteAndStatus),
      throttled: this.throttled,
      entitlementRequests: this.entitlement,
      tokensIssued: this.tokens,
      faults: { ...this.faults },
      peakConcurrency: this.peak,
      executionMs: Math.round(this.executionMs),
    };
  }

  reset(): void {
    this.total = 0;
    this.byRoute.clear();
    this.byStatus.clear();
    this.byRouteAndStatus.clear();
    this.throttled = 0;
    this.entitlement = 0;
    this.tokens = 0;
    this.faults.dropped = this.faults.hung = this.faults.errors = this.faults.delayed = 0;
    this.peak = this.inFlight;
    this.executionMs = 0;
  }
}
