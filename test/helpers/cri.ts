import * as path from 'path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

// A CRI v1 client (runtime.v1 RuntimeService and ImageService) over containerd's unix
// socket, from the reduced definitions in test/fixtures/cri/runtime-v1.proto. Every call
// is a promise; a gRPC error rejects with its code and details.

const PROTO = path.resolve(__dirname, '..', 'fixtures', 'cri', 'runtime-v1.proto');

export type Msg = Record<string, any>;
export type CriCall = (method: string, request: Msg, timeoutMs?: number) => Promise<Msg>;

export interface CriClient {
  runtime: CriCall;
  image: CriCall;
  close(): void;
}

export function criClient(socket: string): CriClient {
  const def = protoLoader.loadSync(PROTO, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  const pkg = grpc.loadPackageDefinition(def) as any;
  const target = `unix://${socket}`;
  const rt = new pkg.runtime.v1.RuntimeService(target, grpc.credentials.createInsecure());
  const im = new pkg.runtime.v1.ImageService(target, grpc.credentials.createInsecure());
  const bind = (client: any): CriCall => (method, request, timeoutMs = 60000) =>
    new Promise((resolve, reject) => {
      client[method](request, { deadline: new Date(Date.now() + timeoutMs) }, (err: grpc.ServiceError | null, res: Msg) => {
        if (err) reject(new Error(`${method}: ${grpc.status[err.code] ?? err.code}: ${err.details}`));
        else resolve(res);
      });
    });
  return {
    runtime: bind(rt),
    image: bind(im),
    close: () => {
      rt.close();
      im.close();
    },
  };
}
