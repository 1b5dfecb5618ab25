/** Where the daily reconciliation keeps what it found (issue 12): one report and its findings per day. */
import type { DailyCounts, Finding } from '#domain/daily-reconciliation';

export interface DailyReports {
  /** The findings recorded for the day by earlier runs. */
  findingsOf(day: string): Promise<Finding[]>;
  /** Records a finding unless one exists for that payment on that day; false when it existed. */
  recordFinding(finding: Finding): Promise<boolean>;
  /** Writes the day's counts (the findings are the recorded ones). */
  saveReport(report: { day: string; counts: DailyCounts; lastRunAt: string }): Promise<void>;
}
