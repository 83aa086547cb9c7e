// A channel's refusal, kept as the channel said it (its code and message) and told to the payer in both
// languages. The meanings of the common codes come from the channels' error code tables:
// Alipay 公共错误码 / alipay.trade.* 业务错误码 (opendocs.alipay.com), WeChat Pay v3 错误码
// (pay.weixin.qq.com/doc/v3/merchant/4012081709).
import { messages } from '../../protocol/errors.ts';
import type { Failure } from '../../protocol/result.ts';
import type { Channel } from '../../protocol/ids.ts';

interface Meaning {
  en: string;
  zh: string;
}

const MEANINGS: Record<string, Meaning> = {
  'ACQ.ACCESS_FORBIDDEN': {
    en: 'the merchant may not use this payment method now',
    zh: '商户暂无权使用该支付方式',
  },
  'ACQ.SYSTEM_ERROR': { en: 'the channel had a system error', zh: '支付渠道系统繁忙' },
  'ACQ.TRADE_HAS_SUCCESS': { en: 'this order is already paid', zh: '该订单已支付' },
  'ACQ.TRADE_HAS_CLOSE': { en: 'this order is closed', zh: '该订单已关闭' },
  'ACQ.TRADE_NOT_EXIST': { en: 'the channel has no such order', zh: '支付渠道无此订单' },
  'ACQ.TRADE_STATUS_ERROR': { en: 'the order is in the wrong state', zh: '订单状态不允许此操作' },
  'ACQ.SELLER_BALANCE_NOT_ENOUGH': {
    en: 'the merchant balance is too low to refund',
    zh: '商户余额不足，无法退款',
  },
  'ACQ.REFUND_AMT_NOT_EQUAL_TOTAL': { en: 'the refund amount differs', zh: '退款金额不一致' },
  'isv.invalid-signature': { en: 'the request signature was refused', zh: '请求签名未通过验证' },
  'isv.invalid-app-id': { en: 'the app id is not valid', zh: '应用ID无效' },
  'aop.ACQ.SYSTEM_ERROR': { en: 'the channel had a system error', zh: '支付渠道系统繁忙' },
  FREQUENCY_LIMITED: { en: 'too many requests; the channel asks to wait', zh: '请求过于频繁，请稍后再试' },
  SIGN_ERROR: { en: 'the request signature was refused', zh: '请求签名未通过验证' },
  SYSTEM_ERROR: { en: 'the channel had a system error', zh: '支付渠道系统繁忙' },
  ORDERPAID: { en: 'this order is already paid', zh: '该订单已支付' },
  ORDER_CLOSED: { en: 'this order is closed', zh: '该订单已关闭' },
  ORDER_NOT_EXIST: { en: 'the channel has no such order', zh: '支付渠道无此订单' },
  NOT_ENOUGH: { en: 'the merchant balance is too low to refund', zh: '商户余额不足，无法退款' },
  NO_AUTH: { en: 'the merchant may not use this function', zh: '商户无权使用该功能' },
  MCH_NOT_EXISTS: { en: 'the merchant id is not known', zh: '商户号不存在' },
  APPID_MCHID_NOT_MATCH: { en: 'app id and merchant id do not match', zh: 'AppID与商户号不匹配' },
  PARAM_ERROR: { en: 'the channel refused a parameter', zh: '参数错误' },
  INVALID_REQUEST: { en: 'the channel refused the request', zh: '请求不符合要求' },
};

/** What the channel said: its code (sub_code for Alipay) and message as given. */
export interface ChannelRefusal {
  channel: Channel;
  /** The operation, e.g. "precreate", "refund". */
  operation: string;
  code: string;
  message?: string;
  httpStatus?: number;
}

/**
 * CHANNEL_ERROR with the channel's own code and message kept in `details` and shown in both
 * languages: the catalogue text, the meaning of a known code, and the code itself.
 */
export function channelFailure(r: ChannelRefusal): Failure {
  const m = messages.CHANNEL_ERROR;
  const meaning = MEANINGS[r.code];
  const name = r.channel === 'alipay' ? { en: 'Alipay', zh: '支付宝' } : { en: 'WeChat Pay', zh: '微信支付' };
  const en = `${m.en} (${name.en} ${r.code}${meaning ? `: ${meaning.en}` : ''})`;
  const zh = `${m.zh}（${name.zh} ${r.code}${meaning ? `：${meaning.zh}` : r.message ? `：${r.message}` : ''}）`;
  return {
    code: 'CHANNEL_ERROR',
    message: en,
    messageZh: zh,
    details: {
      channel: r.channel,
      operation: r.operation,
      channelCode: r.code,
      ...(r.message ? { channelMessage: r.message } : {}),
      ...(r.httpStatus ? { httpStatus: r.httpStatus } : {}),
    },
  };
}
