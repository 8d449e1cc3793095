// Simplified Chinese for the API's problem details (see problems.js): lead-ins by problem type and
// status, field names, and the services' message templates with their parameters. A template's
// regular expression matches the API's whole English text; `x` offers field names (x.field),
// bilingual stage-model names (x.name), numbers, money and days (x.num, x.money, x.day), times in
// the branch's zone (x.when), a nested message (x.say) and the problem's facts (x.info).

/** What kind of refusal, for a text the catalogue does not know (shown before the API's words). */
export const titles = {
  "validation-failed": "输入有误",
  "bad-request": "请求有误",
  "not-found": "未找到",
  "already-exists": "记录已存在",
  conflict: "记录已被他人修改",
  "permission-denied": "无权执行此操作",
  unauthenticated: "未登录或登录已失效",
  "failed-precondition": "当前无法执行此操作",
  "resource-exhausted": "已达上限",
  "dependency-unavailable": "后台服务暂时不可用",
  "idempotency-key-reused": "重复提交",
};

export const statusTitles = {
  400: "请求有误", 401: "未登录或登录已失效", 403: "无权执行此操作", 404: "未找到", 409: "冲突",
  412: "记录已被他人修改", 413: "内容过大", 415: "格式不受支持", 422: "当前无法执行此操作", 428: "缺少版本号",
  429: "请求过于频繁", 500: "服务器内部错误", 503: "服务暂时不可用",
};

export const unknown = (title, english) => `${title}：${english}`;
export const part = (label, message) => `${label}：${message}`;
export const separator = "；";

/** Refusals whose type (or status) says all the reader needs, whatever the English text. */
export const byType = {
  "rate-limited": () => "请求过于频繁：请稍候一分钟再试。",
  "ip-not-allowed": () => "您所在部门不允许从当前网络地址访问。",
  "password-change-required": () => "请先修改密码。",
  "idempotency-key-in-use": () => "相同的请求正在处理中：请稍后再试。",
  "idempotency-key-reused": () => "该幂等键已用于另一项请求。",
  "dependency-unavailable": () => "后台服务暂时不可用：请稍后重试。",
  "rate-limiter-unavailable": () => "服务暂时不可用：请稍后重试。",
  "idempotency-unavailable": () => "服务暂时不可用：请稍后重试。",
  "audit-unavailable": () => "审计日志暂时无法记录此次查看：请稍后重试。",
};

export const byStatus = {
  412: () => "记录已被他人修改：请刷新后重试。",
  428: () => "缺少版本号：请刷新后重试。",
  429: () => "请求过于频繁：请稍后再试。",
  500: () => "服务器内部错误。",
  503: () => "服务暂时不可用：请稍后重试。",
};

/** Field names as the console's forms label them. */
export const fields = {
  legal_name: "客户全称", credit_code: "统一社会信用代码", industry: "行业", tier: "客户等级", address: "地址",
  "address.text": "地址", contacts: "联系人", full_name: "姓名", phones: "电话", phone: "电话", emails: "邮箱",
  email: "邮箱", title: "职务", name: "名称", amount: "金额", "amount.amount": "金额", currency: "币种",
  expected_close_date: "预计成交日期", customer_id: "客户", notes: "内容", occurred_at: "发生时间", kind: "类型",
  report_date: "日报日期", summary: "今日总结", tomorrow_plan: "明日计划", problems: "遇到的问题",
  owner_id: "负责人", login: "账号", display_name: "姓名", unit_id: "部门", roles: "角色",
  initial_password: "初始密码", new_password: "新密码", current_password: "当前密码", password: "密码",
  version: "版本", "If-Match": "版本", reading: "定位", target_stage: "目标阶段", time_zone: "时区",
  ip_allowlist: "IP 白名单", parent_id: "上级部门", permissions: "权限", ttl_days: "有效天数",
  start_date: "开始日期", end_date: "结束日期", lines: "明细行", quantity: "数量", reason: "原因",
  comment: "意见", note: "附言", max_claims_per_day: "每日领取上限", max_customers_per_rep: "持有客户上限",
  reclaim_cooldown_days: "重新领取冷静期", assignee_id: "执行人", assign_to: "分配给", due_at: "截止时间",
  description: "说明", company_name: "公司名称", contact_name: "联系人", next_follow_up_on: "下次跟进日期",
  rep_id: "销售代表", user_id: "用户", code: "代码", payment_reference: "付款凭证号", paid_on: "付款日期",
  body: "正文", until: "截止", since: "起始", file: "文件", contract_id: "合同", channel: "渠道",
};

