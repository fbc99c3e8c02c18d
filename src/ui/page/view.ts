/** What the router mounts in <main>: an element and its cleanup. */
export interface View {
  element: HTMLElement;
  /** Stops what the view keeps running (timers, sockets) when another view replaces it. */
  dispose(): void;
}

/** The tab's title for what the view shows; views call it again as they learn more (a job's name). */
export function setTitle(what: string): void {
  document.title = `${what} · trainyard`;
}
