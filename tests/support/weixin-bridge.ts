// WeChat's in-app browser as far as a JSAPI pay page sees it: a WeixinJSBridge whose
// invoke('getBrandWCPayRequest', params, cb) is answered by the channel simulator acting as WeChat's
// client (it checks appId, signType and paySign with the merchant's public key, then pays the order).
import type { BrowserContext } from 'playwright-core';
import type { ChannelSimulator } from '../../hub/channels/simulator.ts';

/** Installs the bridge in every page of `ctx`; returns the err_msg answers given, in order. */
export async function installWeixinBridge(ctx: BrowserContext, sim: ChannelSimulator): Promise<string[]> {
  const answers: string[] = [];
  await ctx.exposeBinding('__fkWeixinPay', async (_src, params: Record<string, unknown>) => {
    const r = await sim.payJsapi(params);
    answers.push(r.err_msg);
    return r.err_msg;
  });
  await ctx.addInitScript(() => {
    const w = window as unknown as {
      WeixinJSBridge?: unknown;
      __fkWeixinPay: (p: unknown) => Promise<string>;
    };
    w.WeixinJSBridge = {
      invoke(name: string, params: unknown, cb: (r: { err_msg: string }) => void): void {
        if (name !== 'getBrandWCPayRequest') {
          cb({ err_msg: `${name}:fail` });
          return;
        }
        void w.__fkWeixinPay(params).then((m) => cb({ err_msg: m }));
      },
    };
  });
  return answers;
}
