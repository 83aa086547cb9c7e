// Tells the sync engine when the machine's network comes back, so queued records go out at once instead
// of after the current backoff. It watches the machine's non-loopback addresses: none → some, or a new
// address (another network joined), counts as the network returning.
import os from 'node:os';

export type AddressSource = () => string[];

/** Non-internal IPv4 and IPv6 addresses of this machine. */
export const machineAddresses: AddressSource = () =>
  Object.values(os.networkInterfaces())
    .flat()
    .filter((a): a is os.NetworkInterfaceInfo => !!a && !a.internal)
    .map((a) => a.address)
    .sort();

export class NetworkWatcher {
  private known: Set<string>;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly onReturn: () => void,
    private readonly addresses: AddressSource = machineAddresses,
    /** Told when the addresses cannot be read (EMFILE and the like); the watcher keeps running. */
    private readonly onError: (err: unknown) => void = (err) =>
      console.error('network watcher: cannot read addresses', err),
  ) {
    this.known = new Set(this.look() ?? []);
  }

  private look(): string[] | undefined {
    try {
      return this.addresses();
    } catch (err) {
      this.onError(err);
      return undefined;
    }
  }

  /**
   * Looks once; calls onReturn when an address appeared since the last look. Returns whether it did. A
   * failed look (the process out of file descriptors) is reported and counts as no change; it never
   * throws, since it runs inside a timer where a throw would end the process.
   */
  check(): boolean {
    const got = this.look();
    if (!got) return false;
    const now = new Set(got);
    const appeared = [...now].some((a) => !this.known.has(a));
    this.known = now;
    if (appeared) this.onReturn();
    return appeared;
  }

  start(intervalMs = 2000): void {
    this.stop();
    this.timer = setInterval(() => this.check(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
