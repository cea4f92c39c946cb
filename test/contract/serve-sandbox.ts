/**
 * The contract sandbox as a separate process, so the real-server mode of `npm run contract`
 * can be exercised over the network exactly as against a real Mattermost:
 *
 *   node --import tsx test/contract/serve-sandbox.ts     → prints `READY http://127.0.0.1:PORT`
 *
 * CONTRACT_SANDBOX_LATENCY_MS slows every REST answer (to interrupt a run mid-check in tests).
 * Stops on SIGTERM/SIGINT.
 */
import { startContractSandbox } from '../../src/contract/sandbox-target.js';

const sb = await startContractSandbox();
const latency = Number(process.env.CONTRACT_SANDBOX_LATENCY_MS ?? '0');
if (Number.isFinite(latency) && latency > 0) sb.fake.faults.latencyMs = latency;
process.stdout.write(`READY ${sb.fake.url}\n`);
const stop = () => {
  void sb.close().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
