// Lint rule: a `Result` (protocol/result.ts: `{ ok: true, value } | { ok: false, error }`) returned by a call
// and dropped on the floor. An expected failure that nobody reads is a failure lost in silence; a caller that
// really means to drop one says so with `void`.
import { ESLintUtils } from '@typescript-eslint/utils';

/** True when every member of the type is an object with `ok`, and members with `value` and `error` both occur. */
function isResultType(type) {
  const members = type.isUnion() ? type.types : [type];
  if (!members.every((t) => t.getProperty('ok'))) return false;
  return members.some((t) => t.getProperty('value')) && members.some((t) => t.getProperty('error'));
}

export default {
  meta: {
    type: 'problem',
    docs: { description: 'a Result returned by a call must be read (or dropped on purpose with void)' },
    messages: {
      unread:
        'This call returns a Result that is never read: check .ok (an expected failure must not be lost), or write `void` before it to drop it on purpose.',
    },
    schema: [],
  },
  create(context) {
    const services = ESLintUtils.getParserServices(context);
    const checker = services.program.getTypeChecker();
    return {
      ExpressionStatement(node) {
        let expr = node.expression;
        if (expr.type === 'ChainExpression') expr = expr.expression;
        const call = expr.type === 'AwaitExpression' ? expr.argument : expr;
        const inner = call.type === 'ChainExpression' ? call.expression : call;
        if (inner.type !== 'CallExpression') return;
        const type = checker.getTypeAtLocation(services.esTreeNodeToTSNodeMap.get(expr));
        if (isResultType(type)) context.report({ node, messageId: 'unread' });
      },
    };
  },
};
