// The catalogue of expected failures. Codes are stable: the CLI, the API, the UI and the hub all use them.
export const messages = {
  UNEXPECTED: { en: 'Unexpected error', zh: '意外错误' },
  MALFORMED: { en: 'Malformed input', zh: '输入格式错误' },
  BAD_SIGNATURE: { en: 'Signature does not verify', zh: '签名验证失败' },
  UNKNOWN_KEY: { en: 'Signing key is not trusted', zh: '签名密钥不受信任' },
  UNKNOWN_DEVICE: { en: 'Device is not known', zh: '设备未登记' },
  DEVICE_DISABLED: { en: 'Device is disabled', zh: '设备已停用' },
  FINE_NOT_FOUND: { en: 'No such fine', zh: '未找到该罚款' },
  FINE_NOT_PAYABLE: {
    en: 'The fine cannot be paid (already paid or cancelled)',
    zh: '该罚款不可缴纳（已缴纳或已撤销）',
  },
  BILL_NOT_FOUND: { en: 'No such bill', zh: '未找到该缴款单' },
  BILL_EXPIRED: { en: 'The bill has expired (valid for 4 hours)', zh: '缴款单已过期（有效期4小时）' },
  BILL_VOIDED: { en: 'The bill has been voided', zh: '缴款单已作废' },
  BILL_PAID: { en: 'The bill is already paid', zh: '缴款单已缴纳' },
  AMOUNT_MISMATCH: { en: 'Amount does not match the bill', zh: '金额与缴款单不符' },
  PAID_AFTER_EXPIRY: { en: 'Payment time is after the bill expired', zh: '支付时间晚于缴款单有效期' },
  PAID_BEFORE_ISSUE: { en: 'Payment time is before the bill was issued', zh: '支付时间早于缴款单开具时间' },
  ALREADY_USED: { en: 'This payment confirmation was already used', zh: '该支付凭证已被使用' },
  BAD_FILE: { en: 'The file has errors; nothing was imported', zh: '文件有错误，未导入任何数据' },
  NOT_FOUND: { en: 'Not found', zh: '未找到' },
  SCHEMA_TOO_NEW: {
    en: 'The database was written by a newer version of finekiosk; upgrade the software',
    zh: '数据库由更新版本的程序写入，请升级软件',
  },
  SCHEMA_MISMATCH: {
    en: 'The database migrations do not match this version',
    zh: '数据库迁移记录与本版本不一致',
  },
  CHAIN_BROKEN: { en: 'The event log chain is broken', zh: '事件日志链已损坏' },
  PRINTER_OFFLINE: { en: 'Printer is offline', zh: '打印机离线' },
  PRINTER_COVER_OPEN: { en: 'Printer cover is open', zh: '打印机盖未关闭' },
  PRINTER_PAPER_END: { en: 'Printer is out of paper', zh: '打印机缺纸' },
  PRINTER_CUTTER_ERROR: { en: 'Printer cutter error', zh: '打印机切刀故障' },
  PRINTER_UNREACHABLE: { en: 'Printer cannot be reached', zh: '无法连接打印机' },
  PRINTER_TIMEOUT: { en: 'Printer did not answer in time', zh: '打印机响应超时' },
  PRINT_FAILED: { en: 'Printing failed', zh: '打印失败' },
  PRINT_QR_TOO_WIDE: {
    en: "The payment code would not fit the printer's print width",
    zh: '二维码超出打印机的打印宽度',
  },
  HUB_UNREACHABLE: { en: 'The hub cannot be reached', zh: '无法连接中心服务器' },
  NOT_ENROLLED: { en: 'This device is not enrolled with a hub', zh: '本设备尚未在中心服务器登记' },
  CLOCK_SKEW: {
    en: "This device's clock is off by more than 5 minutes; correct the time",
    zh: '本设备时钟偏差超过5分钟，请校正时间',
  },
  REPLAYED: { en: 'Request was already seen (replay)', zh: '重复的请求（重放）' },
  SEQ_GAP: { en: 'Events are out of sequence', zh: '事件序号不连续' },
  CODE_INVALID: { en: 'Enrollment code is invalid, used or expired', zh: '登记码无效、已使用或已过期' },
  TOO_LARGE: { en: 'Request is too large', zh: '请求过大' },
  UNAUTHORIZED: { en: 'Not authorized', zh: '未授权' },
  PIN_WRONG: { en: 'Wrong PIN', zh: 'PIN码错误' },
  PIN_WAIT: { en: 'Please wait a moment before the next try', zh: '请稍候再试' },
  LOCKED: {
    en: 'Too many failed attempts; locked for a while. Staff can unlock it on the kiosk machine: finekiosk staff unlock',
    zh: '失败次数过多，已暂时锁定。工作人员可在本机运行 finekiosk staff unlock 解锁',
  },
  WRONG_BILL: { en: 'This confirmation is for a different bill', zh: '该支付凭证不属于当前缴款单' },
  RECEIPT_COPY_LIMIT: {
    en: 'Copies of this receipt have already been printed here; please ask staff for another',
    zh: '此回执已补打过，不能再自助补打；如需再打，请联系工作人员',
  },
  NOT_PAID_YET: { en: 'The bill is not paid yet', zh: '缴款单尚未缴纳' },
  TICKET_INCOMPLETE: {
    en: "For a motor vehicle, give the vehicle id's last 6 and the driver's name and licence number",
    zh: '机动车须填写车架号后6位、当事人姓名和驾驶证号',
  },
  SCAN_UNKNOWN: {
    en: 'This code is not a decision notice, a bill or a payment confirmation',
    zh: '无法识别该条码：请扫描处罚决定书、缴款单或支付凭证',
  },
  SERVICE_UNAVAILABLE: {
    en: 'Service temporarily unavailable',
    zh: '服务暂不可用',
  },
  CHANNEL_ERROR: { en: 'The payment channel refused the request', zh: '支付渠道拒绝了请求' },
  WRONG_MERCHANT: {
    en: 'The notification is for another merchant or app',
    zh: '通知不属于本商户或应用',
  },
  STALE_NOTIFICATION: {
    en: 'The notification timestamp is outside the allowed window',
    zh: '通知时间戳超出允许范围',
  },
  BAD_PLATE: { en: 'Not a valid Chinese plate number', zh: '车牌号格式不正确' },
  UNKNOWN_CODE: { en: 'Unknown violation code', zh: '未知的违法代码' },
  FINE_OUT_OF_RANGE: {
    en: 'Fine amount is outside the range for this violation',
    zh: '罚款金额超出该违法行为的范围',
  },
  NUMBER_NOT_ISSUED: {
    en: 'That decision number was not issued to this device',
    zh: '该决定书编号未分配给本设备',
  },
  BLOCK_ALREADY_USED: {
    en: 'Those decision numbers were handed to this device before and some are used; the device asks again for new ones',
    zh: '该批决定书编号此前已发给本设备且已有使用，设备将重新申请新的编号',
  },
  NUMBERS_EXHAUSTED: {
    en: 'No decision numbers left; connect to the hub for more',
    zh: '决定书编号已用完，请联网获取',
  },
  // ---- recovery and storage (what to do is part of the message) ----
  DB_ROLLED_BACK: {
    en: "This kiosk's database is older than what the hub holds of it (a restored copy or a lost -wal); it issues nothing until recovered: run `finekiosk recover`, or `finekiosk device new` to start as a new device",
    zh: '本机数据库比中心服务器保存的记录旧（恢复了旧备份或丢失了-wal文件），恢复前不能开单：请运行 finekiosk recover，或运行 finekiosk device new 作为新设备重新登记',
  },
  DB_MISSING: {
    en: 'kiosk.db is missing or empty beside an existing device key; nothing was started. Run `finekiosk recover --hub URL` to rebuild it from the hub, or `finekiosk device new` to start as a new device',
    zh: '设备密钥存在但 kiosk.db 缺失或为空，未启动。请运行 finekiosk recover --hub 地址 从中心服务器重建，或运行 finekiosk device new 作为新设备',
  },
  DEVICE_KEY_MISSING: {
    en: 'device.key is missing beside an existing kiosk.db; nothing was started and no new key was made. Put the device key back from its backup, or move kiosk.db aside and run `finekiosk device new` to start as a new device',
    zh: '已有 kiosk.db 但设备密钥 device.key 缺失，未启动，也未生成新密钥。请从备份放回设备密钥，或将 kiosk.db 移走后运行 finekiosk device new 作为新设备',
  },
  RECOVERY_FAILED: {
    en: 'Recovery stopped and changed nothing; the events the hub sent do not form a valid chain',
    zh: '恢复已停止，未做任何更改：中心服务器发来的事件链无效',
  },
  DISK_FULL: {
    en: 'The disk is full; nothing was written. Free space in the data folder (old exports, logs), then try again',
    zh: '磁盘已满，未写入任何数据。请清理数据目录所在磁盘（旧的导出文件、日志）后重试',
  },
  DB_CORRUPT: {
    en: 'The database file is damaged; stop the kiosk, keep the file, restore the latest backup and run `finekiosk recover`',
    zh: '数据库文件已损坏。请停止本机，保留该文件，恢复最近的备份后运行 finekiosk recover',
  },
  DB_BUSY: {
    en: 'The database is busy in another process for too long; try again, and check no second kiosk runs on this data folder',
    zh: '数据库被其他进程长时间占用，请重试，并确认没有第二个程序在使用同一数据目录',
  },
  CLOCK_OFF: {
    en: "This kiosk's clock is wrong (more than 5 minutes off the hub's, or earlier than records it already wrote); bills are not issued until the time is corrected",
    zh: '本机时钟不准（与中心服务器相差超过5分钟，或早于本机已写入的记录），校正时间前不能开单',
  },
  BILL_FROM_FUTURE: {
    en: "The bill's issue time is ahead of the hub's clock: the issuing device's clock is wrong. Ask staff for a new bill",
    zh: '缴款单的开具时间晚于中心服务器时间（开单设备时钟不准），请工作人员重新开具',
  },
  DEVICE_HAS_EVENTS: {
    en: 'The hub holds events of this device; it cannot be removed (disable it instead)',
    zh: '中心服务器保存有该设备的事件，不能删除（请改为停用）',
  },
  HUB_STARTING: {
    en: 'The hub is starting on this data folder; try again in a moment',
    zh: '中心服务器正在此数据目录上启动，请稍后重试',
  },
  HUB_DATA_LOCKED: {
    en: 'Another process holds the hub data folder (one process per embedded database). If no hub runs there, run `finekiosk hub unlock`',
    zh: '另一个进程正在使用中心服务器数据目录（嵌入式数据库只允许一个进程）。如该目录上并无中心服务器在运行，请运行 finekiosk hub unlock',
  },
  HUB_DATA_DAMAGED: {
    en: "The hub's embedded database folder is damaged; restore it from a backup (see docs/operations.md)",
    zh: '中心服务器的嵌入式数据库目录已损坏，请从备份恢复（见 docs/operations.md）',
  },
  // Integration API and operator console (hub/integration, hub/console).
  FORBIDDEN: { en: 'Not allowed for this key or role', zh: '该密钥或角色无权执行此操作' },
  KEY_REVOKED: { en: 'The API key has been revoked', zh: '该API密钥已被吊销' },
  REVISION_STALE: {
    en: 'The hub holds a newer or different revision of this fine',
    zh: '中心已有该罚款更新或不同的修订版本',
  },
  FINE_PAID: { en: 'The fine is already paid', zh: '该罚款已缴纳' },
  BATCH_RUNNING: { en: 'This batch is still being applied', zh: '该批次仍在处理中' },
  LOGIN_LOCKED: {
    en: 'Too many failed logins; try again later',
    zh: '登录失败次数过多，请稍后再试',
  },
  STATEMENT_DUPLICATE: {
    en: 'The channel statement lists this transaction more than once',
    zh: '渠道对账单重复列出了该笔交易',
  },
  BATCH_ID_REUSED: {
    en: 'This batch number was already used for other content or by another sender; nothing was applied',
    zh: '该批次号已用于其他内容或其他发送方，未处理任何数据',
  },
  CSRF: { en: 'The request is missing its form token', zh: '请求缺少表单令牌' },
  LOGIN_FAILED: { en: 'Wrong user name or password', zh: '用户名或密码错误' },
  KEY_RETIRED: {
    en: 'The signing key was retired before this payment',
    zh: '签名密钥在该笔支付之前已停用',
  },
  BILL_CONFLICT: {
    en: 'Another bill with this number is already known; this one is refused',
    zh: '已存在同一编号的另一张缴款单，本缴款单不予受理',
  },
  FINE_PAYMENT_PENDING: {
    en: 'Another bill of this fine is paid or being paid',
    zh: '该罚款的另一张缴款单已缴纳或正在缴纳',
  },
  NOT_OWN_BILL: {
    en: 'The bill was not issued by this device',
    zh: '该缴款单不是本设备开具的',
  },
  INSECURE_HUB_URL: {
    en: 'A hub address off this machine must use https',
    zh: '非本机的中心服务器地址必须使用https',
  },
  KEY_CONFLICT: {
    en: 'A different key with this key id is already trusted',
    zh: '已信任另一把同编号的密钥',
  },
  HUB_ANSWER_UNVERIFIED: {
    en: "The hub's answer is not signed by a trusted hub key; nothing was changed",
    zh: '中心服务器的应答未经受信任的中心密钥签名，未做任何更改',
  },
  // Payment channels (hub/channels, hub/pay).
  CHANNEL_UNREACHABLE: {
    en: 'The payment channel cannot be reached; try again shortly',
    zh: '暂时无法连接支付渠道，请稍后再试',
  },
  REFUND_FAILED: { en: 'The channel did not accept the refund', zh: '支付渠道未受理退款' },
  APPROVAL_REQUIRED: {
    en: 'This refund waits for an operator to approve it',
    zh: '该退款需操作员批准后执行',
  },
} as const;

export type ErrorCode = keyof typeof messages;
export const errorCodes = Object.keys(messages) as ErrorCode[];
