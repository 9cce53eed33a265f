"""The rules table: every rule SunVote enforces or warns about, with its legal or practical source.

Each refusal (:class:`sunvote.domain.errors.DomainError`) and each warning names one of these codes,
so a rule can be found from its code and re-checked against its source when the law changes
(the Organic Law of Villagers' Committees was amended on 2025-10-28; article numbers below are
those of the 2018 text, see docs/rules.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sunvote.domain.errors import N_


class RuleKind(StrEnum):
    """How the system applies a rule."""

    REFUSAL = "refusal"  # the action is refused and nothing is written
    WARNING = "warning"  # shown, never blocks
    SETTING = "setting"  # a per-township setting with a default and legal bounds


@dataclass(frozen=True)
class Rule:
    """One rule: ``code`` is what errors carry, ``title`` and ``source`` are message ids."""

    code: str
    kind: RuleKind
    title: str
    source: str


LAW = N_("《村民委员会组织法》（2018年修正）")
ART24 = N_("《村民委员会组织法》第二十四条")
ART25 = N_("《村民委员会组织法》第二十五条")
ART26 = N_("《村民委员会组织法》第二十六条")
ART32 = N_("《村民委员会组织法》第三十二条")
LOCAL = N_("莲都区阳光票决制六步程序（地方实践，本系统设计）")

RULES: tuple[Rule, ...] = (
    Rule("procedure.step_order", RuleKind.REFUSAL,
         N_("六个步骤必须依次进行，不得跳过"), LOCAL),
    Rule("procedure.role", RuleKind.REFUSAL,
         N_("每个步骤只能由负责该步骤的角色办理"), LOCAL),
    Rule("procedure.closed", RuleKind.REFUSAL,
         N_("已撤回、已终止、未通过或已完成的事项不再办理任何步骤"), LOCAL),
    Rule("procedure.required_fields", RuleKind.REFUSAL,
         N_("每个步骤必须填写规定的内容"), LOCAL),
    Rule("procedure.category_10_reason", RuleKind.REFUSAL,
         N_("第十类事项必须书面说明其属于必须票决事项的理由"), ART24),
    Rule("procedure.merge_propose_discuss", RuleKind.REFUSAL,
         N_("提议与商议合并办理须乡镇开启“一肩挑”设置，且书记兼任村委会主任"), LOCAL),
    Rule("procedure.breach_step", RuleKind.REFUSAL,
         N_("程序违规只能退回到已经办理过的步骤"), LOCAL),
    Rule("procedure.repropose_rejected_only", RuleKind.REFUSAL,
         N_("只有未通过的事项可以重新提议"), LOCAL),
    Rule("procedure.concurrent_change", RuleKind.REFUSAL,
         N_("事项已被他人同时修改，请刷新后重试"), N_("本系统设计")),
    Rule("input.invalid", RuleKind.REFUSAL,
         N_("输入内容必须完整、格式正确、长度合理"), N_("本系统设计")),
    Rule("access.village", RuleKind.REFUSAL,
         N_("只能办理本人任职村（乡镇）的事项"), N_("本系统设计")),
    Rule("access.login", RuleKind.REFUSAL,
         N_("办理事项须先登录"), N_("本系统设计")),
    Rule("access.login_attempts", RuleKind.REFUSAL,
         N_("连续五次密码错误后账号锁定15分钟，防止猜测密码"), N_("本系统设计")),
    Rule("access.csrf", RuleKind.REFUSAL,
         N_("表单已过期或来源不明，请重新打开页面提交"), N_("本系统设计")),
    Rule("suggestion.rate_limit", RuleKind.REFUSAL,
         N_("同一来源提交建议的次数有限，防止滥用"), N_("本系统设计")),
    Rule("roster.representative_share", RuleKind.WARNING,
         N_("村民代表应当占村民代表会议组成人员的五分之四以上"), ART25),
    Rule("roster.women_share", RuleKind.WARNING,
         N_("妇女村民代表应当占村民代表会议组成人员的三分之一以上"), ART25),
    Rule("roster.households_per_representative", RuleKind.WARNING,
         N_("村民代表按每五户至十五户推选一人"), ART25),
    Rule("roster.supervisor_accounting", RuleKind.WARNING,
         N_("村务监督委员会成员中应有具备财会、管理知识的人员"), ART32),
    Rule("roster.supervisor_kin_bar", RuleKind.REFUSAL,
         N_("村民委员会成员及其近亲属不得担任村务监督机构成员"), ART32),
    Rule("settings.meeting_notice_days", RuleKind.SETTING,
         N_("村民代表会议提前通知天数"), N_("地方规定一般为3至7天")),
    Rule("settings.public_notice_days", RuleKind.SETTING,
         N_("票决结果公示期天数"), N_("地方实践一般为3至15天")),
    Rule("settings.objection_reply_days", RuleKind.SETTING,
         N_("异议答复期限（天）"), N_("本系统默认值")),
    Rule("settings.quorum", RuleKind.SETTING,
         N_("村民代表会议须有三分之二以上组成人员参加方可举行"), ART26),
    Rule("settings.pass_rule", RuleKind.SETTING,
         N_("所作决定应当经到会人员的过半数同意"), ART26),
    Rule("settings.recusal_counts_present", RuleKind.SETTING,
         N_("回避人员是否计入到会人数"), N_("本系统默认从严：计入")),
    Rule("settings.merge_propose_discuss", RuleKind.SETTING,
         N_("“一肩挑”时提议与商议可合并办理"), N_("乡镇自定，默认关闭")),
    Rule("settings.post_draft_after_discuss", RuleKind.SETTING,
         N_("商议后公示方案草案"), N_("宁海等地做法，乡镇自定")),
    Rule("settings.step_limit_days", RuleKind.SETTING,
         N_("事项在单个步骤停留的预警天数"), N_("本系统默认值")),
    Rule("roster.vacant_role", RuleKind.WARNING,
         N_("村党支部书记、村委会主任、村务监督委员会主任和村务工作者应有人担任"), LAW),
    Rule("roster.term_expired", RuleKind.WARNING,
         N_("任期届满应当及时换届或重新任命"), LAW),
    Rule("roster.term_ending", RuleKind.WARNING,
         N_("任期即将届满（30天内），应准备换届"), N_("本系统设计")),
    Rule("admin.register_keeper", RuleKind.REFUSAL,
         N_("村花名册由村务工作者、村委会主任或乡镇管理员维护"), N_("本系统设计")),
    Rule("admin.township_admin", RuleKind.REFUSAL,
         N_("村的设立、乡镇设置和账号停用由乡镇管理员办理"), N_("本系统设计")),
    Rule("admin.district_admin", RuleKind.REFUSAL,
         N_("乡镇及其管理员由区级管理员设立"), N_("本系统设计")),
    Rule("admin.term_end", RuleKind.REFUSAL,
         N_("任期只能提前结束，不能延长，也不能追溯到昨天以前"), N_("本系统设计")),
    Rule("assembly.notice", RuleKind.REFUSAL,
         N_("村民代表会议须按乡镇设置的天数提前通知组成人员"), N_("地方规定一般为3至7天")),
    Rule("assembly.request", RuleKind.WARNING,
         N_("有五分之一以上村民代表提议，应当召集村民代表会议"), ART26),
    Rule("assembly.quorum", RuleKind.REFUSAL,
         N_("村民代表会议有三分之二以上组成人员参加方可举行；每项表决开始时重新核对"), ART26),
    Rule("assembly.poll_closed", RuleKind.REFUSAL,
         N_("只能在表决开始后、结束前投票"), N_("本系统设计")),
    Rule("assembly.not_member", RuleKind.REFUSAL,
         N_("只有会议开始时名册上的组成人员可以表决，不得委托"), ART26),
    Rule("assembly.not_present", RuleKind.REFUSAL,
         N_("组成人员签到（到会）后才能表决"), ART26),
    Rule("assembly.late", RuleKind.REFUSAL,
         N_("表决开始后才签到的组成人员不参加该项表决（计票以表决开始时的到会人数为准）"),
         ART26),
    Rule("assembly.recused", RuleKind.REFUSAL,
         N_("申请回避的人员不得对该事项表决"), N_("本系统设计（回避制度）")),
    Rule("assembly.recusal_after_vote", RuleKind.REFUSAL,
         N_("回避须在表决前申请"), N_("本系统设计（回避制度）")),
    Rule("assembly.one_ballot", RuleKind.REFUSAL,
         N_("每位组成人员对每个事项只能投一票，无论通过何种方式"), ART26),
    Rule("assembly.choice", RuleKind.REFUSAL,
         N_("表决意见只能是同意、反对或弃权"), ART26),
    Rule("assembly.tally", RuleKind.REFUSAL,
         N_("计票结果须与投票一致，票数不得多于到会人数"), ART26),
    Rule("assembly.agenda", RuleKind.REFUSAL,
         N_("只有已审议备案（待票决）的本村事项可以列入议程并表决"), LOCAL),
    Rule("assembly.meeting_state", RuleKind.REFUSAL,
         N_("会议依次召集、开始、结束；开始后名册冻结"), N_("本系统设计")),
    Rule("assembly.attendance", RuleKind.REFUSAL,
         N_("每位组成人员每次会议只签到一次，更换方式须记录"), N_("本系统设计")),
    Rule("assembly.poll_state", RuleKind.REFUSAL,
         N_("同一时间只进行一项表决；每个事项每次会议只表决一次"), N_("本系统设计")),
    Rule("assembly.paper_confirm", RuleKind.REFUSAL,
         N_("纸质票由村务工作者录入，须由另一名村务监督委员会成员确认"), N_("本系统设计")),
    Rule("assembly.paper_unconfirmed", RuleKind.REFUSAL,
         N_("纸质票确认前不得计票"), N_("本系统设计")),
    Rule("cloud.enrolment", RuleKind.REFUSAL,
         N_("手机登记二维码只能使用一次，有效期10分钟，只能登记二维码所指的组成人员"),
         N_("本系统设计（云票决）")),
    Rule("cloud.device", RuleKind.REFUSAL,
         N_("云票决只能在本人登记且未撤销的手机上进行"), N_("本系统设计（云票决）")),
    Rule("cloud.pin", RuleKind.REFUSAL,
         N_("PIN码为6位数字；连续输错5次手机锁定，由村务工作者解锁"), N_("本系统设计（云票决）")),
    Rule("cloud.invitation", RuleKind.REFUSAL,
         N_("云端参会邀请只对指定的组成人员和会议有效，只能在会议进行中使用一次"),
         N_("本系统设计（云票决）")),
    Rule("cloud.presence", RuleKind.REFUSAL,
         N_("云端签到须输入会场大屏上当前显示的到会码（每分钟更换）"), N_("本系统设计（云票决）")),
    Rule("cloud.signature", RuleKind.REFUSAL,
         N_("云端签到和选票须由本人手机上的密钥签名，服务器验证签名后才记入账本"),
         N_("本系统设计（云票决）")),
    Rule("cloud.rate_limit", RuleKind.REFUSAL,
         N_("同一网络地址10分钟内被拒绝20次后暂停尝试"), N_("本系统设计（云票决）")),
    Rule("notice.period", RuleKind.REFUSAL,
         N_("票决通过的事项须公示，公示期（乡镇设置，默认5天）满后方可实施"),
         N_("《村民委员会组织法》第三十条；公示天数为地方规定")),
    Rule("notice.objection_window", RuleKind.REFUSAL,
         N_("村民在公示期内可以对票决结果提出异议"), N_("《村民委员会组织法》第三十一条")),
    Rule("notice.objection_open", RuleKind.REFUSAL,
         N_("异议未答复或成立的异议未重新票决前，事项不得实施"),
         N_("《村民委员会组织法》第三十一条")),
    Rule("notice.objector", RuleKind.REFUSAL,
         N_("提出异议须填写本村户号和本户成员姓名，同一来源每小时最多3条"), N_("本系统设计")),
    Rule("objection.reply", RuleKind.REFUSAL,
         N_("异议由村务监督委员会在期限内（乡镇设置，默认7天）书面答复；答复后不再更改"),
         ART32),
    Rule("implementation.progress", RuleKind.REFUSAL,
         N_("实施进度为0到100的整数，支出金额不得为负"), N_("本系统设计")),
    Rule("implementation.confirm", RuleKind.REFUSAL,
         N_("实施进度由村委会记录，由村务监督委员会成员确认，记录人不能自己确认"), ART32),
    Rule("implementation.unconfirmed", RuleKind.REFUSAL,
         N_("全部实施进度经监督委员会确认且完成度达到百分之百后方可验收"), ART32),
    Rule("rating.completed_only", RuleKind.REFUSAL,
         N_("事项验收完成后，村民方可评价满意度"), N_("本系统设计")),
    Rule("rating.household", RuleKind.REFUSAL,
         N_("满意度评价每户一次，须填写本村户号和本户成员姓名"), N_("本系统设计")),
    Rule("rating.score", RuleKind.REFUSAL, N_("满意度为1到5分"), N_("本系统设计")),
    Rule("ledger.rollback", RuleKind.REFUSAL,
         N_("账本只能增加记录：见证方确认过的记录不得消失（防止回滚和分叉）"), N_("本系统设计")),
    Rule("ledger.witness_refused", RuleKind.REFUSAL,
         N_("乡镇见证方只为与其已确认内容一致的检查点签名"), N_("C2SP tlog-witness")),
    Rule("settings.law_bound", RuleKind.REFUSAL,
         N_("乡镇设置可以严于法律，但不得宽于法律"), LAW),
    Rule("import.file", RuleKind.REFUSAL,
         N_("导入文件须为模板格式的CSV（UTF-8或GBK编码）或XLSX文件"), N_("本系统设计")),
    Rule("import.row", RuleKind.REFUSAL,
         N_("导入的每一行须填写必填列，内容格式正确，不含公式"), N_("本系统设计")),
    Rule("person.id_number", RuleKind.REFUSAL,
         N_("身份证号须为18位，出生日期有效，校验位正确"),
         N_("《公民身份号码》国家标准（GB 11643-1999）")),
    Rule("import.identity", RuleKind.REFUSAL,
         N_("一人只登记一次：有身份证号的按身份证号识别，没有的按户号和姓名识别"),
         N_("本系统设计")),
    Rule("import.household", RuleKind.REFUSAL,
         N_("新户须在文件中有一行且只有一行户主"), N_("本系统设计")),
    Rule("import.rep_term", RuleKind.REFUSAL,
         N_("导入只能新增代表任期，不得与已登记的任期重叠；修改已登记的任期在名册中办理"),
         N_("本系统设计")),
)

RULES_BY_CODE: dict[str, Rule] = {rule.code: rule for rule in RULES}
