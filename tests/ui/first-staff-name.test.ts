// The first-run staff member is greeted in the chosen language only: the name is a staff number and the
// greeting names the role, so 中文 shows no English ("Staff 1，您好" was the fault).
import { describe, expect, it } from 'vitest';
import { FIRST_STAFF_NAME } from '../../main/ui/launch.ts';
import { setupI18n } from '../../renderer/src/i18n.ts';

describe('first-run staff greeting', () => {
  it('is language-neutral in the name and greets by role in 中文 and English', async () => {
    expect(FIRST_STAFF_NAME).toMatch(/^[0-9]+$/);
    const i18n = setupI18n();
    await i18n.changeLanguage('zh-CN');
    const zh = i18n.t('staff.hello', { name: FIRST_STAFF_NAME });
    expect(zh).toBe(`工作人员 ${FIRST_STAFF_NAME}，您好`);
    expect(zh).not.toMatch(/[A-Za-z]/);
    await i18n.changeLanguage('en');
    expect(i18n.t('staff.hello', { name: FIRST_STAFF_NAME })).toBe(`Hello, staff member ${FIRST_STAFF_NAME}`);
  });
});