// "Budget / 预算 is required": a gate's fact, named in both languages by the stage model.
const MISSING = /^(?<name>[^:;]+ \/ [^:;]+) is required$/;
// The existing record's unit: a problem's `info` and an import's refused row spell it differently.
const unitOf = (info) => info.existing_owner_unit || info.existing_owner_unit_name || "";
const CATEGORIES = { travel: "差旅费", communication: "通讯费", entertainment: "招待费", other: "其他" };
const KINDS = { visit: "拜访", meeting: "会面", call: "电话", email: "邮件", wechat: "微信", other: "其他" };
const kinds = (list) => String(list).split("/").map((k) => KINDS[k] || k).join("/");

/** Refusals by their specific `code`, told from their values in `info` (the English text is not
 * read): (info, x, errors) -> the Chinese text, or null to fall back to the templates below. */
export const byCode = {
  POOL_CUSTOMER_CAP: (i) => `您已持有 ${i.held} 个客户，达到上限（${i.cap} 个）：请先释放部分客户。`,
  POOL_DAILY_CLAIMS: (i) => `您今天已领取 ${i.claims_today} 个客户，达到每日上限（${i.cap} 个）：请明天再领取。`,
  POOL_RECLAIM_COOLDOWN: (i, x) => `您释放的客户须到 ${x.when(i.claimable_from)} 之后才能重新领取。`,
  STALE_VERSION: (i) => `记录已被他人修改（当前为第 ${i.current_version} 版，您提交的是第 ${i.sent_version} 版）：请刷新后重试。`,
  STAGE_GATE_UNMET: (i, x, errors) => {
    const list = (value) => String(value || "").split(",").filter(Boolean);
    const said = (code) => errors.find((e) => e.field === code || e.field === `facts.${code}`)?.message;
    const label = (code) => {
      const name = MISSING.exec(String(said(code) || ""))?.groups.name;
      if (name) return x.name(name);
      return code.startsWith("custom_fields.") ? `${code.slice(14)}（自定义字段）` : x.field(code);
    };
    const missing = list(i.missing_facts).map(label);
    const invalid = list(i.invalid_facts).map((code) => (said(code) ? `${label(code)}：${x.say(said(code))}` : `${label(code)}填写有误`));
    const skipped = list(i.unskippable_stages).map((stage) => `阶段“${stage}”不可跳过`);
    const parts = [missing.length ? `还缺少${missing.join("、")}` : "", ...invalid, ...skipped].filter(Boolean);
    return `无法进入下一阶段：${parts.join("；")}。`;
  },
  TARGET_SPLIT_MISMATCH: (i, x) => {
    const over = String(i.difference).startsWith("-");
    return `各代表目标合计 ${x.num(i.total)}，比团队目标${over ? "多" : "少"} ${x.num(String(i.difference).replace(/^-/, ""))}`
      + `（团队目标 ${x.num(i.target)}）：分解之和须等于团队目标。`;
  },
  EXPENSE_DAILY_LIMIT: (i, x) => `${x.day(i.day)} 的${CATEGORIES[i.category] || i.category}合计 ${x.money(i.spent, i.currency)}，`
    + `超过每日限额 ${x.money(i.limit, i.currency)}。`,
};

/** Field violations by their `errors[].code` (the shared checks' codes), when the text is unknown. */
export const byViolation = {
  REQUIRED: "必填",
  TOO_LONG: "内容过长",
  INVALID_FORMAT: "格式不正确",
  OUT_OF_RANGE: "超出允许范围",
};

