import http from 'node:http';
import net from 'node:net';

/**
 * A reverse proxy that serves the API under a path prefix (/trainyard/... → /...), HTTP and
 * WebSocket, as a deployment behind nginx would. A page that used an absolute URL anywhere would
 * ask for a path outside the prefix: the proxy answers those 404 and lists them in `outside`.
 * `dropWebSockets()` cuts every proxied socket, as a network failure would.
 */
export class PrefixProxy {
  readonly outside: string[] = [];
  private readonly tunnels = new Set<net.Socket>();

  private constructor(
    private readonly server: http.Server,
    readonly prefix: string,
    readonly base: string,
  ) {}

  static async start(target: string, prefix: string): Promise<PrefixProxy> {
    const upstream = new URL(target);
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    const proxy = new PrefixProxy(server, prefix, `http://127.0.0.1:${port}${prefix}/`);
    server.on('request', (req, res) => proxy.forward(req, res, upstream));
    server.on('upgrade', (req, socket: net.Socket, head: Buffer) => proxy.tunnel(req, socket, head, upstream));
    return proxy;
  }

  dropWebSockets(): number {
    const count = this.tunnels.size;
    for (const socket of this.tunnels) socket.destroy();
    this.tunnels.clear();
    return count;
  }

  async close(): Promise<void> {
    this.dropWebSockets();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  /** The path upstream, or null (and a 404) for a path outside the prefix. */
  private strip(url: string | undefined): string | null {
    if (url?.startsWith(`${this.prefix}/`)) return url.slice(this.prefix.length);
    this.outside.push(url ?? '');
    return null;
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse, upstream: URL): void {
    const path = this.strip(req.url);
    if (path === null) {
      res.writeHead(404).end('outside the prefix');
      return;
    }
    const out = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  }

  private tunnel(req: http.IncomingMessage, socket: net.Socket, head: Buffer, upstream: URL): void {
    const path = this.strip(req.url);
    if (path === null) {
      socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
      return;
    }
    const server = net.connect(Number(upstream.port), upstream.hostname, () => {
      const headers = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      server.write(`${req.method} ${path} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`);
      server.write(head);
      socket.pipe(server).pipe(socket);
    });
    for (const end of [socket, server]) {
      this.tunnels.add(end);
      end.on('error', () => {});
      end.on('close', () => {
        this.tunnels.delete(end);
        (end === socket ? server : socket).destroy();
      });
    }
  }
}
