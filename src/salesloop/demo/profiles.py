"""The shape of the demo company: org plan, rep profiles, product catalogue, name pools.

Sizes follow DESIGN.md's scale S1 (scale 1.0): 200 members, 50 k customers, 500 k
opportunities, 1 M orders, 1 M payments, 5 M activities over 3 years. Scale ``s`` multiplies
every volume, with floors that keep every planted profile in the org.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from faker import Faker

COMPANY_NAME = "华信科技有限公司"
DEMO_PASSWORD = "salesloop-demo"
REGIONS = ("华东", "华南", "华北", "西南", "华中", "西北", "东北")
TEAM_ORDINALS = "一二三四五六七八九十"

S1 = {
    "members": 200,
    "customers": 50_000,
    "opportunities": 500_000,
    "orders": 1_000_000,
    "activities": 5_000_000,
    "leads": 20_000,
}
FLOORS = {
    "customers": 300,
    "opportunities": 2_500,
    "orders": 3_000,
    "activities": 10_000,
    "leads": 60,
}
MIN_REPS = 12
TEAM_SIZE = 8

# Profiles (the planted ones are placed in the demo manager's team).
STAR = "star"
STEADY = "steady"
WEAK_CONVERSION = "weak_conversion"
LOW_ACTIVITY = "low_activity"
NEW_HIRE = "new_hire"
NORMAL = "normal"

# Base stage-to-stage conversion: Prospecting→Qualification→Proposal→Negotiation→Won.
BASE_CONVERSION = np.array([0.74, 0.72, 0.68, 0.72])
RAMP_DAYS = 180


@dataclass
class Person:
    username: str
    display_name: str
    role: str
    title: str
    unit_key: str  # "company", "region:<i>", "team:<i>"
    hired_days_ago: int
    profile: str = ""
    team: int = -1
    region: int = -1


@dataclass
class OrgPlan:
    regions: list[str]
    teams: list[tuple[int, str]]  # (region index, team name)
    people: list[Person] = field(default_factory=list)

    @property
    def reps(self) -> list[Person]:
        return [p for p in self.people if p.role == "rep"]


@dataclass
class RepParams:
    """Per-rep generation parameters, aligned with ``OrgPlan.reps``."""

    profile: np.ndarray  # str
    team: np.ndarray
    region: np.ndarray
    hire_day: np.ndarray  # day index on the axis (negative: before history)
    opp_rate: np.ndarray
    conversion: np.ndarray  # (n_reps, 4)
    deal_size: np.ndarray
    activity_rate: np.ndarray


def volumes(scale: float) -> dict[str, int]:
    out = {key: int(round(value * scale)) for key, value in S1.items()}
    for key, floor in FLOORS.items():
        out[key] = max(out[key], floor)
    return out


def plan_org(scale: float, rng: np.random.Generator, names: list[str]) -> OrgPlan:
    members = int(round(S1["members"] * scale))
    n_regions = max(2, min(len(REGIONS), round(members / 40)))
    slots = members - 3 - n_regions  # director, admin, viewer, regional managers
    n_teams = max(n_regions, round(slots / (TEAM_SIZE + 1)))
    n_reps = slots - n_teams
    if n_reps < MIN_REPS:
        n_regions, n_teams, n_reps = 2, 2, MIN_REPS
    regions = list(REGIONS[:n_regions])
    teams: list[tuple[int, str]] = []
    per_region = [0] * n_regions
    for t in range(n_teams):
        r = t % n_regions
        teams.append((r, f"{regions[r]}销售{TEAM_ORDINALS[per_region[r] % 10]}组"))
        per_region[r] += 1
    plan = OrgPlan(regions=regions, teams=teams)
    name_iter = iter(names)

    def tenure() -> int:
        return int(rng.integers(1200, 3600))

    plan.people.append(
        Person("director", next(name_iter), "director", "销售总监", "company", tenure())
    )
    plan.people.append(Person("admin", next(name_iter), "admin", "系统管理员", "company", tenure()))
    plan.people.append(Person("viewer", next(name_iter), "viewer", "财务分析", "company", tenure()))
    for r in range(n_regions):
        plan.people.append(
            Person(
                f"rgm{r + 1:02d}",
                next(name_iter),
                "manager",
                "大区经理",
                f"region:{r}",
                tenure(),
                region=r,
            )
        )
    for t, (r, _name) in enumerate(teams):
        username = "manager" if t == 0 else f"mgr{t + 1:02d}"
        plan.people.append(
            Person(
                username,
                next(name_iter),
                "manager",
                "销售经理",
                f"team:{t}",
                tenure(),
                team=t,
                region=r,
            )
        )
    # Reps: team 0 (the demo manager's) gets the planted profiles; sizes as even as possible.
    team_of = [i % n_teams for i in range(n_reps)]
    team_of.sort()
    n_new = max(2, round(0.05 * n_reps))
    planted = [STAR, STEADY, WEAK_CONVERSION, LOW_ACTIVITY, NEW_HIRE]
    profiles: list[str] = []
    other_new = n_new - 1
    for i, t in enumerate(team_of):
        first_of_team = i == team_of.index(t)
        if t == 0:
            k = i - team_of.index(0)
            profiles.append(planted[k] if k < len(planted) else NORMAL)
        elif other_new > 0 and first_of_team:
            profiles.append(NEW_HIRE)
            other_new -= 1
        else:
            profiles.append(NORMAL)
    number = 0
    for t, profile in zip(team_of, profiles, strict=True):
        if t == 0 and profile == STEADY:
            username = "rep"
        else:
            number += 1
            username = f"rep{number:03d}"
        if profile == NEW_HIRE:
            hired, title = int(rng.integers(180, 271)), "销售代表"
        else:
            hired, title = int(rng.integers(1100, 3000)), "高级销售代表"
        plan.people.append(
            Person(
                username,
                next(name_iter),
                "rep",
                title,
                f"team:{t}",
                hired,
                profile=profile,
                team=t,
                region=teams[t][0],
            )
        )
    return plan


def rep_params(plan: OrgPlan, rng: np.random.Generator, n_history_days: int) -> RepParams:
    reps = plan.reps
    n = len(reps)
    profile = np.array([p.profile for p in reps])
    opp_rate = np.clip(rng.lognormal(0, 0.2, n), 0.7, 1.25)
    conversion = BASE_CONVERSION * np.clip(rng.normal(1, 0.06, (n, 4)), 0.86, 1.1)
    deal_size = np.clip(rng.lognormal(0, 0.15, n), 0.78, 1.2)
    activity_rate = np.clip(rng.lognormal(0, 0.18, n), 0.72, 1.3)
    for i, p in enumerate(profile):
        if p in (STEADY, NEW_HIRE, WEAK_CONVERSION, LOW_ACTIVITY):
            opp_rate[i], conversion[i], deal_size[i], activity_rate[i] = 1, BASE_CONVERSION, 1, 1
        if p == STAR:
            opp_rate[i], deal_size[i], activity_rate[i] = 1.5, 1.45, 1.3
            conversion[i] = np.minimum(BASE_CONVERSION * 1.15, 0.92)
        elif p == WEAK_CONVERSION:
            conversion[i, 2] = 0.24
        elif p == LOW_ACTIVITY:
            opp_rate[i], activity_rate[i] = 0.85, 0.22
    hire_day = np.array([n_history_days - p.hired_days_ago for p in reps], dtype=np.int64)
    return RepParams(
        profile=profile,
        team=np.array([p.team for p in reps], dtype=np.int64),
        region=np.array([p.region for p in reps], dtype=np.int64),
        hire_day=hire_day,
        opp_rate=opp_rate,
        conversion=conversion,
        deal_size=deal_size,
        activity_rate=activity_rate,
    )


# Product lines: (name, code, price level of a typical deal in yuan, products (name, list price)).
CATALOGUE: tuple[tuple[str, str, int, tuple[tuple[str, int], ...]], ...] = (
    (
        "工业软件",
        "ISW",
        180_000,
        (
            ("MES 制造执行系统", 380_000),
            ("WMS 仓储管理系统", 160_000),
            ("APS 高级排产", 220_000),
            ("质量管理 QMS", 120_000),
            ("软件年度维保", 45_000),
        ),
    ),
    (
        "智能硬件",
        "HW",
        90_000,
        (
            ("工业网关", 6_800),
            ("边缘计算盒", 15_800),
            ("智能传感器套件", 2_600),
            ("工控一体机", 9_800),
            ("RFID 读写器", 3_200),
        ),
    ),
    (
        "运维服务",
        "OPS",
        60_000,
        (
            ("驻场运维（人月）", 28_000),
            ("远程运维年包", 36_000),
            ("系统巡检", 8_000),
            ("应急响应服务", 15_000),
        ),
    ),
    (
        "培训咨询",
        "EDU",
        40_000,
        (
            ("数字化转型咨询", 120_000),
            ("精益生产培训", 18_000),
            ("认证培训课程", 6_500),
            ("管理层工作坊", 30_000),
        ),
    ),
    (
        "云服务",
        "CLOUD",
        50_000,
        (
            ("云主机年包", 24_000),
            ("对象存储年包", 9_600),
            ("SaaS 订阅（年）", 36_000),
            ("数据备份服务", 12_000),
            ("安全防护套餐", 18_000),
        ),
    ),
)
# Preferred product line by industry (index into CATALOGUE), the rest spread evenly.
INDUSTRY_LINE = {
    "manufacturing": 0,
    "retail": 4,
    "it": 4,
    "healthcare": 1,
    "education": 3,
    "finance": 4,
    "logistics": 1,
    "construction": 2,
    "energy": 2,
    "other": 3,
}
INDUSTRY_WEIGHTS = {
    "manufacturing": 0.30,
    "retail": 0.10,
    "it": 0.12,
    "healthcare": 0.07,
    "education": 0.06,
    "finance": 0.06,
    "logistics": 0.09,
    "construction": 0.07,
    "energy": 0.06,
    "other": 0.07,
}
INDUSTRY_WORDS = {
    "manufacturing": ("精密机械", "汽车零部件", "电子制造", "新材料", "装备制造", "模具"),
    "retail": ("商贸", "连锁超市", "百货", "电子商务"),
    "it": ("软件", "信息技术", "网络科技", "数据科技"),
    "healthcare": ("医疗器械", "生物医药", "健康管理"),
    "education": ("教育科技", "职业培训", "文化传播"),
    "finance": ("融资租赁", "投资管理", "保险代理"),
    "logistics": ("物流", "供应链管理", "仓储运输"),
    "construction": ("建设工程", "建材", "装饰工程"),
    "energy": ("新能源", "电力设备", "环保科技"),
    "other": ("实业", "企业管理", "贸易"),
}
CORPORATE_SUFFIXES = ("有限公司", "股份有限公司", "集团有限公司")
CONTACT_TITLES = ("总经理", "采购经理", "IT 经理", "生产总监", "财务经理", "技术负责人", "行政主管")
SOURCES = ("referral", "website", "exhibition", "cold_call", "partner", "advertising")
SOURCE_WEIGHTS = np.array([0.25, 0.22, 0.15, 0.18, 0.12, 0.08])
LOST_REASONS = ("price", "competitor", "no_budget", "no_decision", "timing", "other")
LOST_WEIGHTS = np.array([0.3, 0.25, 0.15, 0.12, 0.12, 0.06])
ACTIVITY_KINDS = ("call", "visit", "email", "meeting", "other")
ACTIVITY_KIND_WEIGHTS = np.array([0.40, 0.22, 0.18, 0.13, 0.07])
ACTIVITY_MINUTES = {
    "call": (5, 25),
    "visit": (45, 150),
    "email": (0, 10),
    "meeting": (30, 120),
    "other": (10, 40),
}
OUTCOMES = ("positive", "neutral", "negative", "no_answer")
OUTCOME_WEIGHTS = np.array([0.32, 0.45, 0.10, 0.13])
SUBJECTS = {
    "call": ("电话跟进需求", "电话确认报价反馈", "电话约访", "电话回访使用情况", "催办合同流程"),
    "visit": ("上门拜访，了解需求", "现场演示产品", "拜访决策人", "现场调研", "陪同技术交流"),
    "email": ("发送方案资料", "发送报价单", "邮件确认合同条款", "发送案例介绍"),
    "meeting": ("方案评审会", "商务谈判会议", "高层会面", "项目启动会", "季度业务回顾"),
    "other": ("微信沟通", "参加客户活动", "整理客户资料", "内部协调会"),
}
PAYMENT_METHODS = ("bank", "bill", "cash", "other")
PAYMENT_METHOD_WEIGHTS = np.array([0.8, 0.15, 0.02, 0.03])


@dataclass
class NamePools:
    people: list[str]
    cities: list[str]
    prefixes: list[str]
    emails: list[str]
    streets: list[str]


def name_pools(seed: int, n_people: int = 4000) -> NamePools:
    """Pools of zh-CN names drawn once per run from a seeded Faker (Faker is slow per call)."""
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    people = list(dict.fromkeys(fake.name() for _ in range(n_people)))
    cities = sorted({fake.city_name() for _ in range(600)})
    prefixes = sorted({fake.company_prefix() for _ in range(600)})
    emails = list(dict.fromkeys(fake.free_email() for _ in range(3000)))
    streets = list(dict.fromkeys(fake.street_address() for _ in range(2000)))
    return NamePools(people, cities, prefixes, emails, streets)