/** [the API's English text (whole), its words in Chinese]. First match wins. */
export const messages = [
  // Fields: what a value must be.
  [/^is required$/, () => "必填"],
  [/^must not be empty$|^must be non-empty text$/, () => "不能为空"],
  [MISSING, (g, x) => `请填写${x.name(g.name)}`],
  [/^is required to enter this stage \(custom field\)$/, () => "进入此阶段必须填写（自定义字段）"],
  [/^full name is required$/, () => "请填写姓名"],
  [/^the registered legal name is required$/, () => "请填写企业注册名称"],
  [/^the org unit is required$/, () => "请选择部门"],
  [/^must be at most (?<n>\d+) characters$|^at most (?<m>\d+) characters$/, (g) => `最多 ${g.n || g.m} 个字符`],
  [/^must be at least (?<n>\d+) characters$/, (g) => `至少 ${g.n} 个字符`],
  [/^legal name is required$/, () => "请填写客户全称"],
  [/^legal name exceeds (?<n>\d+) characters$/, (g) => `客户全称不能超过 ${g.n} 个字符`],
  [/^address exceeds (?<n>\d+) characters$/, (g) => `地址不能超过 ${g.n} 个字符`],
  [/^address text is required when an address is given$/, () => "请填写地址"],
  [/^coordinates need an address$/, () => "填写坐标时须同时填写地址"],
  [/^latitude and longitude must be given together$/, () => "纬度和经度须同时填写"],
  [/^at most (?<n>\d+) tags are allowed, got (?<m>\d+)$/, (g) => `最多 ${g.n} 个标签，当前 ${g.m} 个`],
  [/^(tier|role|sort|format) must be one of (?<list>.+)$/, (g) => `须为以下之一：${g.list}`],
  [/^must be a date( YYYY-MM-DD| such as [\d-]+, got .*)?$/, () => "须为日期（年-月-日）"],
  [/^must be a whole number$/, () => "须为整数"],
  [/^must be a finite (number|Decimal)$|^.+ is not a decimal number$/, () => "须为有效数字"],
  [/^must be greater than (0|zero)$/, () => "须大于 0"],
  [/^must not be negative$/, () => "不能为负数"],
  [/^must be between (?<a>-?[\d.]+) and (?<b>-?[\d.]+)$/, (g) => `须在 ${g.a} 到 ${g.b} 之间`],
  [/^must be one of (?<list>.+)$/, (g) => `须为以下之一：${g.list}`],
  [/^must be an e-mail address$/, () => "须为邮箱地址"],
  [/^'(?<raw>.*)' is not an e-mail address$/, (g) => `“${g.raw}”不是有效的邮箱地址`],
  [/^'(?<raw>.*)' is not a phone number$/, (g) => `“${g.raw}”不是有效的电话号码`],
  [/^phone number is empty$/, () => "电话号码为空"],
  [/^credit code must have 18 characters, got (?<n>\d+)$/, (g) => `统一社会信用代码须为 18 位，当前为 ${g.n} 位`],
  [/^credit code contains characters outside GB 32100 alphabet: (?<bad>.*)$/,
    (g) => `统一社会信用代码含有 GB 32100 规定之外的字符：${g.bad}`],
  [/^must not be before (?<other>[\w.]+)$/, (g, x) => `不能早于${x.field(g.other)}`],
  [/^must not be more than (?<n>\d+) days in the past$/, (g) => `不能早于 ${g.n} 天前`],
  [/^must be a positive number of days$/, () => "须为正整数天数"],
  [/^must carry the numeric version you read$/, () => "须为您读取到的版本号"],
  [/^must not contain the NUL character$/, () => "不能包含 NUL 字符"],
  [/^must differ from the current password$/, () => "新密码不能与当前密码相同"],
  [/^is not the current password$/, () => "当前密码不正确"],
  [/^must not contain the login$/, () => "不能包含账号"],
  [/^is a commonly used password$/, () => "这是常见密码，请换一个"],
  [/^(?<f>latitude|longitude) must be between (?<a>-?\d+) and (?<b>-?\d+)$/,
    (g) => `${g.f === "latitude" ? "纬度" : "经度"}须在 ${g.a} 到 ${g.b} 之间`],
  [/^at most (?<n>\d+) contacts per customer$/, (g) => `每个客户最多 ${g.n} 个联系人`],
  [/^(?<text>[\w.[\]]+): no such field$/, (g) => `未知字段：${g.text}`],
  [/^invalid request: (?<text>.+)$/, (g, x) => `请求有误：${x.say(g.text)}`],
  [/^login '(?<login>.+)' is taken$/, (g) => `账号“${g.login}”已被占用`],
  [/^must be 1-(?<n>\d+) characters without spaces$/, (g) => `须为 1 到 ${g.n} 个字符，不能含空格`],
  [/^at least one role is required$/, () => "至少选择一个角色"],
  [/^'(?<cidr>.+)' is not a valid CIDR$/, (g) => `“${g.cidr}”不是有效的 CIDR 网段`],

  // Requests: what is missing.
  [/^missing required field\(s\): (?<names>.+)$/, (g, x) => `请填写：${x.fields(g.names)}`],
  [/^send If-Match with the version you read/, () => "缺少版本号：请刷新后重试。"],
  [/^invalid login or password$/, () => "账号或密码错误。"],
  [/^account is locked after repeated failures/, () => "多次登录失败，账号已锁定：请联系管理员或稍后再试。"],
  [/^too many failed logins for this login from this address; try again in (?<n>\d+) minutes$/,
    (g) => `登录失败次数过多：请 ${g.n} 分钟后再试。`],
  [/^rate limit of (?<n>\d+) requests per minute exceeded$/, (g) => `请求过于频繁（每分钟最多 ${g.n} 次）：请稍后再试。`],
  [/^access from (?<ip>.+) is not allowed for (your|this) unit$/, (g) => `您所在部门不允许从 ${g.ip} 访问。`],
  [/^password change required/, () => "请先修改密码。"],
  [/^missing (credentials|bearer token)/, () => "请先登录。"],
  [/^a backing service is unavailable; try again$/, () => "后台服务暂时不可用：请稍后重试。"],
  [/^internal error$/, () => "服务器内部错误。"],

  // Data scope and permissions.
  [/^missing permission (?<p>[\w:]+)$/, (g) => `您没有执行此操作的权限（${g.p}）。`],
  [/^customer \S+ is outside your data scope/, () => "该客户不在您的数据范围内。"],
  [/^owner \S+ is outside your data scope$/, () => "该负责人不在您的数据范围内。"],
  [/^this (?<what>opportunity|lead) is outside your scope$/, (g) => `该${g.what === "lead" ? "线索" : "商机"}不在您的数据范围内。`],
  [/^(user \S+|user|the assignee) is outside your (data )?scope$/, () => "该用户不在您的数据范围内。"],
  [/^this user's calendar is outside your data scope$/, () => "该用户的日程不在您的数据范围内。"],
  [/^(org unit \S+) is outside your (data scope|subtree)$/, () => "该部门不在您的管理范围内。"],
  [/^(?<p>[\w:]+) does not cover this (contract|unit|receipt)$/, (g) => `您的权限（${g.p}）不覆盖该记录。`],
  [/^only the owner or his manager may (?<action>.+)$/, () => "只有负责人或其上级可以执行此操作。"],
  [/^cannot grant (roles|a key) carrying more than you hold: (?<p>.+)$|^cannot grant a key more than you hold: (?<q>.+)$/,
    (g) => `不能授予超出您自身的权限：${g.p || g.q}`],

  // Duplicates and sharing.
  [/^customer already exists: '(?<name>.*)' \(\S+\), (?<holder>.+)$/, (g, x) => (g.holder === "in the public pool"
    ? `客户已存在：“${g.name}”在公海中，请从公海领取。`
    : `客户已存在：“${g.name}”的负责人是 ${x.info.existing_owner_name || g.holder.replace(/^owned by /, "")}`
      + `${unitOf(x.info) ? `（${unitOf(x.info)}）` : ""}，可以请其或您的上级共享给您。`)],
  [/^a customer with this normalised name was just created or renamed$/, () => "刚刚已有同名客户被创建或改名为此名称。"],
  [/^you already asked to share this customer; wait for the decision$/, () => "您已申请共享该客户：请等待处理结果。"],
  [/^the customer is in the public pool: claim it instead$/, () => "该客户在公海中：请直接领取。"],
  [/^you own this customer$/, () => "该客户已归您负责。"],
  [/^the customer is already shared with you as (?<role>\w+)$/, () => "该客户已共享给您。"],
  [/^a customer can be shared with at most (?<n>\d+) people$/, (g) => `一个客户最多共享给 ${g.n} 人。`],

  // The public pool: caps and cool-down.
  [/^rep already holds (?<held>\d+) customers \(cap (?<cap>\d+)\)$/,
    (g) => `您已持有 ${g.held} 个客户，达到上限（${g.cap} 个）：请先释放客户再领取。`],
  [/^rep already claimed (?<n>\d+) customers today \(cap (?<cap>\d+)\)$/,
    (g) => `您今天已领取 ${g.n} 个客户，达到每日上限（${g.cap} 个）：请明天再领取。`],
  [/^previous owner may re-claim only after (?<until>\S+)$/,
    (g, x) => `您释放的客户须到 ${x.when(g.until)} 之后才能重新领取。`],
  [/^(?<owner>.+) already holds (?<held>\d+) customers, the cap of the pool policy is (?<cap>\d+)$/,
    (g) => `${g.owner} 已持有 ${g.held} 个客户，达到公海规则的上限（${g.cap} 个）。`],
  [/^customer is not in the public pool$/, () => "该客户已不在公海中。"],
  [/^customer was claimed by someone else$/, () => "该客户已被他人领取。"],
  [/^customer is already in the public pool$/, () => "该客户已在公海中。"],
  [/^the caller has no org unit(, so no pool policy applies| to own customers)$/, () => "您尚未分配部门。"],

  // Stale versions.
  [/^the record changed \(version (?<now>\d+), you sent (?<sent>\d+)\); reload and retry$/,
    (g) => `记录已被他人修改（当前为第 ${g.now} 版，您提交的是第 ${g.sent} 版）：请刷新后重试。`],
  [/^customer was modified concurrently: expected version (?<sent>\d+), current is (?<now>\d+)$/,
    (g) => `记录已被他人修改（当前为第 ${g.now} 版，您提交的是第 ${g.sent} 版）：请刷新后重试。`],
  [/^[^:]*\b(modified|changed|decided)\b[^:]*concurrently/, () => "记录已被他人修改：请刷新后重试。"],
  [/^(.+) (is at version|changed since version) (?<a>\d+)/, () => "记录已被他人修改：请刷新后重试。"],

  // Targets: the decomposition must add up.
  [/^children of .+ add up to (?<total>[\d.]+), (?<gap>[\d.]+) (?<way>short of|over) the target (?<goal>[\d.]+) \(difference -?[\d.]+\)$/,
    (g, x) => `各代表目标合计 ${x.num(g.total)}，比团队目标${g.way === "over" ? "多" : "少"} ${x.num(g.gap)}`
      + `（团队目标 ${x.num(g.goal)}）：分解之和须等于团队目标。`],

  // The opportunity's gates.
  [/^cannot enter stage '(?<stage>[^']+)': (?<rest>.+)$/, (g, x) => {
    const parts = g.rest.split(/;\s+/).map((p) => p.replace(/^[\w.]+: /, ""));
    const missing = parts.map((p) => MISSING.exec(p)?.groups.name).filter(Boolean).map(x.name);
    const other = parts.filter((p) => !MISSING.test(p)).map(x.say);
    return `无法进入下一阶段：${[missing.length ? `还缺少${missing.join("、")}` : "", ...other].filter(Boolean).join("；")}。`;
  }],
  [/^stage '(?<stage>[^']+)' cannot be skipped$/, (g) => `阶段“${g.stage}”不可跳过`],
  [/^needs at least (?<n>\d+) (?<kinds>[\w/]+) activities, has (?<has>\d+)$/,
    (g) => `至少需要 ${g.n} 次${kinds(g.kinds)}记录，目前 ${g.has} 次`],
  [/^is not a fact of this stage model$/, () => "不是该阶段模型的要素"],
  [/^opportunity is closed \((?<stage>\w+)\); it can no longer change$/, () => "商机已关闭，不能再修改。"],
  [/^the opportunity is closed \((?<status>\w+)\); it cannot be (changed|quoted)$/, () => "商机已关闭，不能再修改。"],

  // Expense claims.
  [/^(?<cat>\w+) on (?<day>[\d-]+) comes to (?<spent>[\d.]+) (?<cur>[A-Z]{3}), above the daily limit of (?<limit>[\d.]+) [A-Z]{3}$/,
    (g, x) => `${x.day(g.day)} 的${CATEGORIES[g.cat] || g.cat}合计 ${x.money(g.spent, g.cur)}，超过每日限额 ${x.money(g.limit, g.cur)}。`],
  [/^attach at least one receipt$/, () => "请至少附上一张凭证"],
  [/^cannot be in the future$/, () => "不能晚于今天"],
  [/^nobody approves his own expense claim$/, () => "不能审批自己的报销单。"],
  [/^nobody pays out his own expense claim$/, () => "不能为自己的报销单付款。"],
  [/^is required \(at most (?<n>\d+) characters\)$/, (g) => `必填（最多 ${g.n} 个字符）`],
  [/^the expense policy in force( \(\S+\))? is in (?<cur>[A-Z]{3}): claim in [A-Z]{3}$/, (g) => `报销规则以 ${g.cur} 计：请用 ${g.cur} 报销。`],

  // Field work: check-ins, follow-ups, daily reports, tasks.
  [/^an open check-in at this customer already exists$/, () => "您在该客户处已有未签退的签到。"],
  [/^no open check-in at this customer$/, () => "您在该客户处没有未签退的签到。"],
  [/^a report for this date already exists$/, () => "该日期的日报已提交。"],
  [/^the report's local day has closed$|^the day was closed and recorded as missing$/, () => "该日已结束，日报已记为缺交。"],
  [/^the report's local day has not ended yet$/, () => "该日尚未结束。"],
  [/^cannot (?<action>\w+) a task that is (?<status>\w+)$/, () => "该任务当前状态下不能执行此操作。"],
  [/^only the assignee can (?<action>\w+) this task$/, () => "只有任务执行人可以执行此操作。"],
  [/^your user is not known to activities yet; try again shortly$/, () => "您的账号尚未同步：请稍后再试。"],
];
