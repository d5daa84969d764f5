// Prometheus text exposition format (0.0.4), no client library needed for
// one counter and two gauges.

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const escapeLabel = (v) => String(v).replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const labels = (obj) =>
  `{${Object.entries(obj).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;

export class Metrics {
  #requests = new Map(); // "method\0route\0status" -> count

  /** Count one served request. */
  observe(method, route, status) {
    const key = `${method}\0${route}\0${status}`;
    this.#requests.set(key, (this.#requests.get(key) ?? 0) + 1);
  }

  /**
   * @param {{pod: string, visits: number | null, commits?: number}} state
   *   visits is null when the visits file is unreadable or corrupt; commits is
   *   the number of durable group commits of visits so far.
   */
  render({ pod, visits, commits = 0 }) {
    const out = [
      '# HELP http_requests_total HTTP requests served, by method, route and status code.',
      '# TYPE http_requests_total counter',
    ];
    for (const [key, count] of this.#requests) {
      const [method, route, status] = key.split('\0');
      out.push(`http_requests_total${labels({ method, route, status })} ${count}`);
    }
    out.push(
      '# HELP app_visit_commits_total Durable writes of the visits file (write, fsync, rename, directory fsync) for visits; concurrent visits share one (group commit).',
      '# TYPE app_visit_commits_total counter',
      `app_visit_commits_total${labels({ pod })} ${commits}`,
      '# HELP app_visits_file_ok 1 if the visits file is readable and valid (or absent), 0 otherwise.',
      '# TYPE app_visits_file_ok gauge',
      `app_visits_file_ok${labels({ pod })} ${visits === null ? 0 : 1}`,
      "# HELP app_visits Visits recorded in this pod's visits file.",
      '# TYPE app_visits gauge',
    );
    if (visits !== null) out.push(`app_visits${labels({ pod })} ${visits}`);
    return `${out.join('\n')}\n`;
  }
}
