/**
 * Full-jitter exponential backoff (AWS Architecture Blog, "Exponential Backoff And Jitter"): waits a
 * random time in 0..min(capMs, baseMs * 2^attempt), so writers that collided do not collide again.
 */
export function jitteredBackoff(attempt: number, { baseMs = 10, capMs = 500 }: { baseMs?: number; capMs?: number } = {}): Promise<void> {
  const ceiling = Math.min(capMs, baseMs * 2 ** attempt);
  return new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
}
