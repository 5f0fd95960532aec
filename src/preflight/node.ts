/** A node as preflight sees it: what collect and the network checks need, and no more. */
import type { Transport } from '../remote/transport.js';

export interface PreflightNode {
  name: string;
  /** The address the node is known by on its networks (ports are judged against it). */
  address: string;
  tools: { hccnTool: string; npuSmi: string; containerRuntime: string };
  /** Opens (or reuses) the node's connection. Rejects with RemoteError when it cannot. */
  transport(): Promise<Transport>;
}
