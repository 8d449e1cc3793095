"""A book of business for the demo organisation, through the public REST API under each person's
own token (the same rules as any client): customers with contacts and coordinates, opportunities
at every stage of the default model (advanced gate by gate with their facts), three months of
follow-ups, today's check-ins and daily reports, tasks, expense claims and announcements
(seed_extras), contracts (approved by the real approval
chain, signed, with payment plans whose early instalments are overdue and receipts), and targets.
Requests run on a few threads; the whole book takes well under a minute on the embedded platform."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from salesgrid_dev.api import WIN_FACTS, gate_facts
from salesgrid_dev.seed_contracts import Person, auth as _auth, contract, retry as _retry, targets
from salesgrid_dev.seed_extras import announcement, expense_claim

WORKERS = 6
CN_CITIES = ["上海", "苏州", "杭州", "宁波", "无锡", "南京", "嘉兴", "常州", "合肥", "南通"]
CN_WORDS = [
    "恒通",
    "华泰",
    "金桥",
    "东方",
    "宏达",
    "新世纪",
    "远航",
    "精工",
    "瑞丰",
    "天成",
    "博远",
    "中科",
    "鼎盛",
    "信达",
    "海纳",
    "锦程",
    "安泰",
    "联创",
    "长江",
    "明德",
]
CN_TRADES = [
    ("机械", "manufacturing"),
    ("电子", "electronics"),
    ("医疗器械", "medical"),
    ("化工", "chemicals"),
    ("物流", "logistics"),
    ("建设", "construction"),
    ("能源", "energy"),
    ("食品", "food"),
]
DE_NAMES = [
    "Spree",
    "Havel",
    "Müggel",
    "Tegel",
    "Wannsee",
    "Köpenick",
    "Pankow",
    "Lichtenberg",
    "Moabit",
    "Kreuzberg",
    "Adlershof",
    "Buch",
    "Dahlem",
    "Gatow",
    "Zehlendorf",
]
DE_TRADES = [
    ("Maschinenbau", "manufacturing"),
    ("Elektronik", "electronics"),
    ("Medizintechnik", "medical"),
    ("Logistik", "logistics"),
    ("Energie", "energy"),
]
SURNAMES = ["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴"]
GIVEN = ["伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "艳", "杰"]
# How far each opportunity goes, in turn: every stage of the default model, lost and won included,
# is reached by the first eight, then more of the early stages than of the late ones.
PATHS = [
    "opportunity",
    "approval",
    "won",
    "formal_communication",
    "bidding",
    "lost",
    "result",
    "approval",
    "opportunity",
    "won",
    "formal_communication",
    "approval",
    "bidding",
    "opportunity",
    "won",
    "lost",
    "formal_communication",
    "result",
    "approval",
    "opportunity",
]
KINDS = ["call", "call", "visit", "meeting", "email"]
HOME = {"CNY": (31.2304, 121.4737), "EUR": (52.5200, 13.4050)}


@dataclass
class Book:
    customers: int = 0
    contacts: int = 0
    opportunities: dict[str, int] = field(default_factory=dict)
    follow_ups: int = 0
    check_ins: int = 0
    reports: int = 0
    contracts: int = 0
    receipts: int = 0
    targets: int = 0
    tasks: int = 0
    expense_claims: int = 0
    announcements: int = 0


def seed_book(base_url: str, passwords: dict[str, str], *, per_rep: int = 50, seed: int = 2026) -> Book:
    """Seed through the API as `passwords`' people (login → password; reps, their supervisors,
    managers and heads, and `admin`)."""
    rng = random.Random(seed)
    book = Book()
    with httpx.Client(base_url=base_url, timeout=30, limits=httpx.Limits(max_connections=WORKERS * 2)) as client:
        people = _log_in(client, passwords)
        admin = people.pop("admin")
        units = {u["id"]: u for u in client.get("/v1/org-units", headers=_auth(admin)).json()["items"]}
        for person in people.values():
            unit = units.get(person.unit_id, {})
            person.currency = unit.get("currency") or "CNY"
            person.branch_code = "BER" if person.currency == "EUR" else "SH"
        reps = [p for login, p in people.items() if login.startswith("rep")]
        by_id = {p.id: p for p in people.values()}
        products = _products(client, admin)
        with ThreadPoolExecutor(WORKERS) as pool:
            names = _names(rng, reps, per_rep)
            for person, made in zip(reps, pool.map(lambda r: _customers(client, r, names[r.login], rng), reps)):
                person.customers = made
            book.customers = sum(len(r.customers) for r in reps)
            longest = max((len(r.customers) for r in reps), default=0)
            work = [(r, r.customers[i]) for i in range(longest) for r in reps if i < len(r.customers)]  # reps in turn
            book.contacts = sum(pool.map(lambda rc: _contact(client, rc[0], rc[1], rng), work))
            chosen = [rc for n, rc in enumerate(work) if n % 2 == 0]  # about half the customers have a deal
            plans = [(r, c, PATHS[n % len(PATHS)], rng.randrange(10, 120) * 10_000) for n, (r, c) in enumerate(chosen)]
            for stage in pool.map(lambda plan: _opportunity(client, *plan, rng=random.Random(plan[3])), plans):
                book.opportunities[stage] = book.opportunities.get(stage, 0) + 1
            book.follow_ups = sum(
                pool.map(lambda rc: _follow_ups(client, rc[0], rc[1], random.Random(rc[1]["id"])), work)
            )
            book.check_ins = sum(
                pool.map(lambda r: _check_ins(client, r, rng.sample(r.customers, min(3, len(r.customers)))), reps)
            )
            book.reports = sum(pool.map(lambda r: _report(client, r), reps[: max(1, len(reps) * 2 // 3)]))
            book.tasks = sum(_task(client, by_id.get(r.manager_id), r) for r in reps)
            book.expense_claims = sum(
                pool.map(
                    lambda n_r: expense_claim(client, n_r[1], by_id.get(n_r[1].manager_id), n_r[0] % 2 == 0),
                    enumerate(reps),
                )
            )
            book.announcements = sum(
                announcement(client, p) for login, p in people.items() if login.startswith("manager")
            )
            contracts = [(r, c, n) for r in reps for n, c in enumerate(r.won)]
            done = list(pool.map(lambda rcn: contract(client, rcn[0], rcn[1], rcn[2], products, by_id), contracts))
            book.contracts = sum(1 for d in done if d >= 0)
            book.receipts = sum(max(0, d) for d in done)
        book.targets = targets(client, people, units, reps)
    return book


def _log_in(client: httpx.Client, passwords: dict[str, str]) -> dict[str, Person]:
    def one(item: tuple[str, str]) -> Person:
        login, password = item
        reply = client.post("/v1/auth/login", json={"login": login, "password": password})
        reply.raise_for_status()
        person = Person(login, reply.json()["access_token"])
        me = client.get("/v1/me", headers=_auth(person)).json()
        person.id, person.unit_id, person.manager_id = me["id"], me["unit_id"], me.get("manager_id", "")
        return person

    with ThreadPoolExecutor(WORKERS) as pool:
        return {p.login: p for p in pool.map(one, passwords.items())}


def _products(client: httpx.Client, admin: Person) -> list[dict[str, Any]]:
    made = []
    for sku, name, cny, eur in (
        ("SG-PRS-01", "Servo press 伺服压力机", "48000.00", "6200.00"),
        ("SG-CNC-02", "CNC retrofit 数控改造", "36000.00", "4600.00"),
        ("SG-SVC-03", "Service plan 维保服务", "12000.00", "1500.00"),
    ):
        reply = client.post(
            "/v1/products",
            headers=_auth(admin),
            json={
                "sku": sku,
                "name": name,
                "prices": [{"amount": cny, "currency": "CNY"}, {"amount": eur, "currency": "EUR"}],
            },
        )
        if reply.status_code == 201:
            made.append(reply.json())
    if not made:
        made = client.get("/v1/products", headers=_auth(admin)).json()["items"]
    return made


def _names(rng: random.Random, reps: list[Person], per_rep: int) -> dict[str, list[tuple[str, str]]]:
    cn = [
        (f"{city}{word}{trade}有限公司", industry)
        for city in CN_CITIES
        for word in CN_WORDS
        for trade, industry in CN_TRADES[:1]
    ]
    # one city per name in brackets: the duplicate check ignores a bracketed region, so two would clash
    cn += [
        (f"{word}{trade}（{CN_CITIES[(w + k) % 3]}）有限公司", industry)
        for w, word in enumerate(CN_WORDS)
        for k, (trade, industry) in enumerate(CN_TRADES[1:])
    ]
    de = [(f"{place} {trade} GmbH", industry) for place in DE_NAMES for trade, industry in DE_TRADES]
    rng.shuffle(cn)
    rng.shuffle(de)
    out: dict[str, list[tuple[str, str]]] = {}
    for rep in reps:
        source = de if rep.currency == "EUR" else cn
        out[rep.login], source[:] = source[:per_rep], source[per_rep:]
    return out


def _customers(
    client: httpx.Client, rep: Person, names: list[tuple[str, str]], rng: random.Random
) -> list[dict[str, Any]]:
    made = []
    lat, lon = HOME[rep.currency]
    for name, industry in names:
        body = {
            "legal_name": name,
            "industry": industry,
            "tier": rng.choice(["potential", "potential", "normal", "key"]),
            "address": {
                "text": name[:2] if rep.currency == "CNY" else "Berlin",
                "latitude": round(lat + rng.uniform(-0.15, 0.15), 5),
                "longitude": round(lon + rng.uniform(-0.15, 0.15), 5),
            },
        }
        reply = _retry(lambda: client.post("/v1/customers", headers=_auth(rep), json=body))
        if reply.status_code == 201:
            made.append(reply.json())
    return made


def _contact(client: httpx.Client, rep: Person, customer: dict[str, Any], rng: random.Random) -> int:
    name = (
        f"{rng.choice(SURNAMES)}{rng.choice(GIVEN)}"
        if rep.currency == "CNY"
        else rng.choice(["Anna Schulz", "Jonas Weber", "Lena Fischer"])
    )
    reply = client.post(
        f"/v1/customers/{customer['id']}/contacts",
        headers=_auth(rep),
        json={
            "full_name": name,
            "title": rng.choice(["采购经理", "总工程师", "总经理", "Einkauf", "Technik"]),
            "phones": [
                f"+86 139{rng.randrange(10**7, 10**8)}"
                if rep.currency == "CNY"
                else f"+49 30 {rng.randrange(10**6, 10**7)}"
            ],
            "primary": True,
        },
    )
    return int(reply.status_code == 201)


def _opportunity(
    client: httpx.Client, rep: Person, customer: dict[str, Any], goal: str, amount: int, rng: random.Random
) -> str:
    today = datetime.now(UTC).date()
    close = today + timedelta(days=rng.randrange(-20, 240))
    reply = _retry(
        lambda: client.post(
            "/v1/opportunities",
            headers=_auth(rep),
            json={
                "customer_id": customer["id"],
                "name": f"{customer['legal_name'][:8]} {rng.choice(['产线', '改造', '扩建', 'Line', 'Retrofit'])}",
                "amount": {"amount": str(amount), "currency": rep.currency},
                "expected_close_date": close.isoformat(),
            },
        )
    )
    if reply.status_code != 201:
        return "failed"
    opportunity = reply.json()
    if goal == "opportunity":
        return goal
    if goal == "lost":
        client.post(f"/v1/opportunities/{opportunity['id']}/lost", headers=_auth(rep), json={"reason": "price"})
        return goal
    money = str(amount)
    for stage, facts in gate_facts(budget=str(amount * 2), expected=money, winning=money):
        facts = [_in_currency(f, rep.currency) for f in facts]
        moved = client.post(f"/v1/opportunities/{opportunity['id']}/advance", headers=_auth(rep), json={"facts": facts})
        if moved.status_code != 200:
            return "failed"
        if stage == goal:
            return goal
    won = client.post(f"/v1/opportunities/{opportunity['id']}/won", headers=_auth(rep), json={"facts": WIN_FACTS})
    if won.status_code == 200:
        rep.won.append(customer)
        return "won"
    return "failed"


def _in_currency(fact: dict[str, Any], currency: str) -> dict[str, Any]:
    if "amount" in fact:
        return {**fact, "amount": {**fact["amount"], "currency": currency}}
    return fact


def _follow_ups(client: httpx.Client, rep: Person, customer: dict[str, Any], rng: random.Random) -> int:
    count = 0
    now = datetime.now(UTC)
    for n in range(rng.choice([1, 2, 2, 3])):
        at = now - timedelta(days=rng.randrange(0, 90), hours=rng.randrange(0, 8))
        body = {
            "kind": rng.choice(KINDS),
            "occurred_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "notes": rng.choice(
                [
                    "介绍新产品线，客户有兴趣",
                    "确认预算与时间表",
                    "技术交流，需要方案",
                    "Angebot besprochen",
                    "拜访采购部门",
                    "报价已发送，等待反馈",
                ]
            ),
            "customer_id": customer["id"],
        }
        if n == 0 and rng.random() < 0.3:
            body["next_follow_up_on"] = (now.date() + timedelta(days=rng.randrange(-3, 2))).isoformat()
        count += int(_retry(lambda: client.post("/v1/follow-ups", headers=_auth(rep), json=body)).status_code == 201)
    return count


def _check_ins(client: httpx.Client, rep: Person, customers: list[dict[str, Any]]) -> int:
    count = 0
    for n, customer in enumerate(customers):
        address = customer.get("address") or {}
        far = 0.03 if n == len(customers) - 1 else 0.0  # the last one ~3 km away: flagged
        reading = {
            "latitude": address.get("latitude", 0) + far,
            "longitude": address.get("longitude", 0),
            "accuracy_m": 15,
            "device_time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        reply = _retry(
            lambda: client.post(
                "/v1/check-ins", headers=_auth(rep), json={"customer_id": customer["id"], "reading": reading}
            )
        )
        count += int(reply.status_code == 201)
        if reply.status_code == 201 and n > 0:  # the first visit is still going on
            client.post(f"/v1/check-ins/{reply.json()['id']}/check-out", headers=_auth(rep), json={"reading": reading})
    return count


def _report(client: httpx.Client, rep: Person) -> int:
    reply = client.post(
        "/v1/daily-reports",
        headers=_auth(rep),
        json={
            "summary": "拜访客户 3 家，推进两个商机 / visited three customers",
            "tomorrow_plan": "准备投标文件",
            "problems": "",
        },
    )
    return int(reply.status_code == 201)


def _task(client: httpx.Client, boss: Person | None, rep: Person) -> int:
    if boss is None:
        return 0
    due = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    reply = _retry(
        lambda: client.post(
            "/v1/tasks",
            headers=_auth(boss),
            json={"assignee_id": rep.id, "title": "整理重点客户拜访计划 / key-account visit plan", "due_at": due},
        )
    )
    return int(reply.status_code == 201)
