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
   * @param {{pod: string, visits: number | null}} state
   *   visits is null when the visits file is unreadable or corrupt.
   */
  render({ pod, visits }) {
    const out = [
      '# HELP http_requests_total HTTP requests served, by method, route and status code.',
      '# TYPE http_requests_total counter',
    ];
    for (const [key, count] of this.#requests) {
      const [method, route, status] = key.split('\0');
      out.push(`http_requests_total${labels({ method, route, status })} ${count}`);
    }
    out.push(
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
