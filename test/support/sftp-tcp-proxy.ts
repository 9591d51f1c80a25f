import { connect, createServer, type Socket } from 'node:net';

/** A TCP relay in front of a server, to cut or freeze connections the way a network would. */
export interface SftpTcpProxy {
  port: number;
  /** Destroy every relayed connection at once (RST-like, no SSH goodbye). */
  dropAll(): void;
  /** While on, bytes are swallowed in both directions: the peer looks hung. */
  setBlackhole(on: boolean): void;
  close(): Promise<void>;
}

/** Relay 127.0.0.1:<port> to `targetPort`. */
export async function startSftpTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<SftpTcpProxy> {
  const sockets = new Set<Socket>();
  let blackhole = false;
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  };
  const server = createServer((downstream) => {
    const upstream = connect(targetPort, targetHost);
    track(downstream);
    track(upstream);
    downstream.on('data', (data: Buffer) => {
      if (!blackhole) upstream.write(data);
    });
    upstream.on('data', (data: Buffer) => {
      if (!blackhole) downstream.write(data);
    });
    downstream.on('close', () => upstream.destroy());
    upstream.on('close', () => downstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    dropAll: () => {
      for (const socket of sockets) socket.destroy();
    },
    setBlackhole: (on) => {
      blackhole = on;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
