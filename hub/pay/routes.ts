// The pay page and the channel notification endpoints, as a plugin for the hub's app:
//   GET  /p/{billToken}[?channel=alipay|wechat]  the page behind the printed QR
//   GET  /p/{billToken}/status                   JSON for the waiting page's poll
//   POST /notify/alipay, /notify/wechat          asynchronous notifications (raw body, verified)
// It also runs the scheduled query of open orders while the app is up.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { channelSchema, type Channel } from '../../protocol/ids.ts';
import { failure } from '../../protocol/result.ts';
import type { Clock } from '../../protocol/time.ts';
import { buildAdapters, payConfigSchema, type PayConfig } from './config.ts';
import { choosePage, errorPage, expiredPage, jsapiPage, orderPage, paidPage, voidedPage } from './pages.ts';
import { WechatAdapter } from '../channels/wechat.ts';
import { createPayService, type PayHub, type PayService } from './service.ts';
import { attachPayService } from './admin.ts';
import type { ChannelAdapter } from '../channels/types.ts';

export interface PayPluginOptions {
  config: PayConfig;
  /** Adapters to use instead of building them from config (tests). */
  channels?: Partial<Record<Channel, ChannelAdapter>>;
  clock?: Clock;
  /** Called with the service once the plugin is registered (tests, CLI). */
  onService?: (svc: PayService) => void;
}

/** The channel the scanning app implies: Alipay's and WeChat's in-app browsers say who they are. */
export function channelFromUserAgent(ua: string | undefined): Channel | undefined {
  if (!ua) return undefined;
  if (/AlipayClient/i.test(ua)) return 'alipay';
  if (/MicroMessenger/i.test(ua)) return 'wechat';
  return undefined;
}

const TOKEN_PATH_RE = /^(b1\.[A-Za-z0-9._-]{1,509})(\/status)?$/;

