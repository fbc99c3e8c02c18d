/**
 * Runs an async task for the latest input only: while one run is under way, new inputs replace
 * each other and the newest runs when it ends. Drawing asks for a prediction on every pointer move;
 * this keeps one request in flight and always ends on the drawing as it stands.
 */
export class LatestOnly<T> {
  private running = false;
  private next: { input: T } | null = null;

  constructor(private readonly task: (input: T) => Promise<void>) {}

  push(input: T): void {
    this.next = { input };
    if (!this.running) void this.drain();
  }

  private async drain(): Promise<void> {
    this.running = true;
    while (this.next) {
      const { input } = this.next;
      this.next = null;
      await this.task(input).catch(() => {
        // the task reports its own failures; the next input still runs
      });
    }
    this.running = false;
  }
}
