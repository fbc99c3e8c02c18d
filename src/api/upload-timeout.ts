import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

/**
 * A big archive on a slow link takes longer than HTTP_REQUEST_TIMEOUT_MS (a limit on the whole
 * request, server-wide, so a slow client cannot hold a connection for long). The upload route
 * times its body by idleness instead: it may take as long as it likes while bytes flow, and it is
 * cut once none arrive for DATASET_UPLOAD_IDLE_TIMEOUT_MS. Node checks the whole-request limit
 * itself and reports it as a client error; the server's client-error handler asks
 * `waivesRequestTimeout` and lets such a socket be.
 */
const idleTimedSockets = new WeakSet<Socket>();

/** Code of the client error an upload that went idle is answered with (a 408 problem). */
export const uploadIdleCode = 'ERR_DATASET_UPLOAD_IDLE';

/** Whether Node's whole-request timeout is waived for the request on this socket (an upload timed by idleness instead). */
export function waivesRequestTimeout(socket: Socket): boolean {
  return idleTimedSockets.has(socket);
}

/**
 * Times `request`'s body by idleness: no bytes for `idleMs` and `onIdle` answers and closes the
 * connection (the upload, unfinished, is then dropped and nothing is kept). Call it before the
 * body is read; the connection closes after the response (its socket keeps the idle limit).
 */
export function timeBodyByIdleness(request: IncomingMessage, idleMs: number, onIdle: (socket: Socket) => void): void {
  const { socket } = request;
  idleTimedSockets.add(socket);
  socket.setTimeout(idleMs);
  // Node emits 'timeout' on a request whose body is incomplete; a listener keeps Node from destroying the socket silently.
  request.on('timeout', () => onIdle(socket));
}