export function payPlugin(opts: PayPluginOptions): FastifyPluginAsync<{ hub: PayHub & { clock?: Clock } }> {
  return async (app, { hub }) => {
    const cfg = payConfigSchema.parse(opts.config);
    const clock = opts.clock ?? hub.clock;
    const svc = createPayService({
      hub,
      channels: opts.channels ?? buildAdapters(cfg, clock),
      ...(clock ? { clock } : {}),
      queryEverySeconds: cfg.queryEverySeconds,
      refundApproval: cfg.refundApproval,
      log: (msg, data) => app.log.info(data ?? {}, msg),
      onJobQueued: () => svc.kick(),
    });
    opts.onService?.(svc);
    attachPayService(hub, svc);

    // Background jobs run beside the requests: a notification queues work and is answered at once.
    const kick = (): void => svc.kick();
    app.addHook('onClose', async () => {
      await svc.stop();
    });
    if (cfg.workIntervalSeconds > 0) {
      let t: NodeJS.Timeout | undefined;
      app.addHook('onReady', async () => {
        t = setInterval(() => {
          // The daily reconciliation is a job too: queued once per day by whichever process gets there.
          svc
            .scheduleDailyReconcile(cfg.reconcileHour)
            .catch((e: Error) => app.log.error({ err: e }, 'reconciliation schedule failed'))
            .finally(kick);
        }, cfg.workIntervalSeconds * 1000);
        t.unref();
      });
      app.addHook('onClose', async () => {
        if (t) clearInterval(t);
      });
    }

    // Never from the request: a Host header is the caller's to choose.
    const notifyBase = (_req: FastifyRequest): string => cfg.publicBase;

    app.get('/p/*', async (req, reply) => {
      const rest = (req.params as { '*': string })['*'];
      const m = TOKEN_PATH_RE.exec(rest);
      reply.header('cache-control', 'no-store');
      if (!m)
        return reply
          .code(404)
          .type('text/html; charset=utf-8')
          .send(errorPage(failure('MALFORMED', 'not a bill code')));
      const token = m[1]!;
      if (m[2]) {
        const s = await svc.status(token);
        return s.ok ? s.value : reply.code(404).send({ error: s.error });
      }
      const q = req.query as { channel?: string; code?: string; state?: string };
      const picked = channelSchema.safeParse(q.channel);
      const inApp = channelFromUserAgent(req.headers['user-agent']);
      const channel = picked.success ? picked.data : inApp;
      reply.type('text/html; charset=utf-8');
      // Inside WeChat a page cannot open weixin:// links: pay with JSAPI, the payer known by OAuth2
      // snsapi_base (the redirect comes back here with ?code=).
      const wx = svc.adapters.wechat as WechatAdapter | undefined;
      if (channel === 'wechat' && inApp === 'wechat' && wx instanceof WechatAdapter && wx.jsapiEnabled) {
        const first = await svc.open(token, undefined, notifyBase(req));
        if (first.ok && first.value.kind === 'choose') {
          const back = `${cfg.publicBase.replace(/\/+$/, '')}/p/${token}?channel=wechat`;
          if (typeof q.code !== 'string') return reply.redirect(wx.oauthUrl(back, 'pay'), 302);
          const openid = await wx.openidFromCode(q.code);
          if (!openid.ok) return reply.code(503).send(errorPage(openid.error));
          const o = await svc.jsapiOrder(first.value.bill, openid.value);
          if (!o.ok) return reply.code(503).send(errorPage(o.error));
          return jsapiPage(first.value.bill, token, wx.jsapiPayParams(o.value.prepayId), o.value.outTradeNo, first.value.fine);
        }
      }
      const r = await svc.open(token, channel, notifyBase(req));
      if (!r.ok) {
        const status =
          r.error.code === 'CHANNEL_ERROR' || r.error.code === 'CHANNEL_UNREACHABLE' || r.error.code === 'HUB_UNREACHABLE'
            ? 503
            : r.error.code === 'FINE_NOT_PAYABLE'
              ? 410
              : 400;
        return reply.code(status).send(errorPage(r.error));
      }
      const o = r.value;
      switch (o.kind) {
        case 'choose':
          return choosePage(o.bill, token, o.channels, o.fine);
        case 'order':
          return orderPage(o.bill, token, o.channel, o.payUrl, o.outTradeNo, o.fine);
        case 'paid':
          return paidPage(o.bill, o.confirmation, o.payment, o.fine);
        case 'expired':
          return reply.code(410).send(expiredPage(o.bill));
        case 'voided':
          return reply.code(410).send(voidedPage(o.bill));
      }
    });

    // Notifications are verified over their exact bytes: keep the body raw in this scope.
    await app.register(async (scope) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_req, body, done) =>
        done(null, body),
      );
      scope.post('/notify/:channel/refund', async (req, reply) => {
        const ch = channelSchema.safeParse((req.params as { channel: string }).channel);
        if (!ch.success) return reply.code(404).send();
        const { ack } = await svc.notifyRefund(ch.data, {
          headers: req.headers,
          body: typeof req.body === 'string' ? req.body : '',
        });
        reply.code(ack.status).type(ack.contentType);
        return reply.send(ack.body || undefined);
      });
      scope.post('/notify/:channel', async (req, reply) => {
        const ch = channelSchema.safeParse((req.params as { channel: string }).channel);
        if (!ch.success) return reply.code(404).send();
        const { ack } = await svc.notify(ch.data, {
          headers: req.headers,
          body: typeof req.body === 'string' ? req.body : '',
        });
        reply.code(ack.status).type(ack.contentType);
        return reply.send(ack.body || undefined);
      });
    });

    if (cfg.sweepIntervalSeconds > 0) {
      let timer: NodeJS.Timeout | undefined;
      let running = false;
      app.addHook('onReady', async () => {
        timer = setInterval(() => {
          if (running) return;
          running = true;
          svc
            .sweep()
            .then((s) => {
              if (s.settled || s.closed || s.errors.length) {
                app.log.info({ ...s, errors: s.errors.map((e) => e.code) }, 'scheduled order query');
              }
            })
            .catch((e: Error) => app.log.error({ err: e }, 'scheduled order query failed'))
            .finally(() => {
              running = false;
            });
        }, cfg.sweepIntervalSeconds * 1000);
        timer.unref();
      });
      app.addHook('onClose', async () => {
        if (timer) clearInterval(timer);
      });
    }
  };
}
